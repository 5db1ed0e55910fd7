"""The keyword-rules baseline: taxonomy terms, folded, whole words, prefixes."""

from __future__ import annotations

import re

import pytest

from tests.classify_data import tiny_examples
from veille.classify.baseline import _PATTERNS, KEYWORDS, keyword_labels, keyword_predict
from veille.classify.text import fold
from veille.types import TOPICS, Doc


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        ("Une SCIC pour l'énergie", "", ("social_innovation",)),
        ("", "Les Repair Cafés du département", ("collaborative_consumption",)),
        ("OpenStreetMap", "et les données ouvertes", ("open_collaboration",)),
        (
            "Fablab",
            "ses plans sous licence libre",
            ("collaborative_consumption", "open_collaboration"),
        ),
        ("Carpooling", "carpoolers", ("collaborative_consumption",)),  # prefix term carpool*
        ("Selon le ministère", "", ()),  # `sel` is a whole word, not a prefix
        ("", "", ()),
    ],
)
def test_keyword_labels(title: str, text: str, expected: tuple[str, ...]) -> None:
    assert keyword_labels(Doc(title, text)) == expected


def test_trie_pattern_finds_what_a_flat_alternation_finds() -> None:
    texts = [fold(f"{e.doc.title} {e.doc.text}") for e in tiny_examples()]
    texts += ["cooperatives", "co-operatives", "tiers-lieux", "swapping", "communs", "commun"]
    for topic in TOPICS:
        flat = "|".join(
            re.escape(fold(t).rstrip("*")) + (r"\w*" if t.endswith("*") else "")
            for t in KEYWORDS[topic]
        )
        plain = re.compile(rf"\b(?:{flat})\b")
        for text in texts:
            assert bool(_PATTERNS[topic].search(text)) == bool(plain.search(text)), (topic, text)


def test_keyword_predict_scores_are_zero_or_one() -> None:
    (p,) = keyword_predict([Doc("Covoiturage", "")])
    assert p.labels == ("collaborative_consumption",)
    assert p.scores == {
        "social_innovation": 0.0,
        "collaborative_consumption": 1.0,
        "open_collaboration": 0.0,
    }
