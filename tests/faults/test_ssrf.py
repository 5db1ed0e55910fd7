"""SSRF: every spelling of a loopback, private, link-local or metadata address is refused
before any connection, wherever a URL comes from: a source, a redirect, an article link of a
feed (RSS, JSON Feed), a listing page (its links and its advertised feed), a sitemap.

A canary listener on 127.0.0.2 counts every connection it gets: it must get none. The healthy
server on 127.0.0.1 is in VEILLE_ALLOW_NETWORKS (127.0.0.1/32 only), so allowed networks
still work in the same runs.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlmodel import select

from tests.faults import zoo as z
from veille.errors import FetchError
from veille.fetch import Fetcher
from veille.pipeline import pull
from veille.settings import Settings
from veille.store import Item, Source, open_store, session_scope
from veille.types import SourceSpec

# Hosts that all mean 127.0.0.2 (the canary); {port} is filled in.
CANARY_SPELLINGS = [
    "127.0.0.2",
    "2130706434",  # decimal
    "0x7f000002",  # hex
    "0x7f.0.0.2",
    "0177.0.0.2",  # octal
    "0177.0.0.02",
    "127.2",  # short forms
    "127.0.2",
    "127.0.0.2.",  # trailing dot
    "127\u30020\u30020\u30022",  # ideographic full stops
    "127\uff0e0\uff0e0\uff0e2",  # full-width full stops
    "\uff11\uff12\uff17.0.0.2",  # full-width digits
    "[::ffff:127.0.0.2]",  # IPv4-mapped
    "[::ffff:7f00:2]",
    "[::127.0.0.2]",  # IPv4-compatible
    "[64:ff9b::7f00:2]",  # NAT64
    "[2002:7f00:2::]",  # 6to4
    "[::ffff:0:7f00:2]",  # SIIT
]
# Other forbidden places (nothing listens there: refused by the guard, not by the network).
OTHER_FORBIDDEN = [
    "169.254.169.254",  # cloud metadata
    "[64:ff9b::a9fe:a9fe]",  # metadata through NAT64
    "2852039166",  # metadata, decimal
    "10.0.0.1",
    "192.168.1.1",
    "172.16.0.1",
    "100.64.0.1",
    "0.0.0.0",
    "0",
    "[::]",
    "[::1]",
    "[fe80::1]",
    "[fc00::1]",
    "[fec0::1]",  # site-local
]


@pytest.fixture
def canary():
    listener = z.Zoo("127.0.0.2")
    listener.add(
        "/", z.response(b"<rss version='2.0'><channel><title>gotcha</title></channel></rss>")
    )
    yield listener
    listener.close()


@pytest.fixture
def allowed():
    server = z.Zoo("127.0.0.1")
    yield server
    server.close()


def _url(host: str, port: int, path: str = "/") -> str:
    return f"http://{host}:{port}{path}"


def _get_all(settings: Settings, urls: list[str]) -> list[BaseException | None]:
    from veille.pipeline import fetch_limits

    async def go() -> list[BaseException | None]:
        async with Fetcher(fetch_limits(settings)) as fetcher:
            out: list[BaseException | None] = []
            for url in urls:
                try:
                    await fetcher.get(url)
                    out.append(None)
                except (FetchError, ValueError) as exc:
                    out.append(exc)
            return out

    return asyncio.run(go())


def _settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"allow_networks": ["127.0.0.1/32"], "retries": 0, "total_timeout": 5}
    )


def test_every_spelling_is_refused_directly_and_after_a_redirect(settings, canary, allowed) -> None:  # noqa: ANN001
    st = _settings(settings)
    targets = [_url(h, canary.port) for h in CANARY_SPELLINGS] + [
        _url(h, 80) for h in OTHER_FORBIDDEN
    ]
    redirects = [
        allowed.add(f"/hop{i}", z.response(status="302 Found", headers={"Location": t}))
        for i, t in enumerate(targets)
    ]
    results = _get_all(st, targets + redirects)
    report = "\n".join(f"{u}: {r}" for u, r in zip(targets + redirects, results, strict=True))
    print(report)
    assert all(r is not None for r in results), report
    for url, result in zip(targets + redirects, results, strict=True):
        assert "refused" in str(result) or "invalid" in str(result), f"{url}: {result}"
    assert canary.connections == 0, report
    # Allowed networks still work.
    ok = allowed.add("/ok.xml", z.response(b"<rss version='2.0'><channel/></rss>"))
    assert _get_all(st, [ok]) == [None]
    print(f"{len(targets)} spellings x direct and redirect: {len(results)} refused, 0 connections")


def test_every_place_a_url_comes_from_is_guarded(settings, canary, allowed) -> None:  # noqa: ANN001
    """One pull: sources, article links of RSS and JSON feeds, a listing page's links and
    advertised feed, a sitemap; articles fetched (VEILLE_FETCH_ARTICLES on)."""
    st = _settings(settings).model_copy(update={"fetch_articles": True, "extract_workers": 1})
    spelled = [_url(h, canary.port, f"/a{i}") for i, h in enumerate(CANARY_SPELLINGS)]
    rss_items = "".join(
        f"<item><title>Article {i}</title><link>{u}</link><guid>r{i}</guid>"
        "<description>assez de texte pour un article</description></item>"
        for i, u in enumerate(spelled)
    )
    rss = f"<rss version='2.0'><channel><title>t</title>{rss_items}</channel></rss>".encode()
    jsonfeed = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "j",
            "items": [{"id": f"j{i}", "url": u, "title": f"J {i}"} for i, u in enumerate(spelled)],
        }
    ).encode()
    links = "".join(
        f"<h2><a href='{u}'>Un titre assez long numéro {i}</a></h2>" for i, u in enumerate(spelled)
    )
    listing = (
        f"<html><head><link rel='alternate' type='application/rss+xml' href='{spelled[1]}'>"
        f"</head><body>{links}</body></html>"
    ).encode()
    sitemap = (
        "<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
        + "".join(f"<url><loc>{u}</loc></url>" for u in spelled)
        + "</urlset>"
    ).encode()
    html = {"Content-Type": "text/html"}
    allowed.add("/robots.txt", z.not_found)
    specs = [
        SourceSpec(name="rss", url=allowed.add("/rss.xml", z.response(rss))),
        SourceSpec(
            name="json",
            url=allowed.add(
                "/feed.json",
                z.response(jsonfeed, headers={"Content-Type": "application/feed+json"}),
            ),
        ),
        SourceSpec(
            name="listing", url=allowed.add("/list", z.response(listing, headers=html)), kind="page"
        ),
        SourceSpec(
            name="selected",
            url=allowed.add("/sel", z.response(listing.replace(b"alternate", b"x"), headers=html)),
            kind="page",
            selector="h2 a",
        ),
        SourceSpec(
            name="sitemap",
            url=allowed.add(
                "/sitemap.xml", z.response(sitemap, headers={"Content-Type": "application/xml"})
            ),
            kind="sitemap",
        ),
        *(SourceSpec(name=f"source {i}", url=u) for i, u in enumerate(spelled)),
    ]
    engine = open_store(st.db_url)
    try:
        report = pull(engine, st, specs=tuple(specs), force=True)
        with session_scope(engine) as s:
            rows = {r.name: r for r in s.exec(select(Source)).all()}
            items = s.exec(select(Item)).all()
    finally:
        engine.dispose()
    outcomes = {o.name: o for o in report.outcomes}
    for i in range(len(spelled)):
        assert outcomes[f"source {i}"].status == "failed", outcomes[f"source {i}"]
    assert outcomes["rss"].status == "ok" and outcomes["json"].status == "ok"
    assert "refused" in (rows["listing"].warning or ""), rows["listing"].warning
    assert len(items) >= 2 * len(spelled)  # the feeds' items are kept, with their feed text
    assert not any(i.extraction == "article" for i in items if i.url in spelled)
    assert canary.connections == 0, f"{canary.connections} connections reached the canary"
    print(f"{len(specs)} sources, {len(items)} items, 0 connections to the canary")
