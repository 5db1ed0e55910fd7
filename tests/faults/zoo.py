"""Misbehaving HTTP servers on 127.0.0.x: raw sockets, so each can break HTTP any way it likes.

    zoo = Zoo("127.0.0.3"); zoo.add("/drip", drip); url = zoo.url("/drip")

A behaviour gets the connected socket after the request's headers were read and writes what
it wants (or nothing). `connections` counts every connection accepted, for canaries.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Callable

Behaviour = Callable[[socket.socket], None]


class Zoo:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Behaviour] = {}
        self.hits: dict[str, int] = {}
        self.connections = 0
        self._lock = threading.Lock()
        zoo = self

        class _Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                with zoo._lock:
                    zoo.connections += 1
                sock: socket.socket = self.request
                sock.settimeout(30)
                try:
                    head = _read_head(sock)
                    path = head.split(b" ", 2)[1].decode("latin-1") if head.count(b" ") >= 2 else ""
                    with zoo._lock:
                        zoo.hits[path] = zoo.hits.get(path, 0) + 1
                    zoo.routes.get(path.split("?")[0], not_found)(sock)
                except OSError:
                    pass  # the client gave up: that is the point of most behaviours

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer((host, 0), _Handler)
        self.server.daemon_threads = True
        self.host, self.port = self.server.server_address[:2]
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def add(self, path: str, behaviour: Behaviour) -> str:
        self.routes[path] = behaviour
        return self.url(path)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _read_head(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def response(
    body: bytes = b"",
    status: str = "200 OK",
    headers: dict[str, str] | None = None,
    length: bool = True,
) -> Behaviour:
    def send(sock: socket.socket) -> None:
        hdrs = {"Content-Type": "application/rss+xml", **(headers or {})}
        if length:
            hdrs.setdefault("Content-Length", str(len(body)))
        hdrs["Connection"] = "close"
        head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
        sock.sendall(head.encode("utf-8") + b"\r\n" + body)

    return send


def raw(data: bytes) -> Behaviour:
    """Exactly these bytes, then the connection closes."""
    return lambda sock: sock.sendall(data)


def silent(sock: socket.socket) -> None:
    """Accept, read the request, never answer."""
    time.sleep(30)


def drip(sock: socket.socket) -> None:
    """Headers, then one byte every half second, forever."""
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n\r\n<rss")
    while True:
        time.sleep(0.5)
        sock.sendall(b" ")


def endless(sock: socket.socket) -> None:
    """A body with no length that never ends."""
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n\r\n<rss><channel>")
    chunk = b"<item><title>x</title></item>" * 2000
    while True:  # 60 kB a millisecond at most: the zoo's other servers still get the GIL
        sock.sendall(chunk)
        time.sleep(0.001)


def endless_chunked(sock: socket.socket) -> None:
    sock.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    piece = b"<item><title>y</title></item>" * 1000
    frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    while True:
        sock.sendall(frame)
        time.sleep(0.001)


def endless_informational(sock: socket.socket) -> None:
    """1xx answers, one after the other, never the final one."""
    while True:
        sock.sendall(b"HTTP/1.1 102 Processing\r\n\r\n")
        time.sleep(0.05)


def not_found(sock: socket.socket) -> None:
    response(b"nothing here", "404 Not Found", {"Content-Type": "text/plain"})(sock)
