"""Reading one source, by kind: fetch, then parse off the event loop, into a `SourceRead`.

- feed: conditional GET of the feed (or where it moved for good); robots.txt does not apply.
- page: the listing page (robots.txt applies). A page that is a feed is read as one; a page
  that advertises a feed switches the source to that feed (kept in `feed_url`); otherwise
  its article links are the entries.
- sitemap: the sitemap (robots.txt applies); an index's newest child sitemaps are read too.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from veille.errors import FetchError, SourceError
from veille.fetch import PAGE_ACCEPT, Fetcher, Response
from veille.parse import looks_like_feed, parse_feed, parse_listing, parse_sitemap
from veille.store import Source
from veille.types import Entry

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


async def read_source(
    fetcher: Fetcher, source: Source, *, max_feed_bytes: int, max_page_bytes: int
) -> SourceRead:
    if source.kind == "sitemap":
        return await _read_sitemap(fetcher, source, max_feed_bytes)
    if source.kind == "page" and not source.feed_url:
        return await _read_page(fetcher, source, max_page_bytes, max_feed_bytes)
    return await _read_feed(
        fetcher, source, source.feed_url or source.url, max_feed_bytes, conditional=True
    )


def _checked(response: Response) -> Response:
    if not (response.ok or response.not_modified):
        raise HTTPStatusError(response)
    return response


async def _read_feed(
    fetcher: Fetcher, source: Source, url: str, max_bytes: int, *, conditional: bool
) -> SourceRead:
    response = _checked(
        await fetcher.get(
            url,
            etag=source.etag if conditional else None,
            last_modified=source.last_modified if conditional else None,
            max_bytes=max_bytes,
        )
    )
    if response.not_modified:
        return SourceRead(
            not_modified=True,
            etag=response.etag or source.etag,
            last_modified=response.last_modified or source.last_modified,
            feed_url=source.feed_url,
        )
    parsed = await asyncio.to_thread(
        parse_feed, response.body, url=response.final_url, headers=response.headers
    )
    warnings = [parsed.warning] if parsed.warning else []
    if response.moved_to:
        warnings.insert(0, f"moved permanently to {response.moved_to}; update the sources file")
    return SourceRead(
        entries=parsed.entries,
        etag=response.etag,
        last_modified=response.last_modified,
        feed_url=response.moved_to or (url if url != source.url else None),
        warning="; ".join(warnings) or None,
    )


async def _read_page(
    fetcher: Fetcher, source: Source, max_page_bytes: int, max_feed_bytes: int
) -> SourceRead:
    response = _checked(
        await fetcher.get(
            source.url,
            etag=source.etag,
            last_modified=source.last_modified,
            max_bytes=max_page_bytes,
            robots=True,
            accept=PAGE_ACCEPT,
        )
    )
    if response.not_modified:
        return SourceRead(
            not_modified=True,
            is_feed=False,
            etag=response.etag or source.etag,
            last_modified=response.last_modified or source.last_modified,
        )
    if looks_like_feed(response.body, response.content_type):
        parsed = await asyncio.to_thread(
            parse_feed, response.body, url=response.final_url, headers=response.headers
        )
        return SourceRead(
            entries=parsed.entries,
            etag=response.etag,
            last_modified=response.last_modified,
            warning=parsed.warning,
        )
    listing = await asyncio.to_thread(
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
        return await _read_feed(
            fetcher, source, listing.feeds[0], max_feed_bytes, conditional=False
        )
    except SourceError as exc:  # a broken advertised feed: the page's links still count
        return replace(links, warning=f"advertised feed {listing.feeds[0]} unusable: {exc}")


async def _read_sitemap(fetcher: Fetcher, source: Source, max_bytes: int) -> SourceRead:
    response = _checked(
        await fetcher.get(
            source.url,
            etag=source.etag,
            last_modified=source.last_modified,
            max_bytes=max_bytes,
            robots=True,
            accept=SITEMAP_ACCEPT,
        )
    )
    if response.not_modified:
        return SourceRead(
            not_modified=True,
            is_feed=False,
            etag=response.etag or source.etag,
            last_modified=response.last_modified or source.last_modified,
        )
    sitemap = await asyncio.to_thread(
        parse_sitemap, response.body, url=response.final_url, max_bytes=max_bytes
    )
    entries = list(sitemap.parsed.entries)
    problems = []
    for child in sitemap.children[:MAX_CHILD_SITEMAPS]:
        try:
            sub = _checked(
                await fetcher.get(child, max_bytes=max_bytes, robots=True, accept=SITEMAP_ACCEPT)
            )
            part = await asyncio.to_thread(
                parse_sitemap, sub.body, url=sub.final_url, max_bytes=max_bytes
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
