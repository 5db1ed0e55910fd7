"""Reading one source, by kind: fetch, then parse off the event loop, into a `SourceRead`.

- feed: conditional GET of the feed (or where it moved for good); robots.txt does not apply.
- page: the listing page (robots.txt applies). A page that is a feed is read as one; a page
  that advertises a feed switches the source to that feed (kept in `feed_url`); otherwise
  its article links are the entries.
- sitemap: the sitemap (robots.txt applies); an index's newest child sitemaps are read too.

Parsing is CPU work: it runs in the run's worker processes once they are up (both cores
parse while the event loop fetches), in a thread before that.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, TypeVar

from veille.errors import FetchError, SourceError
from veille.fetch import FEED_ACCEPT, PAGE_ACCEPT, Fetcher, Response
from veille.parse import looks_like_feed, parse_feed, parse_listing, parse_sitemap
from veille.parse.entry import ParsedFeed
from veille.pipeline.workers import WorkerPool
from veille.store import Source
from veille.types import Entry

T = TypeVar("T")
SITEMAP_ACCEPT = "application/xml, text/xml;q=0.9, */*;q=0.5"
MAX_CHILD_SITEMAPS = 3


class HTTPStatusError(FetchError):
    """The server answered with an error status; `retry_after` when it asked us to wait."""

    def __init__(self, response: Response) -> None:
        super().__init__(f"{response.error()}: {response.final_url}")
        self.retry_after = response.retry_after


@dataclass(frozen=True, slots=True)
class SourceRead:
    entries: tuple[Entry, ...] = ()
    not_modified: bool = False
    is_feed: bool = True  # False for links of a listing page or sitemap
    etag: str | None = None
    last_modified: str | None = None
    feed_url: str | None = None  # fetched next time instead of the declared URL
    warning: str | None = None
    max_age: int | None = None  # the feed's Cache-Control: max-age, seconds


def _checked(response: Response) -> Response:
    if not (response.ok or response.not_modified):
        raise HTTPStatusError(response)
    return response


def _unchanged(source: Source, response: Response, *, is_feed: bool) -> SourceRead:
    return SourceRead(
        not_modified=True,
        is_feed=is_feed,
        etag=response.etag or source.etag,
        last_modified=response.last_modified or source.last_modified,
        feed_url=source.feed_url if is_feed else None,
        max_age=response.max_age if is_feed else None,
    )


@dataclass(frozen=True, slots=True)
class Reader:
    fetcher: Fetcher
    max_feed_bytes: int
    max_page_bytes: int
    pool: WorkerPool | None = None  # None: the event loop's thread pool
    max_entries: int = 1000  # entries one fetch of a feed turns into items, newest first

    async def read(self, source: Source) -> SourceRead:
        if source.kind == "sitemap":
            return await self._sitemap(source)
        if source.kind == "page" and not source.feed_url:
            return await self._page(source)
        return await self._feed(source, source.feed_url or source.url, conditional=True)

    async def _parse(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        executor = self.pool.started() if self.pool is not None else None
        return await loop.run_in_executor(executor, partial(fn, *args, **kwargs))

    async def _parse_feed(self, response: Response) -> ParsedFeed:
        return await self._parse(
            parse_feed,
            response.body,
            url=response.final_url,
            headers=response.headers,
            max_entries=self.max_entries,
        )

    async def _get(
        self,
        source: Source,
        url: str,
        *,
        conditional: bool = True,
        accept: str = FEED_ACCEPT,
        robots: bool = False,  # listing pages and sitemaps, not feeds
        max_bytes: int | None = None,
    ) -> Response:
        """GET `url`, with the source's validators when `conditional`; error statuses raise."""
        return _checked(
            await self.fetcher.get(
                url,
                etag=source.etag if conditional else None,
                last_modified=source.last_modified if conditional else None,
                max_bytes=max_bytes or self.max_feed_bytes,
                robots=robots,
                accept=accept,
            )
        )

    async def _feed(self, source: Source, url: str, *, conditional: bool) -> SourceRead:
        response = await self._get(source, url, conditional=conditional)
        if response.not_modified:
            return _unchanged(source, response, is_feed=True)
        parsed = await self._parse_feed(response)
        warnings = [parsed.warning] if parsed.warning else []
        if response.moved_to:
            warnings.insert(0, f"moved permanently to {response.moved_to}; update the sources file")
        return SourceRead(
            entries=parsed.entries,
            etag=response.etag,
            last_modified=response.last_modified,
            feed_url=response.moved_to or (url if url != source.url else None),
            warning="; ".join(warnings) or None,
            max_age=response.max_age,
        )

    async def _page(self, source: Source) -> SourceRead:
        response = await self._get(
            source, source.url, accept=PAGE_ACCEPT, robots=True, max_bytes=self.max_page_bytes
        )
        if response.not_modified:
            return _unchanged(source, response, is_feed=False)
        if looks_like_feed(response.body, response.content_type):
            parsed = await self._parse_feed(response)
            return SourceRead(
                entries=parsed.entries,
                etag=response.etag,
                last_modified=response.last_modified,
                warning=parsed.warning,
            )
        listing = await self._parse(
            parse_listing,
            response.body,
            url=response.final_url,
            headers=response.headers,
            selector=source.selector,
        )
        links = SourceRead(
            entries=listing.parsed.entries,
            is_feed=False,
            etag=response.etag,
            last_modified=response.last_modified,
            warning=None if listing.parsed.entries else "no article links found on the page",
        )
        if not listing.feeds:
            return links
        try:
            return await self._feed(source, listing.feeds[0], conditional=False)
        except SourceError as exc:  # a broken advertised feed: the page's links still count
            return replace(links, warning=f"advertised feed {listing.feeds[0]} unusable: {exc}")

    async def _sitemap(self, source: Source) -> SourceRead:
        response = await self._get(source, source.url, accept=SITEMAP_ACCEPT, robots=True)
        if response.not_modified:
            return _unchanged(source, response, is_feed=False)
        sitemap = await self._parse(
            parse_sitemap, response.body, url=response.final_url, max_bytes=self.max_feed_bytes
        )
        entries = list(sitemap.parsed.entries)
        problems = []
        for child in sitemap.children[:MAX_CHILD_SITEMAPS]:
            try:
                sub = await self._get(
                    source, child, conditional=False, accept=SITEMAP_ACCEPT, robots=True
                )
                part = await self._parse(
                    parse_sitemap, sub.body, url=sub.final_url, max_bytes=self.max_feed_bytes
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
            etag=response.etag,
            last_modified=response.last_modified,
            warning=f"child sitemap unreadable: {problems[0]}" if problems else None,
        )
