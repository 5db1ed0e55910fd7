"""The synthetic web: N feed sources × M articles on many loopback addresses, in one process.

Source i lives on address 127.0.a.b (one per host, up to `hosts`, then sources share hosts)
at /s{i}/feed.xml, its articles at /s{i}/{j}.html. Every response waits `latency_ms`; a
`fail_share` of resources fails once per phase (the harness resets between tools), spread
evenly (one per block of 1/share resources, position and kind drawn from `seed`): a hang past
the client's timeout, a 500, or a 429 with Retry-After: 1. ETag and Last-Modified answer 304.

The server is a bare asyncio stream loop rather than an ASGI stack: it shares two cores with
the pipeline it measures, so each request must cost it microseconds. Run it as
`python -m bench.synthweb SPEC_JSON`; it prints {"port": P} when ready and exits when its
stdin closes (so it never outlives the harness). GET /__stats and /__reset are for the harness.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass
from email.utils import formatdate, parsedate_to_datetime
from html import escape
from pathlib import Path

from bench.corpus import ROOT, SHARED, Corpus

FAILURES = ("timeout", "500", "429")


@dataclass(frozen=True)
class WebSpec:
    sources: int
    items: int
    latency_ms: float = 80.0
    fail_share: float = 0.02
    hang_s: float = 30.0  # a "timeout" holds the connection this long, then closes it
    hosts: int = 300
    seed: int = 8
    light: bool = False  # small template pages instead of real ones (growth runs)
    shared: str = str(SHARED)


def address(host: int) -> str:
    return f"127.0.{1 + host // 250}.{1 + host % 250}"


def failure_plan(count: int, share: float, seed: int, ns: str) -> dict[int, str]:
    """Which of `count` resources fail, and how: exactly one per block of 1/share."""
    if share <= 0:
        return {}
    period = max(1, round(1 / share))
    plan = {}
    for block in range(0, count, period):
        rng = random.Random(f"{seed}:{ns}:{block}")
        key = block + rng.randrange(period)
        if key < count:
            plan[key] = FAILURES[rng.randrange(len(FAILURES))]
    return plan


class _Server:
    def __init__(self, spec: WebSpec) -> None:
        self.spec = spec
        self.corpus = Corpus(Path(spec.shared), light=spec.light)
        self.now = time.time()
        self.modified_at = int(self.now) - 3600  # whole seconds, as HTTP dates carry
        self.last_modified = formatdate(self.modified_at, usegmt=True)
        self.plans = {
            "feed": failure_plan(spec.sources, spec.fail_share, spec.seed, "feed"),
            "article": failure_plan(spec.sources * spec.items, spec.fail_share, spec.seed, "a"),
        }
        self.port = 0
        self.feeds: list[bytes] = []
        self.reset()

    def reset(self) -> None:
        self.failed: set[tuple[str, int]] = set()
        self.served: set[int] = set()
        self.counts: dict[str, int] = {}

    def base(self, i: int) -> str:
        return f"http://{address(i % self.spec.hosts)}:{self.port}/s{i}"

    def render_feeds(self) -> None:
        spec, out = self.spec, []
        for i in range(spec.sources):
            parts = [
                '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
                f"<title>Source synthétique {i}</title><link>{self.base(i)}/</link>",
                "<description>Banc d'essai de veille</description><language>fr</language>",
            ]
            for j in range(spec.items):
                k = i * spec.items + j
                item, url = self.corpus.feed_item(k), f"{self.base(i)}/{j}.html"
                date = formatdate(self.now - 3600 - (k % 2880) * 60, usegmt=True)
                parts.append(
                    f"<item><title>{escape(item.title)}</title><link>{url}</link>"
                    f'<guid isPermaLink="true">{url}</guid><pubDate>{date}</pubDate>'
                    f"<description>{escape(item.description)}</description></item>"
                )
            parts.append("</channel></rss>")
            out.append("\n".join(parts).encode())
        self.feeds = out

    def count(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

    def route(self, path: str, host: int) -> tuple[str, int, str] | None:
        """(kind, key, content type) of a path served on this host, else None."""
        parts = path.split("?", 1)[0].strip("/").split("/")
        if len(parts) != 2 or not parts[0].startswith("s") or not parts[0][1:].isdigit():
            return None
        i = int(parts[0][1:])
        if i >= self.spec.sources or i % self.spec.hosts != host:
            return None
        if parts[1] == "feed.xml":
            return "feed", i, "application/rss+xml; charset=utf-8"
        stem = parts[1].removesuffix(".html")
        if stem.isdigit() and int(stem) < self.spec.items and parts[1].endswith(".html"):
            return "article", i * self.spec.items + int(stem), "text/html; charset=utf-8"
        return None

    def not_modified(self, headers: dict[str, str], etag: str) -> bool:
        if "if-none-match" in headers:
            return etag in headers["if-none-match"]
        since = headers.get("if-modified-since")
        if not since:
            return False
        try:
            return parsedate_to_datetime(since).timestamp() >= self.modified_at
        except (TypeError, ValueError):
            return False

    async def respond(self, writer: asyncio.StreamWriter, path: str, headers: dict, host: int):
        """Write one response; return False when the connection must close."""
        if path in ("/__stats", "/__reset"):
            if path == "/__reset":
                self.reset()
            body = json.dumps({"counts": self.counts, "cpu_s": time.process_time()}).encode()
            return _write(writer, 200, body, {"Content-Type": "application/json"})
        found = self.route(path, host)
        await asyncio.sleep(self.spec.latency_ms / 1000)
        if found is None:
            self.count("other 404")
            return _write(writer, 404, b"not found", {})
        kind, key, ctype = found
        failure = self.plans[kind].get(key)
        if failure and (kind, key) not in self.failed:
            self.failed.add((kind, key))
            self.count(f"{kind} {failure}")
            if failure == "timeout":
                await asyncio.sleep(self.spec.hang_s)
                return False
            extra = {"Retry-After": "1"} if failure == "429" else {}
            return _write(writer, int(failure), b"try again later", extra)
        etag = f'"{kind[0]}{key}-{self.spec.seed}"'
        meta = {"ETag": etag, "Last-Modified": self.last_modified}
        if self.not_modified(headers, etag):
            self.count(f"{kind} 304")
            return _write(writer, 304, b"", meta)
        if kind == "article":
            if key in self.served:
                self.count("article refetch")
            self.served.add(key)
        self.count(f"{kind} 200")
        body = self.feeds[key] if kind == "feed" else self.corpus.article_body(key)
        return _write(writer, 200, body, {"Content-Type": ctype, **meta})

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: int):
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                line, *rest = head.split("\r\n")
                _method, path, version = line.split(" ", 2)
                headers = {}
                for h in rest:
                    name, sep, value = h.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                keep = await self.respond(writer, path, headers, host)
                await writer.drain()
                if not keep or headers.get("connection", "").lower() == "close":
                    break
                if version.strip() == "HTTP/1.0":
                    break
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
            ValueError,
        ):
            pass
        finally:
            writer.close()

    async def serve(self) -> None:
        servers = []
        for attempt in range(20):
            port = 0 if attempt == 0 else 20000 + random.randrange(30000)
            try:
                first = await asyncio.start_server(
                    lambda r, w: self.handle(r, w, 0), address(0), port, backlog=512
                )
                self.port = first.sockets[0].getsockname()[1]
                servers = [first]
                for h in range(1, min(self.spec.hosts, self.spec.sources)):
                    servers.append(
                        await asyncio.start_server(
                            lambda r, w, h=h: self.handle(r, w, h),
                            address(h),
                            self.port,
                            backlog=512,
                        )
                    )
                break
            except OSError:
                for s in servers:
                    s.close()
                servers = []
        if not servers:
            raise OSError("could not bind the same port on every loopback address")
        self.render_feeds()
        print(json.dumps({"port": self.port}), flush=True)
        await asyncio.Event().wait()


def _write(writer: asyncio.StreamWriter, status: int, body: bytes, headers: dict) -> bool:
    reason = {
        200: "OK",
        304: "Not Modified",
        404: "Not Found",
        429: "Too Many Requests",
        500: "Internal Server Error",
    }[status]
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
    return True


class SynthWeb:
    """Starts the server process and speaks to it; a context manager."""

    def __init__(self, spec: WebSpec) -> None:
        self.spec = spec
        self.port = 0
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> SynthWeb:
        cmd = [sys.executable, "-m", "bench.synthweb", json.dumps(asdict(self.spec))]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.__exit__()
            raise RuntimeError(f"synthetic web failed to start (exit {self.proc.returncode})")
        self.port = json.loads(line)["port"]
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None and self.proc.stdout is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc.stdout.close()

    def feed_url(self, i: int) -> str:
        return f"http://{address(i % self.spec.hosts)}:{self.port}/s{i}/feed.xml"

    def feed_urls(self, count: int | None = None) -> list[str]:
        return [self.feed_url(i) for i in range(count or self.spec.sources)]

    def _control(self, path: str) -> dict:
        with urllib.request.urlopen(f"http://{address(0)}:{self.port}{path}", timeout=10) as r:
            return json.loads(r.read())

    def stats(self) -> dict:
        """{"counts": {"feed 200": n, "article 304": n, "article timeout": n, …}, "cpu_s": s}"""
        return self._control("/__stats")

    def reset(self) -> None:
        """Forget counts, transient failures already served and articles already served."""
        self._control("/__reset")


def _main() -> None:
    spec = WebSpec(**json.loads(sys.argv[1]))
    # Exit when the harness closes our stdin (or dies): the server never outlives it.
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    asyncio.run(_Server(spec).serve())


if __name__ == "__main__":
    _main()
