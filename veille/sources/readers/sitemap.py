"""kind: sitemap — an XML sitemap (robots.txt applies); an index's newest child sitemaps
are read too.

State: {"etag", "last_modified"} of the sitemap.
"""

from __future__ import annotations

from typing import Any

from veille.errors import FetchError, SourceError
from veille.parse import parse_sitemap
from veille.sources.readers.base import (
    SITEMAP_ACCEPT,
    ReadContext,
    SourceRead,
    State,
    Target,
    conditional_get,
    validators,
)

MAX_CHILD_SITEMAPS = 3


class SitemapReader:
    label = "sitemap"  # msgids: the web form translates them
    short_label = "sitemap"

    async def read(self, source: Target, state: State, ctx: ReadContext) -> SourceRead:
        response = await self._get(ctx, source.url, state)
        if response.not_modified:
            return SourceRead(not_modified=True, is_feed=False, state=validators(response, state))
        sitemap = await ctx.parse(
            parse_sitemap, response.body, url=response.final_url, max_bytes=ctx.max_feed_bytes
        )
        entries = list(sitemap.parsed.entries)
        problems = []
        for child in sitemap.children[:MAX_CHILD_SITEMAPS]:
            try:
                sub = await self._get(ctx, child, None)
                part = await ctx.parse(
                    parse_sitemap, sub.body, url=sub.final_url, max_bytes=ctx.max_feed_bytes
                )
            except SourceError as exc:
                problems.append(str(exc))
                continue
            entries.extend(part.parsed.entries)
        if sitemap.children and not entries and problems:
            raise FetchError(f"no child sitemap readable: {problems[0]}")
        return SourceRead(
            entries=tuple(entries),
            is_feed=False,
            state=validators(response),
            warning=f"child sitemap unreadable: {problems[0]}" if problems else None,
        )

    def after_failure(self, state: State) -> dict[str, Any]:
        return dict(state)

    @staticmethod
    async def _get(ctx: ReadContext, url: str, state: State | None):  # noqa: ANN205
        return await conditional_get(
            ctx, url, state, max_bytes=ctx.max_feed_bytes, accept=SITEMAP_ACCEPT, robots=True
        )
