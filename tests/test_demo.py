"""The offline demo's bundled sites: served like a real web, readable by veille's own stages."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest

from veille.demo import SITE, DemoSite, expected_stories, expected_topics, render, serve_site
from veille.extract import extract_item
from veille.parse import parse_feed, parse_listing
from veille.sources import parse_sources
from veille.types import TOPICS

TODAY = date(2026, 3, 30)  # the day after the spring DST change: dates must still be right


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with serve_site(SITE, today=TODAY) as running:
        yield running


@pytest.fixture(scope="module")
def entries(site: DemoSite) -> dict[str, list]:
    """Every source's entries, read with veille's own parsers, by source name."""
    out: dict[str, list] = {}
    with httpx.Client() as client:
        for spec in parse_sources(site.text("/feeds.yaml")):
            resp = client.get(spec.url)
            resp.raise_for_status()
            if spec.kind == "page":
                listing = parse_listing(
                    resp.content, url=spec.url, headers=resp.headers, selector=spec.selector
                )
                assert listing.feeds == (), "the page source must not advertise a feed"
                out[spec.name] = list(listing.parsed.entries)
            else:
                out[spec.name] = list(
                    parse_feed(resp.content, url=spec.url, headers=resp.headers).entries
                )
    return out


def test_sources_file_is_valid_and_varied(site: DemoSite) -> None:
    specs = parse_sources(site.text("/feeds.yaml"))
    assert 6 <= len(specs) <= 8
    assert all(s.url.startswith(site.base_url + "/") for s in specs)
    kinds = Counter(s.kind for s in specs)
    assert kinds == {"feed": len(specs) - 1, "page": 1}
    assert [s.selector for s in specs if s.kind == "page"] == ["ul.actus h2 a"]
    assert Counter(s.language for s in specs)["en"] == 1
    formats = {site.pages[urlsplit(s.url).path].content_type.split(";")[0] for s in specs}
    assert formats == {"application/rss+xml", "application/atom+xml", "text/html"}


def test_every_article_is_listed_by_a_source_with_a_recent_date(entries: dict) -> None:
    listed = [urlsplit(e.url).path for es in entries.values() for e in es]
    assert sorted(listed) == sorted(expected_topics())
    feed_dates = [
        e.published for name, es in entries.items() if name != "L'Atelier Commun" for e in es
    ]
    assert all(e.title for es in entries.values() for e in es)
    paris = ZoneInfo("Europe/Paris")
    days = {(TODAY - d.astimezone(paris).date()).days for d in feed_dates}
    assert days <= {1, 2, 3, 4}, days


def test_every_page_extracts_as_an_article(site: DemoSite, entries: dict) -> None:
    languages = {s.name: s.language for s in parse_sources(site.text("/feeds.yaml"))}
    with httpx.Client() as client:
        for name, es in entries.items():
            for entry in es:
                page = client.get(entry.url)
                got = extract_item(
                    page.content,
                    url=entry.url,
                    title=entry.title,
                    http_charset=page.charset_encoding,
                )
                assert (got.kind, got.reason) == ("article", "ok"), entry.url
                assert got.lang == languages[name], entry.url
                assert 400 < len(got.text) < 4000, entry.url
                assert not {"Publicité", "cookies", "Mentions légales"} & set(got.text.split())


def test_topics_are_balanced_and_stories_are_shared(site: DemoSite) -> None:
    topics = expected_topics()
    assert 36 <= len(topics) <= 40
    counts = Counter(t for labels in topics.values() for t in labels or ["off_topic"])
    assert set(counts) == {*TOPICS, "off_topic"}
    assert all(8 <= n <= 14 for n in counts.values()), counts
    assert sum(len(labels) > 1 for labels in topics.values()) >= 4  # some multi-topic items
    stories = expected_stories()
    assert 3 <= len(stories) <= 4
    for paths in stories:
        assert all(p in topics for p in paths)
        assert len({p.split("/")[1] for p in paths}) == len(paths)  # told by different sources
        assert len({tuple(topics[p]) for p in paths}) == 1


def test_conditional_get_content_types_and_misses(site: DemoSite) -> None:
    url = site.url("/communes-rurales/rss.xml")
    first = httpx.get(url)
    assert first.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert first.headers["last-modified"].endswith(" GMT")
    by_etag = httpx.get(url, headers={"If-None-Match": first.headers["etag"]})
    by_date = httpx.get(url, headers={"If-Modified-Since": first.headers["last-modified"]})
    stale = httpx.get(url, headers={"If-None-Match": '"other"'})
    assert (by_etag.status_code, by_etag.content) == (304, b"")
    assert by_date.status_code == 304
    assert stale.status_code == 200 and stale.content == first.content
    head = httpx.head(site.url("/fil-ess/atom.xml"))
    assert head.headers["content-type"].startswith("application/atom+xml")
    assert head.content == b"" and int(head.headers["content-length"]) > 1000
    assert httpx.get(site.url("/nope.html")).status_code == 404
    assert httpx.get(site.base_url + "/../../pyproject.toml").status_code == 404
    assert b"{base}" not in first.content and b"{date" not in first.content


def test_render_fills_address_and_dates_in_local_time() -> None:
    text = (
        "{base}/a {date -1 07:05 rfc822} | {date -1 07:05 iso} | {date -2 23:30 fr} | "
        "{date -3 12:00 en}"
    )
    out = render(text, base="http://127.0.0.1:9", today=TODAY, tz=ZoneInfo("Europe/Paris"))
    assert out == (
        "http://127.0.0.1:9/a Sun, 29 Mar 2026 07:05:00 +0200 | "
        "2026-03-29T07:05:00+02:00 | 28 mars 2026 | 27 March 2026"
    )


def test_close_stops_serving() -> None:
    running = serve_site(SITE, today=TODAY - timedelta(days=10))
    url = running.url("/robots.txt")
    assert httpx.get(url).text.startswith("User-agent: *")
    running.close()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=2)


def test_the_real_pull_reads_every_source_then_gets_304s(
    site: DemoSite, settings, sqlite_engine
) -> None:  # noqa: ANN001
    from veille.pipeline import pull

    specs = parse_sources(site.text("/feeds.yaml"))
    first = pull(sqlite_engine, settings, specs=specs)
    assert (first.sources, first.failed, first.new_items) == (len(specs), 0, len(expected_topics()))
    again = pull(sqlite_engine, settings, specs=specs, force=True)
    assert (again.new_items, again.failed) == (0, 0)
    assert again.unchanged == len(specs)  # ETag / Last-Modified honoured by the demo server
