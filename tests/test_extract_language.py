"""Language: fr, en or other, with the page's declared language for very short texts."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.conftest import shared_path
from veille.extract import detect_language


@pytest.mark.parametrize(
    ("text", "hint", "lang"),
    [
        ("La commune lance un budget participatif avec les habitants du quartier.", None, "fr"),
        ("The village opened a repair café with volunteers from the area.", None, "en"),
        ("Die Gemeinde eröffnet ein Reparaturcafé mit Freiwilligen aus der Region.", None, "other"),
        ("El ayuntamiento abre un café de reparación con voluntarios del barrio.", "fr", "other"),
        ("Repair café", "fr-FR", "fr"),  # too short to tell: the page's own lang decides
        ("Repair café", "de", "other"),
        ("", "en_GB", "en"),
        ("", None, "other"),
    ],
)
def test_detect_language(text: str, hint: str | None, lang: str) -> None:
    assert detect_language(text, hint) == lang


def test_labelled_articles() -> None:
    """Real articles whose language the corpus records: fr and en are told apart."""
    path = shared_path("corpora", "articles.jsonl")
    with path.open(encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines]
    sample = [r for r in records if r.get("lang") in ("fr", "en") and len(r["text"]) > 200]
    sample = sample[:: max(len(sample) // 300, 1)]
    wrong = Counter(r["lang"] for r in sample if detect_language(r["text"]) != r["lang"])
    assert len(sample) > 200
    assert sum(wrong.values()) <= 0.02 * len(sample), wrong
