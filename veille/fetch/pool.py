"""Keep-alive: idle HTTP/1.1 connections kept per origin, the least recently used closed first.

httpcore's connection pool cost more than it saved here. At every request event it scans all
its connections (some scans nested, so quadratic in their number), and it closes an idle
connection whenever it holds more than `max_keepalive_connections` connections in all, busy
ones included: with 64 requests in flight over many hosts, nearly every GET opened a new TCP
connection. The fetcher already bounds the requests in flight, globally and per host, so what
is left is small: reuse an idle connection to the same origin when there is one, else open
one, and keep at most `keep` idle connections in all.
"""

from __future__ import annotations

import ssl
from collections import OrderedDict
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable

import httpcore

Key = tuple[bytes, bytes, int]  # scheme, host, port
Connection = httpcore.AsyncHTTPConnection


class KeepAlive:
    """Stands where httpx's transport keeps its httpcore pool (the same two methods)."""

    def __init__(
        self,
        backend: httpcore.AsyncNetworkBackend,
        ssl_context: ssl.SSLContext,
        keep: int,
        expiry: float,
    ) -> None:
        self.backend = backend
        self.ssl_context = ssl_context
        self.keep = keep
        self.expiry = expiry  # seconds an idle connection may wait for its next request
        self._idle: dict[Key, list[Connection]] = {}  # per origin, most recent last
        self._order: OrderedDict[Connection, Key] = OrderedDict()  # all idle, oldest first

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        origin = request.url.origin
        key = (origin.scheme, origin.host, origin.port)
        # An idle connection goes to one request only, so httpcore never finds it taken.
        connection = await self._take(key) or self._open(origin)
        try:
            response = await connection.handle_async_request(request)
        except BaseException:
            await connection.aclose()  # never reused (httpcore has closed it if it had to)
            raise
        response.stream = _Body(response.stream, lambda: self._give_back(connection, key))
        return response

    def _open(self, origin: httpcore.Origin) -> Connection:
        return Connection(
            origin,
            ssl_context=self.ssl_context,
            keepalive_expiry=self.expiry,
            network_backend=self.backend,
        )

    async def _take(self, key: Key) -> Connection | None:
        stack = self._idle.get(key, [])
        while stack:
            connection = stack.pop()
            del self._order[connection]
            if not stack:
                del self._idle[key]
            if connection.is_available() and not connection.has_expired():
                return connection
            await connection.aclose()  # past its expiry, or the server hung up
        return None

    async def _give_back(self, connection: Connection, key: Key) -> None:
        if not connection.is_available():
            return  # closed: the response was cut short, or the server said so
        self._idle.setdefault(key, []).append(connection)
        self._order[connection] = key
        while len(self._order) > self.keep:
            oldest, oldest_key = self._order.popitem(last=False)
            self._idle[oldest_key].remove(oldest)
            if not self._idle[oldest_key]:
                del self._idle[oldest_key]
            await oldest.aclose()

    async def aclose(self) -> None:
        idle = list(self._order)
        self._idle.clear()
        self._order.clear()
        for connection in idle:
            await connection.aclose()


class _Body:
    """A response body that gives its connection back once it is closed."""

    def __init__(self, stream: AsyncIterable[bytes], done: Callable[[], Awaitable[None]]):
        self.stream = stream
        self.done: Callable[[], Awaitable[None]] | None = done

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.stream.__aiter__()

    async def aclose(self) -> None:
        try:
            if hasattr(self.stream, "aclose"):
                await self.stream.aclose()
        finally:
            done, self.done = self.done, None
            if done is not None:
                await done()
