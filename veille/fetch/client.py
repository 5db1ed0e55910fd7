"""The polite fetcher: one httpx transport, and its kept-alive connections, shared by a run.

Politeness and safety in one place: global and per-host concurrency, connect/read/total
timeouts, capped bodies (decoded under the cap, see decode.py), redirects followed by hand so
each hop is checked (scheme, address guard, robots.txt, loops), conditional GET, and retries
on timeouts, network errors, 5xx and 429: with exponential backoff and jitter, except after a
timeout, which has waited already (Retry-After honoured when it is short; a long one is handed
back for the source's schedule).
"""

from __future__ import annotations

import asyncio
import random
import ssl
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import certifi
import httpx

from veille.errors import FetchError
from veille.fetch.decode import ACCEPT_ENCODING, BoundedDecoder
from veille.fetch.guard import AddressGuard, GuardedBackend
from veille.fetch.pool import KeepAlive
from veille.fetch.response import Response, retry_after
from veille.fetch.robots import MAX_ROBOTS_BYTES, Robots

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.8"
REDIRECTS = frozenset({301, 302, 303, 307, 308})
PERMANENT = frozenset({301, 308})
KEEPALIVE_EXPIRY = 30.0  # seconds an idle connection is kept
RETRYABLE = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
MAX_HEADER_LINE = 16 * 1024  # one response header line, name and value
MAX_HEADERS = 64 * 1024  # all response headers together


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """How politely and how far to fetch; the orchestrator builds it from Settings."""

    user_agent: str
    max_connections: int = 256
    max_per_host: int = 4
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0  # one get(), retries and waits included
    max_redirects: int = 5
    retries: int = 2
    allow_networks: tuple[str, ...] = ()
    backoff: float = 0.5  # first retry delay in seconds, doubled each time, plus jitter
    max_retry_wait: float = 30.0  # longest Retry-After waited for within a run


class GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, guard: AddressGuard, limits: FetchLimits) -> None:
        super().__init__(trust_env=False)
        # httpx has no public hook for the network backend, so the pool it built is replaced
        # by connections kept per host (pool.py), each opened through the address guard.
        self._pool = KeepAlive(
            GuardedBackend(guard),
            ssl.create_default_context(cafile=certifi.where()),
            keep=limits.max_connections,  # idle ones, besides those in use
            expiry=KEEPALIVE_EXPIRY,
        )


class Fetcher:
    """`async with Fetcher(limits) as f: await f.get(url, etag=…)`."""

    def __init__(self, limits: FetchLimits) -> None:
        self.limits = limits
        self.transport = GuardedTransport(AddressGuard(limits.allow_networks), limits)
        # Requests go straight to the transport: redirects and retries are handled here, and
        # httpx's client layers around a send (auth flow, hooks, URL merging, a cookie shim at
        # every response) cost about a tenth of a GET's CPU. Cookies are still kept per run.
        self.cookies = httpx.Cookies()
        self._headers = {"User-Agent": limits.user_agent, "Accept-Encoding": ACCEPT_ENCODING}
        timeout = httpx.Timeout(
            connect=limits.connect_timeout,
            read=limits.read_timeout,
            write=limits.read_timeout,
            pool=limits.total_timeout,
        )
        self._extensions = {"timeout": timeout.as_dict()}
        self.robots = Robots(self._robots_txt)
        self.statuses: Counter[str] = Counter()  # every HTTP exchange by status, for reports
        self._global = asyncio.Semaphore(limits.max_connections)
        self._hosts: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        max_bytes: int = 10_000_000,
        robots: bool = False,
        accept: str = FEED_ACCEPT,
    ) -> Response:
        """GET `url`; any HTTP status comes back as a Response, transport failures raise
        FetchError. `robots=True` for article and listing pages (not feeds)."""
        headers = {**self._headers, "Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            # The total timeout starts when the request first gets a connection slot (see
            # _slot): time queued behind other requests to a busy host is not the server's.
            async with asyncio.timeout(None) as budget:
                return await self._with_retries(
                    url, lambda: self._follow(url, headers, max_bytes, robots, budget)
                )
        except TimeoutError:
            self.statuses["timeout"] += 1
            raise FetchError(f"timed out after {self.limits.total_timeout:g} s: {url}") from None

    async def _with_retries(
        self, url: str, attempt_once: Callable[[], Awaitable[Response]]
    ) -> Response:
        for attempt in range(self.limits.retries + 1):
            last = attempt == self.limits.retries
            try:
                response = await attempt_once()
            except RETRYABLE as exc:
                self.statuses["error"] += 1
                if last:
                    raise FetchError(f"{_describe(exc)}: {url}") from None
                if not isinstance(exc, httpx.TimeoutException):  # a timeout was the wait
                    await asyncio.sleep(self._backoff(attempt))
                continue
            except httpx.HTTPError as exc:
                self.statuses["error"] += 1
                raise FetchError(f"{_describe(exc)}: {url}") from None
            if response.status >= 500 or response.status == 429:
                wait = response.retry_after
                wait = self._backoff(attempt) if wait is None else wait
                if not last and wait <= self.limits.max_retry_wait:
                    await asyncio.sleep(wait)
                    continue
            return response
        raise AssertionError("unreachable")  # the loop always returns or raises

    async def _follow(
        self,
        url: str,
        headers: dict[str, str],
        max_bytes: int,
        robots: bool,
        budget: asyncio.Timeout,
    ) -> Response:
        current, seen, permanent = url, {url}, True
        for _hop in range(self.limits.max_redirects + 1):
            if urlsplit(current).scheme.lower() not in ("http", "https"):
                raise FetchError(f"unsupported URL scheme: {current}")
            if robots:
                if not await self.robots.allowed(current):
                    raise FetchError(f"refused by robots.txt: {current}")
                await self.robots.pace(current)
            async with self._slot(current, budget):
                try:
                    request = httpx.Request(
                        "GET", current, headers=headers, extensions=self._extensions
                    )
                except httpx.InvalidURL as exc:
                    raise FetchError(f"invalid URL {current[:200]!r} ({exc}): {url}") from None
                if self.cookies.jar:
                    self.cookies.set_cookie_header(request)
                response = await self.transport.handle_async_request(request)
                response.request = request
                try:
                    _check_headers(response, current)
                    if "set-cookie" in response.headers:
                        self.cookies.extract_cookies(response)
                    self.statuses[str(response.status_code)] += 1
                    location = response.headers.get("location")
                    if response.status_code not in REDIRECTS or not location:
                        body = b""
                        if response.status_code < 300:
                            body = await _read(response, max_bytes, current)
                        moved = current if permanent and current != url else None
                        return Response(
                            url=url,
                            final_url=current,
                            status=response.status_code,
                            reason=response.reason_phrase,
                            body=body,
                            moved_to=moved,
                            headers={k.lower(): v for k, v in response.headers.items()},
                            retry_after=retry_after(response.headers.get("retry-after")),
                        )
                finally:
                    await response.aclose()
            permanent = permanent and response.status_code in PERMANENT
            try:
                current = urljoin(current, location.strip())
            except ValueError:
                raise FetchError(f"invalid redirect to {location[:200]!r}: {url}") from None
            if current in seen:
                raise FetchError(f"redirect loop at {current}: {url}")
            seen.add(current)
        raise FetchError(f"too many redirects (more than {self.limits.max_redirects}): {url}")

    @asynccontextmanager
    async def _slot(self, url: str, budget: asyncio.Timeout) -> AsyncIterator[None]:
        # The host's slot first, so a busy host never holds global slots while it waits.
        host = urlsplit(url).netloc.lower()
        per_host = self._hosts.setdefault(host, asyncio.Semaphore(self.limits.max_per_host))
        async with per_host, self._global:
            if budget.when() is None:
                budget.reschedule(asyncio.get_running_loop().time() + self.limits.total_timeout)
            yield

    def _backoff(self, attempt: int) -> float:
        base = self.limits.backoff * 2**attempt
        return base + random.uniform(0, base / 2)

    async def _robots_txt(self, url: str) -> tuple[int, bytes]:
        response = await self.get(url, max_bytes=MAX_ROBOTS_BYTES, accept="text/plain, */*;q=0.5")
        return response.status, response.body


def _check_headers(response: httpx.Response, url: str) -> None:
    """Refuse oversized headers (h11 lets 100 kB through): no real server needs them, and
    every hop of every retry would keep them in memory."""
    total = 0
    for name, value in response.headers.raw:
        line = len(name) + len(value) + 4
        if line > MAX_HEADER_LINE:
            shown = name.decode("latin-1")[:40]
            raise FetchError(
                f"response header {shown!r} longer than {MAX_HEADER_LINE} bytes: {url}"
            )
        total += line
        if total > MAX_HEADERS:
            raise FetchError(f"response headers larger than {MAX_HEADERS} bytes: {url}")


async def _read(response: httpx.Response, max_bytes: int, url: str) -> bytes:
    length = response.headers.get("content-length", "")
    if length.isascii() and length.isdigit() and int(length) > max_bytes:
        raise FetchError(f"body larger than {max_bytes} bytes ({length} announced): {url}")
    decoder = BoundedDecoder(response.headers.get("content-encoding", ""), max_bytes, url)
    async for chunk in response.aiter_raw():
        decoder.feed(chunk)
    return decoder.body()


def _describe(exc: httpx.HTTPError) -> str:
    kind = {
        httpx.ConnectTimeout: "connection timed out",
        httpx.ReadTimeout: "read timed out",
        httpx.ConnectError: "cannot connect",
        httpx.RemoteProtocolError: "server broke the HTTP protocol",
    }.get(type(exc), type(exc).__name__)
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{kind} ({detail})" if detail and detail != kind else kind
