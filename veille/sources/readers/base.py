"""What every reader shares: the value a read returns and the I/O it is given.

A reader gets its I/O from the caller (`ReadContext`: the run's polite fetcher and a way to
run a parser off the event loop), so this package imports no fetching or database code. Its
fetch state (validators, a discovered feed, …) is one opaque JSON-able dict that the core
stores on the source row and hands back next time, never looking into it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from veille.errors import FetchError
from veille.types import Entry

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.8"
SITEMAP_ACCEPT = "application/xml, text/xml;q=0.9, */*;q=0.5"

State = Mapping[str, Any]


class Response(Protocol):
    """What the fetcher returns (veille.fetch.Response), as far as readers read it."""

    final_url: str
    body: bytes
    headers: dict[str, str]
    moved_to: str | None
    retry_after: float | None

    @property
    def ok(self) -> bool: ...
    @property
    def not_modified(self) -> bool: ...
    @property
    def etag(self) -> str | None: ...
    @property
    def last_modified(self) -> str | None: ...
    @property
    def max_age(self) -> int | None: ...
    @property
    def content_type(self) -> str: ...
    def error(self) -> str: ...


class Target(Protocol):
    """The source as declared (a store row or a SourceSpec)."""

    url: str
    selector: str | None


@dataclass(frozen=True, slots=True)
class ReadContext:
    """The I/O a reader may use, given by the run."""

    get: Callable[..., Awaitable[Response]]  # veille.fetch.Fetcher.get
    parse: Callable[..., Awaitable[Any]]  # parse(fn, *args, **kwargs) off the event loop
    max_feed_bytes: int = 10_000_000
    max_page_bytes: int = 5_000_000
    max_entries: int = 1000  # entries one fetch of a feed turns into items, newest first


@dataclass(frozen=True, slots=True)
class SourceRead:
    entries: tuple[Entry, ...] = ()
    not_modified: bool = False
    is_feed: bool = True  # False for links of a listing page or sitemap
    state: dict[str, Any] = field(default_factory=dict)  # the reader's state for next time
    warning: str | None = None
    max_age: int | None = None  # the feed's Cache-Control: max-age, seconds


class Reader(Protocol):
    """One kind of source. `label` and `short_label` are msgids (veille/locale): the web
    form's choice and the source list's word."""

    label: str
    short_label: str

    async def read(self, source: Target, state: State, ctx: ReadContext) -> SourceRead: ...

    def after_failure(self, state: State) -> dict[str, Any]:
        """The state kept when a read failed."""
        ...


class HTTPStatusError(FetchError):
    """The server answered with an error status; `retry_after` when it asked us to wait."""

    def __init__(self, response: Response) -> None:
        super().__init__(f"{response.error()}: {response.final_url}")
        self.retry_after = response.retry_after


def checked(response: Response) -> Response:
    if not (response.ok or response.not_modified):
        raise HTTPStatusError(response)
    return response


def validators(response: Response, state: State | None = None) -> dict[str, Any]:
    """ETag and Last-Modified to send next time (a 304 may omit them: keep the old ones)."""
    state = state or {}
    out = {
        "etag": response.etag or state.get("etag"),
        "last_modified": response.last_modified or state.get("last_modified"),
    }
    return {k: v for k, v in out.items() if v}


async def conditional_get(
    ctx: ReadContext, url: str, state: State | None, *, max_bytes: int, **kwargs: Any
) -> Response:
    """GET `url` with the validators of `state` (None: unconditional); error statuses raise."""
    state = state or {}
    return checked(
        await ctx.get(
            url,
            etag=state.get("etag"),
            last_modified=state.get("last_modified"),
            max_bytes=max_bytes,
            **kwargs,
        )
    )
