"""Entry text helpers: markup made plain, summaries cut on sentences, only http(s) links."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from veille.digest.entry import Entry, cut, plain_text, safe_url


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("Plain text", "Plain text"),
        ("<p>Un <b>gras</b> &amp; un <i>italique</i></p>", "Un gras & un italique"),
        ("<script>alert(1)</script>Titre", "Titre"),
        ("<style>p{}</style><img src=x onerror=alert(1)>Rien", "Rien"),
        ("Loi 1901 < 2 ans & plus", "Loi 1901 < 2 ans & plus"),
        ("  espaces \n\t multiples  ", "espaces multiples"),
        ("&lt;b&gt;entités&lt;/b&gt;", "<b>entités</b>"),  # decoded, then escaped on output
        ("", ""),
    ],
)
def test_plain_text(raw: str, plain: str) -> None:
    assert plain_text(raw) == plain


def test_cut_prefers_a_sentence_end() -> None:
    text = "Première phrase assez longue pour compter. Deuxième phrase. " + "mot " * 100
    assert cut(text, 80) == "Première phrase assez longue pour compter. Deuxième phrase."
    no_stop = "mot " * 100
    short = cut(no_stop, 50)
    assert short.endswith("…") and len(short) <= 51 and " …" not in short
    assert cut("court", 50) == "court"


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://example.org/a?b=1#c", True),
        ("http://example.org/", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("vbscript:msgbox", False),
        ("//example.org/relative", False),
        ("/relative", False),
        ('https://example.org/"><script>', False),
        ("https://exa mple.org/", False),
        ("", False),
        (None, False),
    ],
)
def test_safe_url(url: str | None, kept: bool) -> None:
    assert safe_url(url) == ((url or "").strip() if kept else "")


def test_entry_json_round_trip() -> None:
    when = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    entry = Entry(
        item_id=3,
        title="T",
        url="https://e.org",
        source="S",
        date=when,
        updated=when,
        topics=("social_innovation",),
        scores={"social_innovation": 0.8},
        also=("A", "B"),
        story_id=7,
        pinned=True,
        rank=2,
        curated=True,
    )
    assert Entry.from_json(entry.to_json()) == entry
    assert entry.score("social_innovation") == 1.0  # a curator's topic is certain
    assert entry.score("open_collaboration") == 0.0
