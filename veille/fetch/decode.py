"""Content-Encoding decoding with a hard cap on the bytes that come out.

httpx would inflate a whole network chunk at once, so a 64 KiB gzip bomb chunk becomes 64 MiB
in memory before anyone can count it. Here every decompression call is told how much room is
left, and the body is refused as soon as it outgrows the cap.
"""

from __future__ import annotations

import zlib

import brotli

from veille.errors import FetchError

ACCEPT_ENCODING = "gzip, deflate, br"


class BoundedDecoder:
    def __init__(self, encoding: str, max_bytes: int, url: str) -> None:
        self.encoding = encoding.strip().lower()
        self.max_bytes = max_bytes
        self.url = url
        self.size = 0
        self._parts: list[bytes] = []
        if self.encoding in ("gzip", "x-gzip"):
            self._z: zlib._Decompress | None = zlib.decompressobj(wbits=31)
        elif self.encoding == "deflate":
            self._z = None  # zlib-wrapped or raw: decided on the first bytes
        elif self.encoding == "br":
            self._br = brotli.Decompressor()
        elif self.encoding not in ("", "identity"):
            raise FetchError(f"unsupported Content-Encoding {encoding!r}: {url}")

    def feed(self, data: bytes) -> None:
        if self.encoding in ("", "identity"):
            self._keep(data)
        elif self.encoding == "br":
            self._feed_brotli(data)
        else:
            self._feed_zlib(data)

    def body(self) -> bytes:
        return b"".join(self._parts)

    def _keep(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise FetchError(f"body larger than {self.max_bytes} bytes: {self.url}")
        if data:
            self._parts.append(data)

    def _room(self) -> int:
        return self.max_bytes - self.size + 1

    def _feed_zlib(self, data: bytes) -> None:
        if self._z is None:  # deflate: RFC says zlib-wrapped, many servers send raw
            self._z = zlib.decompressobj(wbits=15 if data[:1] == b"\x78" else -15)
        try:
            while data:
                self._keep(self._z.decompress(data, self._room()))
                data = self._z.unconsumed_tail
                if self._z.eof and self._z.unused_data and self.encoding != "deflate":
                    data = self._z.unused_data  # concatenated gzip members
                    self._z = zlib.decompressobj(wbits=31)
        except zlib.error as exc:
            raise FetchError(f"corrupt {self.encoding} body ({exc}): {self.url}") from None

    def _feed_brotli(self, data: bytes) -> None:
        try:
            self._keep(self._br.process(data, output_buffer_limit=self._room()))
            while not self._br.can_accept_more_data():
                self._keep(self._br.process(b"", output_buffer_limit=self._room()))
        except brotli.error as exc:
            raise FetchError(f"corrupt br body ({exc}): {self.url}") from None
