"""kind: page — a web page listing articles (robots.txt applies).

A page that is a feed is read as one; a page that advertises a feed switches the source to
that feed (remembered in the state, read as a feed until it fails); otherwise the page's
article links (or those `selector` picks) are the entries.

State: {"etag", "last_modified"} of the page, or {"feed_url", "etag", "last_modified"} of
the feed it advertised.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from veille.errors import SourceError
from veille.parse import looks_like_feed, parse_feed, parse_listing
from veille.sources.readers.base import (
    PAGE_ACCEPT,
    ReadContext,
    SourceRead,
    State,
    Target,
    conditional_get,
    validators,
)
from veille.sources.readers.feed import read_feed


class PageReader:
    label = "web page listing articles"  # msgids: the web form translates them
    short_label = "web page"

    async def read(self, source: Target, state: State, ctx: ReadContext) -> SourceRead:
        if state.get("feed_url"):
            return _as_page(await read_feed(ctx, state["feed_url"], state, declared=source.url))
        return await self._page(source, state, ctx)

    def after_failure(self, state: State) -> dict[str, Any]:
        # A discovered feed that fails is forgotten: the next run reads the page again.
        return {} if state.get("feed_url") else dict(state)

    async def _page(self, source: Target, state: State, ctx: ReadContext) -> SourceRead:
        response = await conditional_get(
            ctx, source.url, state, max_bytes=ctx.max_page_bytes, accept=PAGE_ACCEPT, robots=True
        )
        if response.not_modified:
            return SourceRead(not_modified=True, is_feed=False, state=validators(response, state))
        if looks_like_feed(response.body, response.content_type):
            parsed = await ctx.parse(
                parse_feed,
                response.body,
                url=response.final_url,
                headers=response.headers,
                max_entries=ctx.max_entries,
            )
            return SourceRead(
                entries=parsed.entries, state=validators(response), warning=parsed.warning
            )
        listing = await ctx.parse(
            parse_listing,
            response.body,
            url=response.final_url,
            headers=response.headers,
            selector=source.selector,
        )
        links = SourceRead(
            entries=listing.parsed.entries,
            is_feed=False,
            state=validators(response),
            warning=None if listing.parsed.entries else "no article links found on the page",
        )
        if not listing.feeds:
            return links
        feed_url = listing.feeds[0]
        try:
            read = await read_feed(ctx, feed_url, None, declared=source.url)
        except SourceError as exc:  # a broken advertised feed: the page's links still count
            return replace(links, warning=f"advertised feed {feed_url} unusable: {exc}")
        return _as_page(read)


def _as_page(read: SourceRead) -> SourceRead:
    """A feed read for a page: the feed's URL (where it moved, if it did) is the page's
    `feed_url`."""
    state = dict(read.state)
    state["feed_url"] = state.pop("url")
    return replace(read, state=state)
