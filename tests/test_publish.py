"""The web archive and the output feeds: written, valid by the Atom/RSS/JSON Feed rules, stable."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import feedparser
import lxml.html
from lxml import etree

from tests.fixtures.digest.seed import seed_items
from veille.digest import issue as issues
from veille.publish import publish
from veille.store import session_scope

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
BASE = "https://veille.example.org"
ATOM = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
ID = re.compile(r"^(urn:uuid:[0-9a-f-]{36}|https://veille\.example\.org/\S+)$")


def build_and_publish(engine, settings, folder: Path):  # noqa: ANN001, ANN202
    seed_items(engine, NOW)
    for n, when in enumerate((NOW - timedelta(hours=7), NOW)):  # two issues, two days
        issues.build(engine, settings=settings, now=when, day=date(2026, 11, 24 + n))
    with session_scope(engine) as s:
        return publish(s, folder=folder, base_url=BASE, lang="fr", tz="Europe/Paris", now=NOW)


def check_atom(path: Path, self_url: str) -> etree._Element:
    root = etree.fromstring(path.read_bytes())
    assert root.tag == f"{ATOM}feed"
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "fr"
    assert ID.match(root.findtext(f"{ATOM}id"))
    assert root.findtext(f"{ATOM}title") and RFC3339.match(root.findtext(f"{ATOM}updated"))
    assert root.findtext(f"{ATOM}author/{ATOM}name") == "Veille"
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
    assert links["self"] == self_url and links["alternate"].startswith(BASE)
    ids = [e.findtext(f"{ATOM}id") for e in root.findall(f"{ATOM}entry")]
    assert len(ids) == len(set(ids))
    for entry in root.findall(f"{ATOM}entry"):
        assert ID.match(entry.findtext(f"{ATOM}id")) and entry.findtext(f"{ATOM}title")
        assert RFC3339.match(entry.findtext(f"{ATOM}updated"))
        assert entry.find(f"{ATOM}content").get("type") == "html"
        for link in entry.findall(f"{ATOM}link"):
            assert link.get("href").startswith(("https://", "http://"))
    return root


def test_archive_and_feeds_are_written_and_valid(engine, settings, tmp_path) -> None:  # noqa: ANN001
    folder = tmp_path / "digests"
    report = build_and_publish(engine, settings, folder)
    assert report.issues == 2 and report.unchanged == 0
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {
        "index.html",
        "2026-11-24.html",
        "2026-11-25.html",
        "topics/social_innovation.html",
        "feeds/all.atom",
        "feeds/all.rss",
        "feeds/all.json",
        "feeds/open_collaboration.atom",
        "feeds/digests.atom",
        "feeds/digests.rss",
    } <= names
    assert not any(n.endswith(".tmp") for n in names)
    index = lxml.html.fromstring((folder / "index.html").read_bytes())
    assert [a.get("href") for a in index.cssselect("ul.issues a")] == [
        "2026-11-25.html",
        "2026-11-24.html",
    ]
    page = lxml.html.fromstring((folder / "2026-11-24.html").read_bytes())
    assert page.cssselect('a[href="2026-11-25.html"]') and not page.cssselect("script")

    root = check_atom(folder / "feeds" / "all.atom", f"{BASE}/digests/feeds/all.atom")
    parsed = feedparser.parse((folder / "feeds" / "all.atom").read_bytes())
    assert not parsed.bozo and parsed.feed.language == "fr"
    titles = [e.title for e in parsed.entries]
    assert "Article déjà vu avant le dernier numéro" in titles  # feeds list recent stories
    assert "Saint-Aubin : l'épicerie sauvée par ses clients" not in titles  # one per story
    assert "Le prix de l'essence en hausse" not in titles and len(root) > 10
    epicerie = next(e for e in parsed.entries if e.title.startswith("À Saint-Aubin"))
    assert epicerie.link == "https://territoires.example.org/epicerie-saint-aubin"
    assert "Aussi chez Ouest-France" in epicerie.content[0].value
    assert [t.term for t in epicerie.tags] == ["social_innovation", "collaborative_consumption"]
    topic = feedparser.parse((folder / "feeds" / "open_collaboration.atom").read_bytes())
    assert {e.title for e in topic.entries} == {
        "Cartopartie : 300 bénévoles cartographient les rampes d'accès de Lyon",
        "Open data: a toolkit for small towns",
        "Budget participatif : Grenoble ouvre sa sixième édition",
        "Tiers-lieux : le réseau publie son guide de documentation",
    }
    check_atom(folder / "feeds" / "digests.atom", f"{BASE}/digests/feeds/digests.atom")
    daily = feedparser.parse((folder / "feeds" / "digests.atom").read_bytes())
    assert [e.link for e in daily.entries] == [
        f"{BASE}/digests/2026-11-25.html",
        f"{BASE}/digests/2026-11-24.html",
    ]
    assert daily.entries[0].title == "Veille du 25 novembre 2026\u00a0: 5 articles"

    rss = etree.fromstring((folder / "feeds" / "all.rss").read_bytes())
    channel = rss.find("channel")
    assert rss.get("version") == "2.0" and channel.findtext("language") == "fr"
    assert channel.findtext("link").startswith(BASE) and channel.findtext("description")
    self_link = channel.find(f"{ATOM}link")
    assert (self_link.get("rel"), self_link.get("href"), self_link.get("type")) == (
        "self",
        f"{BASE}/digests/feeds/all.rss",
        "application/rss+xml",
    )
    for item in channel.findall("item"):
        assert item.find("guid").get("isPermaLink") == "false"
        assert parsedate_to_datetime(item.findtext("pubDate")).tzinfo is not None
    assert not feedparser.parse((folder / "feeds" / "all.rss").read_bytes()).bozo

    jf = json.loads((folder / "feeds" / "all.json").read_text(encoding="utf-8"))
    assert jf["version"] == "https://jsonfeed.org/version/1.1"
    assert jf["feed_url"] == f"{BASE}/digests/feeds/all.json" and jf["language"] == "fr"
    assert len(jf["items"]) == len(parsed.entries)
    assert all(
        ID.match(i["id"]) and i["content_html"] and RFC3339.match(i["date_modified"])
        for i in jf["items"]
    )


def test_republishing_keeps_ids_and_bytes(sqlite_engine, settings, tmp_path) -> None:  # noqa: ANN001
    folder = tmp_path / "digests"
    first = build_and_publish(sqlite_engine, settings, folder)
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    with session_scope(sqlite_engine) as s:
        again = publish(
            s,
            folder=folder,
            base_url=BASE,
            lang="fr",
            tz="Europe/Paris",
            now=NOW + timedelta(hours=1),
        )
    assert again.written == 0 and again.unchanged == first.written
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    ids = [e.id for e in feedparser.parse(before[folder / "feeds" / "all.atom"]).entries]
    other = tmp_path / "other"
    with session_scope(sqlite_engine) as s:  # the same ids wherever and whenever written
        publish(s, folder=other, base_url=BASE, lang="en", tz="UTC", now=NOW)
    english = feedparser.parse((other / "feeds" / "all.atom").read_bytes())
    assert [e.id for e in english.entries] == ids and english.feed.language == "en"
    assert english.feed.title == "Veille: all stories"
