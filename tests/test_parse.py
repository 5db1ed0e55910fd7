"""Parsing: bytes in, `Entry` values out. Feeds of every dialect, listing pages, sitemaps."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import shared_path
from veille.errors import ParseError
from veille.parse import (
    canonical_url,
    looks_like_feed,
    parse_feed,
    parse_listing,
    parse_sitemap,
    plain_text,
)

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"


def _read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://Example.ORG:443/a?b=2&a=1#top", "https://example.org/a?a=1&b=2"),
        ("http://example.org", "http://example.org/"),
        ("http://example.org:8080/x", "http://example.org:8080/x"),
        (
            "https://ex.org/p?utm_source=rss&utm_medium=x&fbclid=1&gclid=2&mc_cid=3&mc_eid=4&id=7",
            "https://ex.org/p?id=7",
        ),
        ("https://ex.org/p?xtor=RSS-3&at_medium=x&pk_campaign=y&page=2", "https://ex.org/p?page=2"),
        ("https://ex.org/p?q=caf%C3%A9&empty=", "https://ex.org/p?empty=&q=caf%C3%A9"),
        ("https://user:pw@ex.org/p", "https://ex.org/p"),
        ("https://[2001:db8::1]:443/x", "https://[2001:db8::1]/x"),
        ("ftp://ex.org/file", ""),
        ("javascript:alert(1)", ""),
        ("not a url", ""),
        ("http://ex.org:99999/", ""),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_plain_text_strips_tags_and_decodes_entities() -> None:
    assert plain_text("<p>Caf&eacute; <b>coop</b>&nbsp;!<script>x()</script></p>") == "Café coop !"
    assert plain_text("L&#8217;AMAP &amp; le SEL") == "L\u2019AMAP & le SEL"
    assert plain_text("<p>un</p><p>deux<br>trois</p>") == "un deux trois"
    assert plain_text("a < b et c > d") == "a < b et c > d"
    assert plain_text(None) == ""


@pytest.mark.parametrize(
    "markup",
    [
        "<html>",
        "<html ontouchmove=alert(1)>",
        "<HTML xmlns:xss>",
        "<html><frameset>",
        "a <p>x</p> \x01 y",
        "<b>\x00</b>",
        "<i>\x1b\x7f\x85</i>",
    ],
)
def test_plain_text_never_raises_on_hostile_markup(markup: str) -> None:
    text = plain_text(markup)
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in text), repr(text)


def test_plain_text_drops_bidirectional_overrides() -> None:
    # "\u202e" (right-to-left override) makes "exe.txt" display as "txt.exe".
    assert plain_text("facture\u202etxt.exe") == "facturetxt.exe"
    assert plain_text("<b>a&#x202e;b\u2066c\u200fd</b>") == "abcd"


@pytest.mark.parametrize("kind", ["rss", "json"])
def test_one_hostile_entry_never_drops_the_feed(kind: str) -> None:
    hostile = ["<html><frameset>", "<HTML xmlns:xss>", "a <p>x</p> \x01 y"]
    if kind == "rss":
        items = "".join(
            f"<item><title>{t.replace('<', '&lt;').replace(chr(1), '&#x1;')}</title>"
            f"<link>https://example.org/{i}</link></item>"
            for i, t in enumerate([*hostile, "Benign"])
        )
        body = f'<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()
    else:
        import json

        body = json.dumps(
            {
                "version": "https://jsonfeed.org/version/1.1",
                "title": "t",
                "items": [
                    {"id": str(i), "url": f"https://example.org/{i}", "title": t}
                    for i, t in enumerate([*hostile, "Benign"])
                ],
            }
        ).encode()
    parsed = parse_feed(body, url="https://example.org/feed")
    assert [e.url for e in parsed.entries][-1] == "https://example.org/3"
    assert parsed.entries[-1].title == "Benign"
    assert len(parsed.entries) == 4


def test_rss20_entries() -> None:
    feed = parse_feed(_read("rss20.xml"), url="https://reseau.example.org/feed/")
    assert feed.version == "rss20" and feed.warning is None
    assert feed.title == "Réseau d'entraide & communs"
    first, second, third = feed.entries
    assert first.guid == "reseau-1234"
    assert first.title == "L\u2019épicerie associative de Trémargat fête ses 10 ans"
    assert first.canonical_url == "https://reseau.example.org/2026/11/epicerie-associative?id=42"
    assert first.published == datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
    assert first.authors == ("Anne Le Goff",) and first.categories == ("Commerce", "Ruralité")
    assert first.summary == "Les habitants ont repris le dernier commerce du bourg."
    assert 'href="https://reseau.example.org/adherer"' in first.content  # HTML kept, resolved
    assert first.image == "https://reseau.example.org/img/epicerie.jpg"
    # No GUID: the canonical URL is the key; relative link resolved against the site.
    assert second.url == "https://reseau.example.org/2026/11/atelier-velo"
    assert second.guid == second.canonical_url == second.url
    assert second.image == "https://reseau.example.org/img/velo.png"
    # Neither GUID nor link: a stable hash of its text, no URL, no date (the pipeline fills it).
    assert third.guid.startswith("sha1:") and third.url == "" and third.published is None
    assert parse_feed(_read("rss20.xml"), url="https://x/").entries[2].guid == third.guid


def test_atom_entries() -> None:
    feed = parse_feed(_read("atom10.xml"), url="https://commons.example.net/atom.xml")
    first, second = feed.entries
    assert feed.version == "atom10"
    assert first.title == "Cartographie participative des fontaines"
    assert first.url.startswith("https://commons.example.net/blog/cartographie")
    assert first.canonical_url == (
        "https://commons.example.net/blog/cartographie-participative-fontaines?page=2"
    )
    assert first.authors == ("Collectif OSM", "Léa") and first.categories == ("OpenStreetMap",)
    assert first.summary == "Une cartopartie samedi."
    assert first.published == datetime(2026, 11, 24, 8, 15, tzinfo=UTC)
    assert second.published == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # updated, no published


def test_rss10_rdf() -> None:
    (entry,) = parse_feed(_read("rss10.xml"), url="https://rdf.example.org/rss").entries
    assert entry.title == "Budget participatif voté"
    assert entry.published == datetime(2026, 11, 19, 12, tzinfo=UTC)


def test_json_feed_11_and_10() -> None:
    feed = parse_feed(_read("feed11.json"), url="https://fabriques.example.org/feed.json")
    assert feed.version == "json11" and feed.title == "Tiers-lieu des Fabriques"
    first, second = feed.entries  # the string item is ignored
    assert first.title == "Le fablab ouvert le jeudi & le samedi"
    assert first.canonical_url == "https://fabriques.example.org/journal/fablab-ouvert-le-jeudi"
    assert first.content == "<p>Machines <b>partagées</b>.</p>"
    assert first.summary == "Horaires élargis."
    assert first.image == "https://fabriques.example.org/img/fablab.jpg"
    assert first.authors == ("Équipe des Fabriques",) and first.categories == ("fablab", "horaires")
    assert first.published == datetime(2026, 11, 21, 17, tzinfo=UTC)
    assert second.guid == "7" and second.url == "https://ailleurs.example.com/article"
    assert second.summary == "Un lien vers ailleurs."
    old = parse_feed(_read("feed10.json"), url="https://old.example.org/feed.json")
    assert old.version == "json1" and old.entries[0].authors == ("Paul",)


def test_malformed_feed_is_used_with_a_warning() -> None:
    feed = parse_feed(_read("malformed.xml"), url="https://casse.example.org/rss")
    assert [e.title for e in feed.entries][:1] == ["Troc & partage au marché"]
    assert feed.warning and feed.warning.startswith("malformed feed:")


def test_wrong_charset_header_still_reads_text() -> None:
    headers = {"Content-Type": "application/rss+xml; charset=utf-8"}
    feed = parse_feed(_read("latin1.xml"), url="https://latin.example.org/rss", headers=headers)
    assert feed.entries[0].title == "Café coopératif"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<!DOCTYPE html><html><head><title>Just a moment</title></head></html>", "HTML page"),
        (b"", "not a feed"),
        (b"plain text, not xml", "not a feed"),
        (b'{"version": "https://jsonfeed.org/version/1.1"}', "items"),
        (b'{"hello": 1}', "jsonfeed.org"),
        (b"{broken json", "invalid JSON"),
    ],
)
def test_not_a_feed(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_feed(body, url="https://x.example/feed")


def test_feed_body_naming_a_local_file_is_not_opened(tmp_path: Path) -> None:
    # feedparser opens paths and URLs given as strings; a body must never be taken for one.
    secret = tmp_path / "secret.xml"
    secret.write_bytes(_read("rss20.xml"))
    with pytest.raises(ParseError):
        parse_feed(str(secret).encode(), url="https://x.example/feed")


@pytest.mark.parametrize(
    "name",
    [
        "rss_billion_laughs.xml",
        "atom_billion_laughs.xml",
        "rss_xxe_file.xml",
        "rss_xxe_http.xml",
        "rss_xxe_parameter_entity.xml",
        "rss_external_dtd.xml",
        "rss_cyclic_entity.xml",
        "rss_quadratic_blowup.xml",
        "rss_deep_nesting.xml",
        "rss_xinclude.xml",
    ],
)
def test_hostile_feeds_neither_expand_nor_read_files(name: str) -> None:
    body = shared_path("corpora", "hostile", "xml", "generated", name).read_bytes()
    try:
        feed = parse_feed(body, url="http://127.0.0.1:9/feed")
    except ParseError:
        return
    text = " ".join(e.title + e.summary + e.content for e in feed.entries) + feed.title
    assert "root:" not in text  # /etc/passwd never read
    assert len(text) < 1_000_000  # entities never expanded


def test_looks_like_feed() -> None:
    assert looks_like_feed(_read("rss20.xml"))
    assert looks_like_feed(_read("atom10.xml"), "text/xml")
    assert looks_like_feed(_read("feed11.json"))
    assert not looks_like_feed(_read("listing.html"), "text/html; charset=utf-8")
    assert not looks_like_feed(b'{"a": 1}')


def test_listing_page_article_links() -> None:
    listing = parse_listing(_read("listing.html"), url="https://reseau.example.org/actualites/")
    assert listing.feeds == ()
    base = "https://reseau.example.org"
    assert [(e.canonical_url.removeprefix(base), e.title) for e in listing.parsed.entries] == [
        ("/actualites/un-tiers-lieu-ouvre-a-plouguerneau", "Un tiers-lieu ouvre à Plouguerneau"),
        ("/2026/11/20/rencontre-nationale", "Rencontre nationale des tiers-lieux ruraux"),
        (
            "/actualites/actualites/atelier-de-reparation-partage",
            "Atelier de réparation partagé chaque mois",
        ),
    ]
    assert all(e.guid == e.canonical_url for e in listing.parsed.entries)


def test_listing_page_with_selector_takes_exactly_what_it_selects() -> None:
    listing = parse_listing(
        _read("listing.html"), url="https://reseau.example.org/", selector="article.teaser h2"
    )
    assert len(listing.parsed.entries) == 3
    only_nav = parse_listing(
        _read("listing.html"), url="https://reseau.example.org/", selector="nav a[href='/contact']"
    )
    assert [e.url for e in only_nav.parsed.entries] == ["https://reseau.example.org/contact"]


def test_listing_page_advertises_feeds() -> None:
    listing = parse_listing(_read("listing_with_feed.html"), url="https://blog.example.org/")
    assert listing.feeds == (
        "https://blog.example.org/feed.xml",
        "https://blog.example.org/atom.xml",
    )


def test_sitemap_newest_first_with_news_titles() -> None:
    sitemap = parse_sitemap(_read("sitemap.xml"), url="https://ess.example.org/sitemap.xml")
    urls = [e.canonical_url for e in sitemap.parsed.entries]
    assert urls == [
        "https://ess.example.org/actualites/mois-de-l-ess",
        "https://ess.example.org/actualites/loi-ess-dix-ans",
        "https://ess.example.org/actualites/vieux-billet",
    ]
    assert sitemap.parsed.entries[0].title == "Le Mois de l'ESS commence"
    assert sitemap.parsed.entries[0].published == datetime(2026, 11, 22, 8, tzinfo=UTC)
    assert sitemap.children == ()


def test_sitemap_index_and_gzip() -> None:
    index = parse_sitemap(gzip.compress(_read("sitemap_index.xml")), url="https://ess.example.org/")
    assert index.children == (
        "https://ess.example.org/sitemap-2026.xml",
        "https://ess.example.org/sitemap-2024.xml",
    )


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (("hostile", "xml", "generated", "rss_billion_laughs.xml"), "refused"),
        (("hostile", "xml", "generated", "rss_xxe_file.xml"), "refused"),
        (("hostile", "xml", "defusedxml", "xmlbomb.xml"), "refused"),
        (("hostile", "xml", "payloadsallthethings", "classic-xxe-etc-passwd.xml"), "refused"),
        (("hostile", "xml", "generated", "rss_gzip_bomb_64MiB.xml.gz"), "larger than"),
    ],
)
def test_hostile_sitemaps_are_refused(path: tuple[str, ...], message: str) -> None:
    body = shared_path("corpora", *path).read_bytes()
    with pytest.raises(ParseError, match=message):
        parse_sitemap(body, url="http://127.0.0.1:9/sitemap.xml", max_bytes=1_000_000)


def test_not_a_sitemap() -> None:
    with pytest.raises(ParseError, match="root element <rss>"):
        parse_sitemap(_read("rss20.xml"), url="https://x/")


def _rss(n: int, *, oldest_first: bool = True, broken: bool = False) -> bytes:
    days = range(n) if oldest_first else reversed(range(n))
    items = "".join(
        f"<item><title>Entry {d}</title><link>https://example.org/{d}</link>"
        f"<pubDate>{(datetime(2020, 1, 1, tzinfo=UTC) + timedelta(hours=d)):%a, %d %b %Y %H:%M:%S} "
        "+0000</pubDate></item>"
        for d in days
    )
    tail = "" if broken else "</channel></rss>"
    return f'<rss version="2.0"><channel><title>t</title>{items}{tail}'.encode()


@pytest.mark.parametrize("oldest_first", [True, False])
def test_a_huge_feed_gives_its_newest_entries_only(oldest_first: bool) -> None:
    parsed = parse_feed(
        _rss(3000, oldest_first=oldest_first), url="https://example.org/f", max_entries=50
    )
    assert len(parsed.entries) == 50
    assert {e.title for e in parsed.entries} == {f"Entry {d}" for d in range(2950, 3000)}
    assert "2950 older entries not read" in (parsed.warning or "")


def test_a_huge_broken_feed_is_cut_too() -> None:
    parsed = parse_feed(_rss(500, broken=True), url="https://example.org/f", max_entries=20)
    assert 0 < len(parsed.entries) <= 20


def test_a_huge_json_feed_gives_its_newest_entries_only() -> None:
    import json

    items = [
        {
            "id": str(d),
            "title": f"Entry {d}",
            "date_published": f"2020-01-{1 + d // 24:02d}T{d % 24:02d}:00:00Z",
        }
        for d in range(600)
    ]
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": items})
    parsed = parse_feed(body.encode(), url="https://example.org/f", max_entries=10)
    assert {e.title for e in parsed.entries} == {f"Entry {d}" for d in range(590, 600)}
