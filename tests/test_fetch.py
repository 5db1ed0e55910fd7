"""The polite fetcher against a real local HTTP server whose behaviour each test programs."""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
import time
import zlib
from collections.abc import Coroutine
from typing import Any

import brotli
import pytest

from tests.conftest import shared_path
from tests.localweb import LocalWeb, Reply, Request
from veille.errors import FetchError
from veille.fetch import PAGE_ACCEPT, AddressGuard, Fetcher, FetchLimits, Response, retry_after
from veille.fetch.network import AsyncioBackend

LOOPBACK = ("127.0.0.0/8",)


def _limits(**overrides: Any) -> FetchLimits:
    base: dict[str, Any] = dict(
        user_agent="veille-test/1 (+https://example.org)",
        allow_networks=LOOPBACK,
        retries=1,
        connect_timeout=2,
        read_timeout=2,
        total_timeout=5,
        backoff=0.05,
    )
    return FetchLimits(**{**base, **overrides})


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


def get(url: str, limits: FetchLimits | None = None, **kwargs: Any) -> Response:
    async def go() -> Response:
        async with Fetcher(limits or _limits()) as fetcher:
            return await fetcher.get(url, **kwargs)

    return _run(go())


def test_conditional_get_with_etag_and_last_modified(web: LocalWeb) -> None:
    lm = "Mon, 23 Nov 2026 08:00:00 GMT"
    url = web.route("/feed.xml", b"<rss/>", headers={"ETag": '"v1"', "Last-Modified": lm})
    first = get(url)
    assert first.status == 200 and first.body == b"<rss/>"
    assert (first.etag, first.last_modified) == ('"v1"', lm)
    again = get(url, etag=first.etag, last_modified=first.last_modified)
    assert again.not_modified and again.body == b""
    sent = web.hits("/feed.xml")[-1].headers
    assert sent["if-none-match"] == '"v1"' and sent["if-modified-since"] == lm
    assert sent["user-agent"].startswith("veille-test/1")


def test_server_error_then_success_is_retried(web: LocalWeb) -> None:
    replies = iter([Reply(status=500), Reply(status=200, body=b"ok")])
    url = web.route("/flaky", handler=lambda req: next(replies))
    response = get(url)
    assert response.status == 200 and response.body == b"ok"
    assert len(web.hits("/flaky")) == 2


def test_persistent_server_error_comes_back_as_a_response(web: LocalWeb) -> None:
    url = web.route("/down", status=502, body=b"bad gateway")
    response = get(url, _limits(retries=2))
    assert response.status == 502 and not response.ok
    assert response.error() == "HTTP 502 Bad Gateway"
    assert len(web.hits("/down")) == 3


def test_short_retry_after_is_waited_for(web: LocalWeb) -> None:
    replies = iter([Reply(status=429, headers={"Retry-After": "1"}), Reply(body=b"ok")])
    url = web.route("/busy", handler=lambda req: next(replies))
    started = time.monotonic()
    assert get(url).body == b"ok"
    assert time.monotonic() - started >= 1.0


def test_long_retry_after_is_handed_back(web: LocalWeb) -> None:
    url = web.route("/later", status=503, headers={"Retry-After": "3600"})
    response = get(url)
    assert response.status == 503 and response.retry_after == 3600
    assert len(web.hits("/later")) == 1  # not retried within the run


def test_retry_after_parsing() -> None:
    assert retry_after("120") == 120
    assert retry_after(None) is None and retry_after("soon") is None
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    in_a_minute = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60))
    assert (retry_after(in_a_minute) or 0) > 50


def test_slow_drip_hits_the_total_timeout(web: LocalWeb) -> None:
    url = web.route("/drip", handler=lambda req: Reply(body=b"x" * 640, drip=0.3))
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out after 1 s"):
        get(url, _limits(total_timeout=1, read_timeout=5))
    assert time.monotonic() - started < 2.5


def test_silent_server_hits_the_read_timeout(web: LocalWeb) -> None:
    url = web.route("/mute", handler=lambda req: Reply(body=b"late", delay=1.5))
    with pytest.raises(FetchError, match="read timed out"):
        get(url, _limits(read_timeout=0.5, retries=0))


def test_a_timeout_is_retried_at_once_other_failures_after_a_backoff(web: LocalWeb) -> None:
    """A timeout has waited already: its retry goes at once. A 500 waits the backoff."""
    served: list[float] = []

    def first_mute(req: Request) -> Reply:
        served.append(time.monotonic())
        return Reply(body=b"<rss/>", delay=1.5 if len(served) == 1 else 0)

    url = web.route("/first-mute", handler=first_mute)
    assert get(url, _limits(read_timeout=0.5, backoff=2.0)).body == b"<rss/>"
    assert len(served) == 2 and served[1] - served[0] < 1.2  # 0.5 s timeout, no 2 s backoff
    failed: list[float] = []

    def first_fails(req: Request) -> Reply:
        failed.append(time.monotonic())
        return Reply(status=500 if len(failed) == 1 else 200, body=b"<rss/>")

    url = web.route("/first-fails", handler=first_fails)
    assert get(url, _limits(backoff=0.4)).status == 200
    assert len(failed) == 2 and failed[1] - failed[0] >= 0.4


def test_redirects_are_followed_and_permanent_ones_reported(web: LocalWeb) -> None:
    web.route("/old", status=301, headers={"Location": "/mid"})
    web.route("/mid", status=308, headers={"Location": "/new"})
    web.route("/new", b"<rss/>")
    web.route("/tmp", status=302, headers={"Location": "/new"})
    moved = get(web.url("/old"))
    assert moved.body == b"<rss/>" and moved.moved_to == web.url("/new")
    assert moved.final_url == web.url("/new")
    temporary = get(web.url("/tmp"))
    assert temporary.status == 200 and temporary.moved_to is None


def test_redirect_loop_and_too_many_redirects(web: LocalWeb) -> None:
    web.route("/a", status=302, headers={"Location": "/b"})
    web.route("/b", status=302, headers={"Location": "/a"})
    with pytest.raises(FetchError, match="redirect loop"):
        get(web.url("/a"))
    for i in range(4):
        web.route(f"/hop{i}", status=301, headers={"Location": f"/hop{i + 1}"})
    web.route("/hop4", b"end")
    with pytest.raises(FetchError, match="too many redirects"):
        get(web.url("/hop0"), _limits(max_redirects=3))
    assert get(web.url("/hop0"), _limits(max_redirects=4)).body == b"end"


def test_redirect_to_another_scheme_is_refused(web: LocalWeb) -> None:
    url = web.route("/ftp", status=302, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(FetchError, match="unsupported URL scheme"):
        get(url)
    broken = web.route("/v6", status=302, headers={"Location": "http://[invalid/"})
    with pytest.raises(FetchError, match="invalid redirect to 'http://\\[invalid/'"):
        get(broken)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
def test_compressed_bodies_are_decoded(web: LocalWeb, encoding: str) -> None:
    body = "<rss><channel><title>Café</title></channel></rss>".encode() * 200
    packed = {"gzip": gzip.compress, "deflate": zlib.compress, "br": brotli.compress}[encoding]
    url = web.route("/c", packed(body), headers={"Content-Encoding": encoding})
    response = get(url)
    assert response.body == body
    assert "br" in web.hits("/c")[0].headers["accept-encoding"]


def test_oversized_bodies_are_refused(web: LocalWeb) -> None:
    announced = web.route("/big", b"x" * 50_000)
    with pytest.raises(FetchError, match="body larger than 10000 bytes"):
        get(announced, max_bytes=10_000)

    # No Content-Length to trust: the body is counted while it is read.
    unannounced = web.route("/stream", handler=lambda req: Reply(body=b"y" * 50_000, length=False))
    with pytest.raises(FetchError, match="body larger than 10000 bytes"):
        get(unannounced, max_bytes=10_000)
    assert len(get(unannounced, max_bytes=60_000).body) == 50_000


def test_oversized_response_headers_are_refused(web: LocalWeb) -> None:
    one_big = web.route("/one", b"ok", headers={"X-Padding": "a" * 100_000})
    with pytest.raises(FetchError, match="longer than 16384 bytes"):
        get(one_big)
    many = web.route("/many", b"ok", headers={f"X-Pad-{i}": "b" * 8000 for i in range(10)})
    with pytest.raises(FetchError, match="larger than 65536 bytes"):
        get(many)
    fine = web.route("/fine", b"ok", headers={"X-Pad": "c" * 8000})
    assert get(fine).body == b"ok"


def test_gzip_bomb_is_stopped_at_the_cap(web: LocalWeb) -> None:
    bomb = shared_path("corpora", "hostile", "xml", "generated", "rss_gzip_bomb_64MiB.xml.gz")
    url = web.route("/bomb", bomb.read_bytes(), headers={"Content-Encoding": "gzip"})
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(FetchError, match="body larger than 2000000 bytes"):
        get(url, max_bytes=2_000_000)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 32  # never the 64 MiB the bomb holds


def test_address_guard_refuses_private_ranges() -> None:
    import ipaddress

    guard = AddressGuard()
    for address in [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.1",
        "172.16.5.4",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
        # IPv6 forms that embed a private IPv4 address, and site-local
        "::127.0.0.1",
        "64:ff9b::7f00:1",
        "64:ff9b::a9fe:a9fe",
        "64:ff9b:1::7f00:1",
        "2002:7f00:1::",
        "2002:a9fe:a9fe::1",
        "::ffff:0:7f00:1",
        "fec0::1",
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    ]:
        assert guard.refused(ipaddress.ip_address(address)), address
    for address in [
        "93.184.216.34",
        "2606:2800:220:1:248:1893:25c8:1946",
        "64:ff9b::5db8:d822",  # NAT64 of 93.184.216.34: public
        "2002:5db8:d822::1",  # 6to4 of a public address
    ]:
        assert not guard.refused(ipaddress.ip_address(address)), address
    assert not AddressGuard(["10.0.0.0/8"]).refused(ipaddress.ip_address("10.1.2.3"))


def test_loopback_refused_by_address_and_by_name_unless_allowed(web: LocalWeb) -> None:
    url = web.route("/f", b"ok")
    closed = _limits(allow_networks=())
    for target in (url, f"http://localhost:{web.port}/f"):
        with pytest.raises(FetchError, match="refused address 127.0.0.1"):
            get(target, closed)
    assert web.hits("/f") == []  # nothing ever reached the server
    assert get(url).body == b"ok"


def test_guard_holds_after_a_redirect(web: LocalWeb) -> None:
    # 127.0.0.1 is allowed, 127.0.0.2 (loopback too) is not: the hop must be refused.
    url = web.route("/out", status=302, headers={"Location": f"http://127.0.0.2:{web.port}/in"})
    web.route("/in", b"secret")
    with pytest.raises(FetchError, match="refused address 127.0.0.2"):
        get(url, _limits(allow_networks=("127.0.0.1/32",)))
    assert web.hits("/in") == []


def test_robots_txt_applies_to_pages_not_to_feeds(web: LocalWeb) -> None:
    web.route("/robots.txt", b"User-agent: *\nDisallow: /private/\nAllow: /private/ok\n")
    page = web.route("/private/page", b"<html></html>")
    web.route("/private/ok", b"<html>ok</html>")
    with pytest.raises(FetchError, match="refused by robots.txt"):
        get(page, robots=True, accept=PAGE_ACCEPT)
    assert get(web.url("/private/ok"), robots=True).body == b"<html>ok</html>"
    assert get(page).status == 200  # a feed fetch ignores robots.txt
    assert len(web.hits("/robots.txt")) == 2  # once per Fetcher (per run), per site


def test_robots_txt_missing_allows_and_unreachable_disallows(web: LocalWeb) -> None:
    page = web.route("/page", b"<html></html>")
    web.route("/robots.txt", status=404)
    assert get(page, robots=True).status == 200
    web.route("/robots.txt", status=503)
    with pytest.raises(FetchError, match=r"unreachable: robots.txt answered HTTP 503"):
        get(page, robots=True, limits=_limits(retries=0))


def test_per_host_concurrency_is_capped(web: LocalWeb) -> None:
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def slow(req: Request) -> Reply:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.15)
        with lock:
            state["now"] -= 1
        return Reply(body=b"ok")

    web.route("/slow", handler=slow)

    async def go() -> list[Response]:
        async with Fetcher(_limits(max_per_host=2)) as fetcher:
            return await asyncio.gather(*(fetcher.get(web.url("/slow")) for _ in range(6)))

    responses = _run(go())
    assert [r.status for r in responses] == [200] * 6
    assert state["peak"] == 2


def test_connections_are_kept_alive_per_host(web: LocalWeb) -> None:
    url = web.route("/k", b"ok")

    async def go() -> None:
        async with Fetcher(_limits(max_per_host=2)) as fetcher:
            for _ in range(3):
                await fetcher.get(url)
            await asyncio.gather(*(fetcher.get(url) for _ in range(6)))

    _run(go())
    assert len({hit.peer for hit in web.hits("/k")}) <= 2  # 9 GETs over max_per_host connections


def test_an_idle_connection_that_received_anything_is_not_reused() -> None:
    # asyncio reads sockets eagerly: bytes received while idle (a 408 before a hang-up) or the
    # hang-up itself must rule the connection out, else they would be read as the next response.
    async def go() -> list[bool]:
        with socket.create_server(("127.0.0.1", 0)) as listener:
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", listener.getsockname()[1])
            server, _ = listener.accept()
            seen = [stream.get_extra_info("is_readable")]
            server.sendall(b"HTTP/1.1 408 Request Timeout\r\n\r\n")
            await asyncio.sleep(0.05)
            seen.append(stream.get_extra_info("is_readable"))
            await stream.read(1024)
            seen.append(stream.get_extra_info("is_readable"))
            server.close()
            await asyncio.sleep(0.05)
            seen.append(stream.get_extra_info("is_readable"))
            await stream.aclose()
        return seen

    assert _run(go()) == [False, True, False, True]


def test_connection_refused_is_a_fetch_error() -> None:
    with pytest.raises(FetchError, match="cannot connect"):
        get("http://127.0.0.1:9/feed", _limits(retries=0))


def test_statuses_are_counted(web: LocalWeb) -> None:
    url = web.route("/s", b"x", headers={"ETag": '"1"'})

    async def go() -> dict[str, int]:
        async with Fetcher(_limits()) as fetcher:
            await fetcher.get(url)
            await fetcher.get(url, etag='"1"')
            return dict(fetcher.statuses)

    assert _run(go()) == {"200": 1, "304": 1}
