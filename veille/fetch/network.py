"""TCP and TLS connections for httpcore on asyncio's own streams.

httpcore's default backend goes through anyio: a cancel scope around every read and write, a
turn of the event loop to read bytes already received, and socket attributes rebuilt at every
look-up (httpcore looks one up for each idle connection it considers). asyncio's streams give
the same reads and writes with a plain `asyncio.timeout`. Unlike anyio they read the socket
eagerly, hence the count of unread bytes that tells whether an idle connection is still fit
for a request.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore


class _Reader(asyncio.StreamReader):
    """Counts the bytes received and not yet read (asyncio reads the socket eagerly)."""

    unread = 0

    def feed_data(self, data: bytes) -> None:
        super().feed_data(data)
        self.unread += len(data)


class AsyncioStream(httpcore.AsyncNetworkStream):
    def __init__(self, reader: _Reader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                data = await self.reader.read(max_bytes)
            self.reader.unread -= len(data)
            return data
        except TimeoutError:
            raise httpcore.ReadTimeout() from None
        except OSError as exc:
            raise httpcore.ReadError(str(exc) or type(exc).__name__) from None

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            async with asyncio.timeout(timeout):
                self.writer.write(buffer)
                await self.writer.drain()
        except TimeoutError:
            raise httpcore.WriteTimeout() from None
        except OSError as exc:
            raise httpcore.WriteError(str(exc) or type(exc).__name__) from None

    async def aclose(self) -> None:
        # As anyio did: one turn of the loop for a clean close, then whatever the peer has not
        # taken is dropped, so a stalled peer never holds a close (httpcore shields closes
        # from cancellation, timeouts included).
        self.writer.close()
        await asyncio.sleep(0)
        self.writer.transport.abort()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self.writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError:
            await self.aclose()
            raise httpcore.ConnectTimeout("TLS handshake timed out") from None
        except (OSError, ssl.SSLError) as exc:  # ssl.SSLError is an OSError too
            await self.aclose()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from None
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # httpcore asks this of an idle connection before reusing it: anything received
            # since the last response (a 408 before a close, say) or a hang-up rules it out.
            reader = self.reader
            return reader.unread > 0 or reader.at_eof() or reader.exception() is not None
        key = {"client_addr": "sockname", "server_addr": "peername"}.get(info, info)
        return self.writer.get_extra_info(key)  # ssl_object, socket


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        reader = _Reader(loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        local = (local_address, 0) if local_address else None
        try:
            async with asyncio.timeout(timeout):  # asyncio.open_connection, with our reader
                transport, _ = await loop.create_connection(
                    lambda: protocol, host, port, local_addr=local
                )
        except TimeoutError:
            raise httpcore.ConnectTimeout() from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from None
        for option in socket_options or ():
            transport.get_extra_info("socket").setsockopt(*option)
        return AsyncioStream(reader, asyncio.StreamWriter(transport, protocol, reader, loop))

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
