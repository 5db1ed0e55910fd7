"""The pull, end to end: real local HTTP server, real SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import select

from tests.conftest import shared_path
from tests.localweb import LocalWeb, Reply
from veille import pipeline
from veille.errors import ConfigError
from veille.settings import Settings
from veille.store import Item, Source, session_scope
from veille.store.sources import get_source
from veille.types import SourceSpec

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<link>https://site.example/</link>{items}</channel></rss>"""
ITEM = (
    "<item><title>{t}</title><link>https://site.example/{g}</link>"
    '<guid isPermaLink="false">{g}</guid></item>'
)


def _rss(*guids: str) -> bytes:
    return RSS.format(items="".join(ITEM.format(t=f"Titre {g}", g=g) for g in guids)).encode()


def _source(session, name: str) -> Source:  # noqa: ANN001
    found = get_source(session, name=name)
    assert found is not None
    return found


def _items(engine: Engine, name: str | None = None) -> list[Item]:
    with session_scope(engine) as s:
        query = select(Item).order_by(Item.id)
        if name:
            query = query.where(Item.source_id == _source(s, name).id)
        return list(s.exec(query))


def test_corpus_feeds_stored_once_then_only_conditional_requests(
    web: LocalWeb, engine: Engine, settings: Settings
) -> None:
    folder = shared_path("corpora", "feeds")
    index = json.loads((folder / "INDEX.json").read_text())
    specs = []
    for i, record in enumerate(index):
        web.route(
            f"/{i}.xml",
            (folder / record["file"]).read_bytes(),
            headers={"ETag": f'"v{i}"', "Content-Type": "application/rss+xml"},
        )
        specs.append(SourceSpec(name=record["file"], url=web.url(f"/{i}.xml")))
    report = pipeline.pull(engine, settings, specs=tuple(specs), now=NOW)
    expected = sum(r["items"] for r in index)
    broken = [r["file"] for r in index if not r["items"]]
    assert (report.sources, report.ok, report.failed) == (len(index), len(index) - 2, 2)
    assert report.new_items == expected == len(report.new_item_ids) == 977
    assert report.requests == {"200": len(index)}
    with session_scope(engine) as s:
        query = select(Source.name, func.count(Item.id)).join(Item).group_by(Source.name)
        counts = dict(s.exec(query).all())
        for record in index:
            assert counts.get(record["file"], 0) == record["items"], record["file"]
        for name in broken:
            assert "not a feed: an HTML page" in (_source(s, name).last_error or "")
    served = len(web.requests)
    again = pipeline.pull(engine, settings, specs=tuple(specs), force=True, now=NOW)
    assert (again.ok, again.unchanged, again.failed, again.new_items) == (0, len(index) - 2, 2, 0)
    assert again.requests == {"304": len(index) - 2, "200": 2}
    conditional = [r for r in web.requests[served:] if "if-none-match" in r.headers]
    assert len(conditional) == len(index) - 2
    assert len(_items(engine)) == 977


def test_item_fields_as_stored(web: LocalWeb, engine: Engine, settings: Settings) -> None:
    url = web.route(
        "/rss", (FIXTURES / "rss20.xml").read_bytes(), content_type="application/rss+xml"
    )
    spec = SourceSpec(name="Réseau", url=url)
    report = pipeline.pull(engine, settings, specs=(spec,), now=NOW)
    assert report.new_items == 3
    first, second, third = _items(engine)
    assert first.guid == "reseau-1234" and first.url.startswith("https://Reseau.Example.org/")
    assert first.canonical_url == "https://reseau.example.org/2026/11/epicerie-associative?id=42"
    assert first.feed_summary == "Les habitants ont repris le dernier commerce du bourg."
    assert first.feed_content.startswith("<p>Texte complet")  # the feed's HTML, as given
    assert first.published_at == datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
    assert first.authors == ["Anne Le Goff"] and first.categories == ["Commerce", "Ruralité"]
    assert first.image == "https://reseau.example.org/img/epicerie.jpg"
    assert first.first_seen_at == first.updated_at == NOW
    # Pages are not fetched here (fetch_articles off): the feed's own content is the text.
    assert first.extraction == "feed_content" and first.text.startswith("Texte complet")
    assert third.published_at == NOW  # no date in the feed: first seen
    assert second.guid == second.canonical_url


def test_a_failing_source_never_stops_the_others(
    web: LocalWeb, engine: Engine, settings: Settings
) -> None:
    web.route("/ok", _rss("a", "b"))
    web.route("/500", status=500)
    web.route("/drip", handler=lambda req: Reply(body=_rss("x") * 10, drip=0.5))
    web.route(
        "/html", b"<html><head><title>Maintenance</title></head></html>", content_type="text/html"
    )
    specs = tuple(
        SourceSpec(name=n, url=web.url(f"/{n}"), interval=3600)
        for n in ("ok", "500", "drip", "html")
    )
    settings = settings.model_copy(update={"total_timeout": 1.0})
    report = pipeline.pull(engine, settings, specs=specs, now=NOW)
    assert (report.ok, report.failed, report.new_items) == (1, 3, 2)
    with session_scope(engine) as s:
        assert _source(s, "ok").last_success_at == NOW and _source(s, "ok").last_error is None
        errors = {n: _source(s, n).last_error for n in ("500", "drip", "html")}
        broken = _source(s, "500")
        assert broken.consecutive_failures == 1 and broken.last_error_at == NOW
        assert broken.next_fetch_at == NOW + timedelta(hours=1)
    assert errors["500"].startswith("HTTP 500 Internal Server Error")
    assert errors["drip"].startswith("timed out after 1 s")
    assert errors["html"] == "not a feed: an HTML page (Maintenance)"
    # Failing again backs off exponentially; a success resets everything.
    later = NOW + timedelta(hours=1)
    pipeline.pull(engine, settings, specs=specs, names=("500",), now=later)
    with session_scope(engine) as s:
        assert _source(s, "500").consecutive_failures == 2
        assert _source(s, "500").next_fetch_at == later + timedelta(hours=2)
    web.route("/500", _rss("c"))
    pipeline.pull(engine, settings, specs=specs, names=("500",), force=True, now=later)
    with session_scope(engine) as s:
        fixed = _source(s, "500")
        assert (fixed.consecutive_failures, fixed.last_error) == (0, None)
        assert fixed.next_fetch_at == later + timedelta(hours=1)
    assert len(_items(engine)) == 3  # nothing stored was lost


@pytest.mark.parametrize(
    ("interval", "failures", "retry_after", "hours"),
    [
        (3600, 0, None, 1),
        (3600, 1, None, 1),
        (3600, 2, None, 2),
        (3600, 5, None, 16),
        (3600, 6, None, 24),  # capped at a day
        (3600, 40, None, 24),
        (7 * 86400, 3, None, 7 * 24),  # a weekly source never waits more than its interval x4
        (3600, 1, 5 * 3600, 5),  # Retry-After wins when longer
    ],
)
def test_next_fetch_schedule(
    interval: int, failures: int, retry_after: float | None, hours: int
) -> None:
    got = pipeline.next_fetch_at(NOW, interval, failures, retry_after)
    assert got == NOW + timedelta(hours=hours)


def test_retry_after_is_honoured_in_the_schedule(
    web: LocalWeb, sqlite_engine: Engine, settings: Settings
) -> None:
    url = web.route("/busy", status=429, headers={"Retry-After": "7200"})
    pipeline.pull(sqlite_engine, settings, specs=(SourceSpec(name="busy", url=url),), now=NOW)
    with session_scope(sqlite_engine) as s:
        assert _source(s, "busy").next_fetch_at == NOW + timedelta(hours=2)
        assert _source(s, "busy").last_error.startswith("HTTP 429")  # type: ignore[union-attr]


def test_only_due_sources_are_fetched(
    web: LocalWeb, sqlite_engine: Engine, settings: Settings
) -> None:
    url = web.route("/f", _rss("a"))
    spec = (SourceSpec(name="f", url=url, interval=3600),)
    pipeline.pull(sqlite_engine, settings, specs=spec, now=NOW)
    assert pipeline.pull(sqlite_engine, settings, specs=spec, now=NOW).sources == 0
    soon = NOW + timedelta(minutes=59)
    assert pipeline.pull(sqlite_engine, settings, specs=spec, now=soon).sources == 0
    assert (
        pipeline.pull(sqlite_engine, settings, specs=spec, now=NOW + timedelta(hours=1)).sources
        == 1
    )
    with pytest.raises(ConfigError, match="unknown source 'nope'"):
        pipeline.pull(sqlite_engine, settings, specs=spec, names=("nope",))


def test_new_entries_only_and_duplicates_in_one_feed(
    web: LocalWeb, sqlite_engine: Engine, settings: Settings
) -> None:
    url = web.route("/f", _rss("a", "b", "a"))
    spec = (SourceSpec(name="f", url=url),)
    assert pipeline.pull(sqlite_engine, settings, specs=spec, now=NOW).new_items == 2
    web.route("/f", _rss("c", "b", "a"))
    report = pipeline.pull(sqlite_engine, settings, specs=spec, force=True, now=NOW)
    assert report.new_items == 1
    assert [i.guid for i in _items(sqlite_engine)] == ["a", "b", "c"]


def test_permanent_redirect_moves_the_fetched_url(
    web: LocalWeb, sqlite_engine: Engine, settings: Settings
) -> None:
    old = web.route("/old", status=301, headers={"Location": "/new"})
    web.route("/new", _rss("a"), headers={"ETag": '"n1"'})
    spec = (SourceSpec(name="moved", url=old),)
    pipeline.pull(sqlite_engine, settings, specs=spec, now=NOW)
    with session_scope(sqlite_engine) as s:
        row = _source(s, "moved")
        assert row.fetch_state.get("url") == web.url("/new") and row.url == old
        assert "moved permanently" in (row.warning or "")
    report = pipeline.pull(sqlite_engine, settings, specs=spec, force=True, now=NOW)
    assert report.unchanged == 1 and len(web.hits("/old")) == 1  # straight to the new URL


def test_page_source_follows_its_advertised_feed(
    web: LocalWeb, sqlite_engine: Engine, settings: Settings
) -> None:
    page = web.route(
        "/blog", (FIXTURES / "listing_with_feed.html").read_bytes(), content_type="text/html"
    )
    web.route("/feed.xml", _rss("a", "b"), headers={"ETag": '"f1"'})
    spec = (SourceSpec(name="blog", url=page, kind="page"),)
    assert pipeline.pull(sqlite_engine, settings, specs=spec, now=NOW).new_items == 2
    with session_scope(sqlite_engine) as s:
        assert _source(s, "blog").fetch_state.get("feed_url") == web.url("/feed.xml")
    report = pipeline.pull(sqlite_engine, settings, specs=spec, force=True, now=NOW)
    assert report.unchanged == 1 and len(web.hits("/blog")) == 1
    web.route("/feed.xml", status=404)  # the feed disappears: back to reading the page
    pipeline.pull(sqlite_engine, settings, specs=spec, force=True, now=NOW)
    with session_scope(sqlite_engine) as s:
        assert "feed_url" not in _source(s, "blog").fetch_state


def test_page_source_article_links_and_robots(
    web: LocalWeb, sqlite_engine: Engine, settings: Settings
) -> None:
    web.route("/robots.txt", b"User-agent: *\nDisallow: /private/\n")
    page = web.route(
        "/actualites/",
        (FIXTURES / "listing.html").read_bytes(),
        content_type="text/html; charset=utf-8",
    )
    hidden = web.route("/private/news", (FIXTURES / "listing.html").read_bytes())
    specs = (
        SourceSpec(name="page", url=page, kind="page"),
        SourceSpec(name="hidden", url=hidden, kind="page"),
    )
    report = pipeline.pull(sqlite_engine, settings, specs=specs, now=NOW)
    assert (report.ok, report.failed, report.new_items) == (1, 1, 3)
    titles = {i.title for i in _items(sqlite_engine, "page")}
    assert "Rencontre nationale des tiers-lieux ruraux" in titles
    with session_scope(sqlite_engine) as s:
        assert "refused by robots.txt" in (_source(s, "hidden").last_error or "")
    assert web.hits("/private/news") == []


def test_sitemap_source_stores_new_urls_since_last_run(
    web: LocalWeb, sqlite_engine: Engine, settings: Settings
) -> None:
    body = (FIXTURES / "sitemap.xml").read_text()
    url = web.route("/sitemap.xml", body, content_type="application/xml")
    spec = (SourceSpec(name="ess", url=url, kind="sitemap"),)
    assert pipeline.pull(sqlite_engine, settings, specs=spec, now=NOW).new_items == 3
    extra = "<url><loc>https://ess.example.org/actualites/nouveau</loc></url></urlset>"
    web.route("/sitemap.xml", body.replace("</urlset>", extra), content_type="application/xml")
    report = pipeline.pull(sqlite_engine, settings, specs=spec, force=True, now=NOW)
    assert report.new_items == 1
    assert _items(sqlite_engine)[-1].url == "https://ess.example.org/actualites/nouveau"


def test_every_feedparser_test_file_in_one_pull(
    web: LocalWeb, sqlite_engine: Engine, settings: Settings
) -> None:
    folder = shared_path("corpora", "feedparser-tests")
    index = json.loads((folder / "INDEX.json").read_text())["files"]
    paths = [*index, "json/example.json"]
    specs = []
    for i, rel in enumerate(paths):
        headers = dict(index.get(rel, {}).get("headers") or {})
        headers.setdefault(
            "Content-Type", "application/json" if rel.endswith("json") else "text/xml"
        )
        # Content-Location headers point elsewhere on purpose; they only steer link resolution.
        web.route(f"/tests/{rel}", (folder / rel).read_bytes(), headers=headers)
        specs.append(SourceSpec(name=f"fp{i:04d}", url=web.url(f"/tests/{rel}")))
    fast = settings.model_copy(update={"max_per_host": 8})
    report = pipeline.pull(sqlite_engine, fast, specs=tuple(specs), now=NOW)
    assert report.sources == len(paths) == 2107
    assert report.ok + report.failed == report.sources and report.unchanged == 0
    # Most of these files test feed-level elements and have no entry: fewer items than files.
    assert report.ok > 2000 and report.new_items > 900
    with session_scope(sqlite_engine) as s:
        rows = list(s.exec(select(Source)))
        assert all(r.last_success_at == NOW or r.last_error for r in rows)
        failed = [r for r in rows if r.last_error]
        assert len(failed) == report.failed
        assert all("\n" not in r.last_error for r in failed)  # type: ignore[operator]


def test_hostile_sources_fail_or_yield_without_harm(
    web: LocalWeb, sqlite_engine: Engine, settings: Settings
) -> None:
    import resource

    folder = shared_path("corpora", "hostile", "xml")
    specs = []
    for i, path in enumerate(sorted(folder.glob("*/*.xml"))):
        web.route(f"/h{i}", path.read_bytes(), content_type="application/rss+xml")
        specs.append(SourceSpec(name=path.name, url=web.url(f"/h{i}")))
    bomb = (folder / "generated" / "rss_gzip_bomb_64MiB.xml.gz").read_bytes()
    web.route("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    specs.append(SourceSpec(name="bomb", url=web.url("/bomb")))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    small = settings.model_copy(update={"max_feed_bytes": 5_000_000})
    report = pipeline.pull(sqlite_engine, small, specs=tuple(specs), now=NOW)
    assert report.ok + report.failed == report.sources == len(specs)
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 200
    with session_scope(sqlite_engine) as s:
        assert "body larger than 5000000 bytes" in (_source(s, "bomb").last_error or "")
    for item in _items(sqlite_engine):
        text = item.title + item.feed_summary + item.feed_content
        assert "root:" not in text and len(text) < 200_000


def test_wrong_charset_gzip_and_json_feed_end_to_end(
    web: LocalWeb, sqlite_engine: Engine, settings: Settings
) -> None:
    web.route(
        "/latin",
        (FIXTURES / "latin1.xml").read_bytes(),
        content_type="application/rss+xml; charset=utf-8",
    )  # the header lies
    web.route(
        "/gz", handler=lambda req: Reply(body=(FIXTURES / "atom10.xml").read_bytes(), gzip=True)
    )
    web.route(
        "/json", (FIXTURES / "feed11.json").read_bytes(), content_type="application/feed+json"
    )
    specs = tuple(SourceSpec(name=n, url=web.url(f"/{n}")) for n in ("latin", "gz", "json"))
    report = pipeline.pull(sqlite_engine, settings, specs=specs, now=NOW)
    assert (report.ok, report.new_items) == (3, 5)
    assert [i.title for i in _items(sqlite_engine, "latin")] == ["Café coopératif"]
    assert len(_items(sqlite_engine, "gz")) == 2
    first = _items(sqlite_engine, "json")[0]
    assert first.canonical_url == "https://fabriques.example.org/journal/fablab-ouvert-le-jeudi"


def test_nul_and_lone_surrogates_are_stored_cleanly(
    web: LocalWeb, engine: Engine, settings: Settings
) -> None:
    body = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "x", "items": ['
        b'{"id": "1", "url": "https://ex.org/1", "title": "Caf\\u00e9\\u0000 \\ud800ok",'
        b' "content_text": "a\\u0000b", "tags": ["\\u0000"]}]}'
    )
    url = web.route("/json", body, content_type="application/feed+json")
    report = pipeline.pull(engine, settings, specs=(SourceSpec(name="j", url=url),), now=NOW)
    assert (report.ok, report.new_items) == (1, 1)
    (item,) = _items(engine)
    assert item.title == "Café ?ok" and item.feed_content == "ab" and item.categories == []
