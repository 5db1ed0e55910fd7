"""The pull's decisions: plain values in, plain values out (no I/O in decide.py)."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from veille import dedupe
from veille.pipeline import decide
from veille.types import Entry, Extraction, Prediction

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
TEXT = (
    "Les habitants de Saint-Aubin-des-Prés ont racheté l'épicerie du village, menacée de "
    "fermeture depuis le départ à la retraite de son gérant. Cent vingt familles ont pris des "
    "parts dans la coopérative créée pour l'occasion, une SCIC qui associe la commune, les "
    "producteurs des environs et les clients. Le magasin rouvrira en janvier avec un café."
)


def test_decide_imports_no_io() -> None:
    tree = ast.parse(Path(decide.__file__).read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    io = {"veille.store", "veille.fetch", "sqlalchemy", "sqlmodel", "httpx", "asyncio", "os"}
    assert not {m for m in names if any(m == x or m.startswith(x + ".") for x in io)}


@pytest.mark.parametrize(
    ("interval", "max_age", "expected"),
    [(3600, None, 3600), (3600, 7200, 7200), (3600, 10**9, 86400), (172800, 60, 172800)],
)
def test_max_age_delays_the_next_fetch_a_day_at_most(
    interval: int, max_age: int | None, expected: int
) -> None:
    assert decide.interval_after(interval, max_age) == expected


def test_after_failure_backs_off_and_keeps_the_readers_state() -> None:
    values = decide.after_failure(
        interval=3600, failures=2, error="HTTP 503", retry_after=None, state={"x": 1}, now=NOW
    )
    assert values["consecutive_failures"] == 3
    assert values["next_fetch_at"] == NOW + timedelta(hours=4)
    assert values["fetch_state"] == {"x": 1} and values["last_error"] == "HTTP 503"
    ok = decide.after_success(
        interval=3600, state={"etag": "e"}, warning="a\x00b", max_age=None, now=NOW
    )
    assert (ok["consecutive_failures"], ok["warning"], ok["fetch_state"]) == (
        0,
        "ab",
        {"etag": "e"},
    )


def _entry(guid: str, **kw: object) -> Entry:
    return Entry(guid=guid, url=f"https://x/{guid}", canonical_url=f"https://x/{guid}", **kw)


def test_new_entries_skip_known_and_repeated_guids_and_cap_listings() -> None:
    entries = [_entry("a"), _entry("b"), _entry("a"), _entry("c")]
    assert [e.guid for e in decide.new_entries(entries, {"b"}, listing=False)] == ["a", "c"]
    many = [_entry(str(n)) for n in range(150)]
    assert len(decide.new_entries(many, set(), listing=True)) == decide.MAX_NEW_FROM_LISTING
    assert len(decide.new_entries(many, set(), listing=False)) == 150


def test_item_row_cleans_hostile_text_and_future_dates() -> None:
    entry = _entry(
        "g\x00", title="T\ud800itre", authors=("", "Ann\x00e"), published=NOW + timedelta(days=3)
    )
    row = decide.item_row(7, entry, NOW)
    assert row["guid"] == "g" and row["title"] == "T?itre" and row["authors"] == ["Anne"]
    assert row["published_at"] == NOW and row["source_id"] == 7


def test_extracted_values_carry_the_classifier_document_and_topics() -> None:
    ext = Extraction(
        text=TEXT,
        html_excerpt="<p>x</p>",
        kind="article",
        reason="ok",
        lang="fr",
        summary="s",
        title="Titre de la page",
        image="https://img/1.png",
    )
    doc = decide.classifier_input("Titre du flux", ext)
    assert doc.title == "Titre de la page" and doc.text == TEXT
    pred = Prediction(("social_innovation",), {"social_innovation": 0.9}, (), "v1")
    values = decide.extracted_values(
        ext, doc, text_hash="h", sig=b"s", image=None, prediction=pred, now=NOW
    )
    assert values["doc_title"] == "Titre de la page" and values["labels"] == ["social_innovation"]
    assert values["image"] == "https://img/1.png" and values["extracted_at"] == NOW
    bare = decide.extracted_values(
        ext, doc, text_hash=None, sig=None, image="i", prediction=None, now=NOW
    )
    assert "labels" not in bare and "image" not in bare


def test_choose_story_exact_copy_then_near_duplicate_then_none() -> None:
    sig = dedupe.signature(TEXT, "Épicerie")
    item = decide.Filing(1 << 60, "g", "https://b/1", "hash", sig, NOW)
    common = {"story_sources": {}, "window": timedelta(days=7)}
    copy = dedupe.KnownItem(5, "other", "x", "https://b/1", None)
    got = decide.choose_story(
        item, source="b", known=[copy], story_of={5: 50}, candidates=[], **common
    )
    assert got == 50
    near = dedupe.Candidate(6, 60, sig, NOW - timedelta(days=1), "other")
    got = decide.choose_story(item, source="b", known=[], story_of={}, candidates=[near], **common)
    assert got == 60
    # One source, one telling: a story that already holds an item of this source is out.
    got = decide.choose_story(
        item,
        source="b",
        known=[],
        story_of={},
        candidates=[near],
        story_sources={60: {"b"}},
        window=timedelta(days=7),
    )
    assert got is None
    far = dedupe.Candidate(6, 60, sig, NOW - timedelta(days=9), "other")
    assert (
        decide.choose_story(item, source="b", known=[], story_of={}, candidates=[far], **common)
        is None
    )
