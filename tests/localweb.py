"""A real HTTP server on 127.0.0.1 whose behaviour each test programs.

    web.route("/feed.xml", body=b"<rss…>", headers={"ETag": '"v1"'})
    web.route("/slow", handler=lambda req: Reply(body=b"x" * 10, drip=1.0))
    web.requests  # every request seen: (method, path, headers)

Handlers get a `Request` and return a `Reply`. Conditional GET is built in: a route with an
ETag or Last-Modified answers 304 when the request matches.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    host: str = ""
    peer: int = 0  # the client's port: one per connection


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the status line
    drip: float = 0.0  # seconds between body chunks of 64 bytes
    gzip: bool = False
    length: bool = True  # False: no Content-Length, the body ends when the connection closes


Handler = Callable[[Request], Reply]


class LocalWeb:
    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        web = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                web._serve(self)

            def do_HEAD(self) -> None:  # noqa: N802
                web._serve(self, head=True)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        # A short poll interval: shutdown() waits for one poll, 0.5 s by default, per test.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def route(
        self,
        path: str,
        body: bytes | str = b"",
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        handler: Handler | None = None,
        content_type: str | None = None,
    ) -> str:
        """Serve `path`; returns its absolute URL."""
        if handler is None:
            data = body.encode() if isinstance(body, str) else body
            hdrs = dict(headers or {})
            if content_type:
                hdrs["Content-Type"] = content_type

            def handler(req: Request, data: bytes = data, hdrs: dict = hdrs) -> Reply:
                etag, lm = hdrs.get("ETag"), hdrs.get("Last-Modified")
                inm, ims = req.headers.get("if-none-match"), req.headers.get("if-modified-since")
                if (etag and inm == etag) or (lm and not inm and ims == lm):
                    keep = {k: v for k, v in hdrs.items() if k in ("ETag", "Last-Modified")}
                    return Reply(status=304, headers=keep)
                return Reply(status=status, body=data, headers=hdrs)

        self.routes[path] = handler
        return self.url(path)

    def hits(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def _serve(self, h: BaseHTTPRequestHandler, head: bool = False) -> None:
        headers = {k.lower(): v for k, v in h.headers.items()}
        req = Request(h.command, h.path, headers, h.headers.get("Host", ""), h.client_address[1])
        with self._lock:
            self.requests.append(req)
        handler = self.routes.get(h.path) or self.routes.get(h.path.split("?")[0])
        reply = handler(req) if handler else Reply(status=404, body=b"not found")
        if reply.delay:
            time.sleep(reply.delay)
        body = reply.body
        headers = dict(reply.headers)
        if reply.gzip:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        try:
            h.send_response(reply.status)
            headers.setdefault("Content-Type", "application/octet-stream")
            for k, v in headers.items():
                h.send_header(k, v)
            if reply.status != 304 and reply.length:
                h.send_header("Content-Length", str(len(body)))
            elif not reply.length:
                h.send_header("Connection", "close")
                h.close_connection = True
            h.end_headers()
            if head or reply.status == 304:
                return
            if reply.drip:
                for i in range(0, len(body), 64):
                    h.wfile.write(body[i : i + 64])
                    h.wfile.flush()
                    time.sleep(reply.drip)
            else:
                h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
