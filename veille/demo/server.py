"""A local web server for the demo's bundled sites, so `veille demo` needs no network.

Every text file under the root is served with two kinds of placeholders filled in once, at
start: `{base}` becomes this server's own address (whatever free port it got), so feed and
article links resolve here; `{date -N HH:MM fmt}` becomes a date N days before today, so the
demo's news is always fresh enough for a digest. Conditional GET works like a real site's
(ETag and Last-Modified, 304), and feeds get their proper content types.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from veille.i18n import format_date

log = logging.getLogger(__name__)

_DATE = re.compile(r"\{date -(\d+) (\d\d):(\d\d) (iso|rfc822|fr|en)\}")
_TEXT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".yaml": "application/yaml; charset=utf-8",
    ".json": "application/json",
    ".xml": "application/xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
}


@dataclass(frozen=True, slots=True)
class _Page:
    body: bytes
    content_type: str
    etag: str


def render(text: str, *, base: str, today: date, tz: ZoneInfo) -> str:
    """Fill `{base}` and `{date -N HH:MM iso|rfc822|fr|en}` placeholders."""

    def when(match: re.Match[str]) -> str:
        days, hour, minute, fmt = match.groups()
        day = today - timedelta(days=int(days))
        moment = datetime(day.year, day.month, day.day, int(hour), int(minute), tzinfo=tz)
        if fmt == "iso":
            return moment.isoformat()
        if fmt == "rfc822":
            return format_datetime(moment)
        return format_date(moment, fmt)

    return _DATE.sub(when, text.replace("{base}", base))


def _content_type(path: Path, body: bytes) -> str:
    if path.suffix == ".xml":  # feeds are .xml too: say which kind, as real servers do
        head = body[:400]
        if b"<feed" in head:
            return _TEXT_TYPES[".atom"]
        if b"<rss" in head:
            return _TEXT_TYPES[".rss"]
    guessed = mimetypes.guess_type(path.name)[0]
    return _TEXT_TYPES.get(path.suffix) or guessed or "application/octet-stream"


def _load(root: Path, *, base: str, today: date, tz: ZoneInfo) -> dict[str, _Page]:
    pages: dict[str, _Page] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        body = path.read_bytes()
        if path.suffix in _TEXT_TYPES:
            body = render(body.decode("utf-8"), base=base, today=today, tz=tz).encode("utf-8")
        url_path = "/" + path.relative_to(root).as_posix()
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        pages[url_path] = _Page(body, _content_type(path, body), etag)
        if path.name == "index.html":
            pages[url_path.removesuffix("index.html")] = pages[url_path]
    return pages


@dataclass
class DemoSite:
    """The running server: `base_url` for feeds.yaml, `close()` when done."""

    base_url: str
    root: Path
    pages: dict[str, _Page] = field(repr=False)
    _server: ThreadingHTTPServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def url(self, path: str) -> str:
        return self.base_url + path

    def text(self, path: str) -> str:
        """A served file as text (e.g. `/feeds.yaml` with the real address in it)."""
        return self.pages[path].body.decode("utf-8")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> DemoSite:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve_site(
    root: Path, *, today: date | None = None, timezone: str = "Europe/Paris", port: int = 0
) -> DemoSite:
    """Serve `root` on 127.0.0.1 (a free port unless given) in a background thread."""
    tz = ZoneInfo(timezone)
    server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
    server.daemon_threads = True
    base = f"http://127.0.0.1:{server.server_address[1]}"
    pages = _load(root, base=base, today=today or datetime.now(tz).date(), tz=tz)
    server.pages = pages  # type: ignore[attr-defined]
    server.last_modified = datetime.now(UTC).replace(microsecond=0)  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, name="demo-site", daemon=True)
    thread.start()
    log.info("demo site serving", extra={"url": base, "files": len(pages)})
    return DemoSite(base, root, pages, server, thread)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "veille-demo"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        log.debug("demo site request", extra={"url": self.path, "status": args[1:2]})

    def do_HEAD(self) -> None:  # noqa: N802
        self._reply(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._reply(head=False)

    def _reply(self, *, head: bool) -> None:
        page = self.server.pages.get(unquote(urlsplit(self.path).path))  # type: ignore[attr-defined]
        if page is None:
            self._send(404, b"not found\n", "text/plain; charset=utf-8", head=head)
            return
        last_modified = format_datetime(self.server.last_modified, usegmt=True)  # type: ignore[attr-defined]
        headers = {"ETag": page.etag, "Last-Modified": last_modified}
        if self._not_modified(page.etag):
            self._send(304, b"", None, head=True, headers=headers)
            return
        self._send(200, page.body, page.content_type, head=head, headers=headers)

    def _not_modified(self, etag: str) -> bool:
        match = self.headers.get("If-None-Match")
        if match is not None:
            return match.strip() == "*" or etag in [m.strip() for m in match.split(",")]
        since = self.headers.get("If-Modified-Since")
        if since is None:
            return False
        try:
            return parsedate_to_datetime(since) >= self.server.last_modified  # type: ignore[attr-defined]
        except (TypeError, ValueError):
            return False

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str | None,
        *,
        head: bool,
        headers: dict[str, str] | None = None,
    ) -> None:
        try:
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
