"""Fetch: polite, bounded, guarded HTTP for feeds, listing pages and article pages.

    async with Fetcher(FetchLimits(user_agent=…, allow_networks=("127.0.0.0/8",))) as f:
        r = await f.get(url, etag=…, last_modified=…, max_bytes=…)          # a feed
        r = await f.get(url, robots=True, accept=PAGE_ACCEPT, max_bytes=…)  # a page

HTTP statuses come back as a `Response`; transport failures (refused address, timeout,
oversized body, redirect loop, robots.txt) raise FetchError with the URL.
"""

from veille.fetch.client import FEED_ACCEPT, PAGE_ACCEPT, Fetcher, FetchLimits
from veille.fetch.guard import AddressGuard
from veille.fetch.response import Response, retry_after

__all__ = [
    "FEED_ACCEPT",
    "PAGE_ACCEPT",
    "AddressGuard",
    "FetchLimits",
    "Fetcher",
    "Response",
    "retry_after",
]
