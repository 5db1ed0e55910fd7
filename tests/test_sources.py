"""feeds.yaml (validated, errors naming file, line and field) and OPML import/export."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import ROOT, shared_path
from veille.errors import ConfigError
from veille.sources import add_sources, load_sources, parse_interval, parse_opml, parse_sources
from veille.types import LANGUAGES, TOPICS, SourceSpec

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"
GOOD = """\
# curated sources
sources:
  - name: Bruded
    url: https://www.bruded.fr/feed/
    language: fr
    tags: [réseau, collectivités]
    topics_hint: [social_innovation, open_collaboration]
    interval: 6h
    primary: true
  - name: Avise
    url: https://www.avise.org/actualites
    kind: page
    selector: "article h2 a"
    enabled: false
  - name: ESS France
    url: https://www.ess-france.org/sitemap.xml
    kind: sitemap
    interval: 900
"""


def test_valid_file() -> None:
    bruded, avise, ess = parse_sources(GOOD)
    assert bruded == SourceSpec(
        name="Bruded",
        url="https://www.bruded.fr/feed/",
        language="fr",
        tags=("réseau", "collectivités"),
        topics_hint=("social_innovation", "open_collaboration"),
        interval=21600,
        primary=True,
    )
    assert (avise.kind, avise.selector, avise.enabled, avise.interval) == (
        "page",
        "article h2 a",
        False,
        3600,
    )
    assert (ess.kind, ess.interval) == ("sitemap", 900)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("    interval: 6h\n", "    interval: soon\n"), ":8: source 'Bruded': field 'interval'"),
        (
            ("    interval: 900\n", "    interval: 30\n"),
            ":18: source 'ESS France': field 'interval': must be at least one minute",
        ),
        (
            ("    kind: page\n", "    kind: rss\n"),
            ":12: source 'Avise': field 'kind': Input should be",
        ),
        (
            ("    language: fr\n", "    langage: fr\n"),
            ":5: source 'Bruded': field 'langage': unknown field",
        ),
        (
            ("https://www.bruded.fr/feed/", "ftp://bruded.fr"),
            ":4: source 'Bruded': field 'url': must be an absolute http",
        ),
        (("[social_innovation, open", "[social, open"), ":7: source 'Bruded': field 'topics_hint'"),
        (("    kind: sitemap\n", ""), None),
        (
            ("name: Avise", "name: bruded"),
            ":10: source 'bruded': field 'name': duplicate of the source on line 3",
        ),
        (
            ("https://www.avise.org/actualites", "https://www.bruded.fr/feed/"),
            "field 'url': duplicate",
        ),
        (
            ('"article h2 a"', '"article >> a["'),
            ":13: source 'Avise': field 'selector': invalid CSS selector",
        ),
        (("    kind: page\n", ""), ":12: source 'Avise': field 'selector': only for kind: page"),
        (("  - name: Avise\n", "  - nom: Avise\n"), ":10: source #2: field 'name': Field required"),
        (("    primary: true\n", "    primary: maybe\n"), ":9: source 'Bruded': field 'primary'"),
        (
            ("    tags: [réseau, collectivités]\n", "    tags: [réseau, collectivités\n"),
            ":7: invalid YAML",
        ),
        (("    language: fr\n", "    language: fr\n    language: en\n"), ":6: invalid YAML"),
        (("sources:\n", "sauces:\n"), ":1: expected a mapping with a 'sources:' list"),
    ],
)
def test_invalid_file_names_file_line_and_field(edit: tuple[str, str], message: str | None) -> None:
    text = GOOD.replace(*edit)
    assert text != GOOD
    if message is None:  # the edit keeps the file valid (here: kind defaults to feed)
        assert parse_sources(text, origin="feeds.yaml")[2].kind == "feed"
        return
    with pytest.raises(ConfigError) as caught:
        parse_sources(text, origin="feeds.yaml")
    assert str(caught.value).startswith("feeds.yaml:")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", ":1: expected a mapping"),
        ("sources: nope\n", ":1: 'sources' must be a list"),
        ("sources:\n  - just a string\n", ":2: source #1 must be a mapping"),
        ("sources: []\nextra: 1\n", ":2: unknown key 'extra'"),
    ],
)
def test_invalid_structure(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_sources(text)


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sources file not found"):
        load_sources(tmp_path / "nope.yaml")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"sources:\n  - name: Caf\xe9\n")
    with pytest.raises(ConfigError, match="cannot read sources file"):
        load_sources(bad)


@pytest.mark.parametrize(
    ("value", "seconds"), [(3600, 3600), ("90s", 90), ("30m", 1800), ("6h", 21600), ("1d", 86400)]
)
def test_parse_interval(value: int | str, seconds: int) -> None:
    assert parse_interval(value) == seconds


def test_bidirectional_overrides_are_stripped_from_names() -> None:
    # "\u202e" would display "Avise\u202eesivA" as another name than the one stored.
    (spec,) = parse_sources('sources:\n  - name: "Avi\\u202ese\\u2066"\n    url: https://a.org/\n')
    assert spec.name == "Avise"


def test_the_shipped_sources_file() -> None:
    specs = load_sources(ROOT / "feeds.yaml")
    assert len(specs) >= 30
    assert {s.language for s in specs} >= set(LANGUAGES)
    assert sum(s.language == "fr" for s in specs) > sum(s.language == "en" for s in specs)
    assert {t for s in specs for t in s.topics_hint} == set(TOPICS)
    assert {s.kind for s in specs} == {"feed", "page", "sitemap"}
    assert any(s.primary for s in specs) and all(s.url.startswith("https://") for s in specs)


def test_miniflux_opml_import() -> None:
    specs = parse_opml((FIXTURES / "miniflux.opml").read_bytes(), origin="miniflux.opml")
    assert [(s.name, s.url, s.tags) for s in specs] == [
        ("Framablog", "https://framablog.org/feed/", ("Communs",)),
        ("SavoirsCom1", "https://www.savoirscom1.info/feed/", ("Communs",)),
        ("Avise", "https://www.avise.org/rss.xml", ("ESS",)),
    ]
    assert all(s.kind == "feed" and s.interval == 3600 for s in specs)


def test_freshrss_opml_import_keeps_duplicate_titles_apart() -> None:
    specs = parse_opml((FIXTURES / "freshrss.opml").read_bytes())
    assert [s.name for s in specs] == ["Shareable", "France Tiers-Lieux", "Shareable (2)"]
    assert specs[1].tags == ("Tiers-lieux",)


def test_opml_export_round_trips() -> None:
    from veille.sources import to_opml

    avise = parse_sources(GOOD.replace("name: Avise", "name: Avise (page)"))[1]
    specs = (*load_sources(ROOT / "feeds.yaml"), avise)  # every kind, selector, disabled
    text = to_opml(specs, now=datetime(2026, 11, 25, tzinfo=UTC))
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml')
    assert 'version="2.0"' in text and "Wed, 25 Nov 2026 00:00:00 +0000" in text
    back = parse_opml(text.encode())  # grouped by folder (first tag), otherwise the same

    def by_name(found: tuple[SourceSpec, ...]) -> list[SourceSpec]:
        return sorted(found, key=lambda s: s.name)

    assert by_name(back) == by_name(specs)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<opml version='2.0'><body><outline", "not an OPML file"),
        (b"<rss/>", "expected <opml> with a <body>"),
        (
            b"<opml><body><outline text='x' xmlUrl='javascript:alert(1)'/></body></opml>",
            "outline 'x': url: must be an absolute http",
        ),
        (
            b"<opml><body><outline text='x' xmlUrl='https://a/' veille:kind='nope' "
            b"xmlns:veille='https://github.com/veille-news/veille/opml'/></body></opml>",
            "outline 'x': kind",
        ),
    ],
)
def test_broken_opml_is_rejected_whole(data: bytes, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_opml(data, origin="subs.opml")


@pytest.mark.parametrize(
    "path",
    [
        ("generated", "rss_billion_laughs.xml"),
        ("generated", "rss_xxe_file.xml"),
        ("defusedxml", "xmlbomb.xml"),
        ("defusedxml", "external_file.xml"),
        ("payloadsallthethings", "classic-xxe-etc-passwd.xml"),
    ],
)
def test_hostile_opml_is_refused(path: tuple[str, str]) -> None:
    data = shared_path("corpora", "hostile", "xml", *path).read_bytes()
    with pytest.raises(ConfigError, match="refused OPML|not an OPML file"):
        parse_opml(data, origin="evil.opml")


def test_add_sources_appends_new_ones_and_keeps_comments(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(GOOD)
    imported = parse_opml((FIXTURES / "miniflux.opml").read_bytes())
    added, skipped = add_sources(path, imported)
    assert [s.name for s in added] == ["Framablog", "SavoirsCom1"]
    assert [s.name for s in skipped] == ["Avise"]  # same name already there
    text = path.read_text()
    assert text.startswith("# curated sources\n") and "tags: [Communs]" in text
    assert [s.name for s in load_sources(path)][-2:] == ["Framablog", "SavoirsCom1"]
    assert add_sources(path, imported) == ([], list(imported))  # idempotent


def test_add_sources_creates_the_file(tmp_path: Path) -> None:
    path = tmp_path / "new.yaml"
    added, _ = add_sources(path, parse_sources(GOOD))
    assert len(added) == 3 and load_sources(path) == parse_sources(GOOD)
