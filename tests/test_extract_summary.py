"""Summaries: two or three sentences, at most ~400 characters, cut on a sentence boundary."""

from __future__ import annotations

import json

import pytest

from tests.conftest import shared_path
from veille.extract import split_sentences, summarize
from veille.extract.summary import MAX_CHARS, cut_words


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Le maire est venu. Il a parlé.", ["Le maire est venu.", "Il a parlé."]),
        (
            "M. Dupont et Mme Martin ont signé. Le Dr. Leroy aussi.",
            ["M. Dupont et Mme Martin ont signé.", "Le Dr. Leroy aussi."],
        ),
        (
            "Vraiment ? Oui ! Le projet avance\u202f: 3,5 millions d'euros.",
            ["Vraiment ?", "Oui !", "Le projet avance\u202f: 3,5 millions d'euros."],
        ),
        (
            "« C'est une première. » Le collectif a été créé en 2019.",
            ["« C'est une première. »", "Le collectif a été créé en 2019."],
        ),
        (
            "J. K. Rowling visited the U.S. in May. She met Mr. Smith, e.g. at 3.30 pm.",
            ["J. K. Rowling visited the U.S. in May.", "She met Mr. Smith, e.g. at 3.30 pm."],
        ),
        (
            '"It works," she said. "We will do more." Then she left.',
            ['"It works," she said.', '"We will do more."', "Then she left."],
        ),
        ("Pas de point final", ["Pas de point final"]),
    ],
)
def test_split_sentences(text: str, sentences: list[str]) -> None:
    assert split_sentences(text) == sentences


def test_summary_skips_headline_and_byline_and_keeps_whole_sentences() -> None:
    text = (
        "Saint-Brieuc : l'épicerie associative fête ses deux ans\n"
        "Par Nolwenn Le Bihan, publié le 12 mars 2024\n"
        "Il y a deux ans, le dernier commerce du quartier fermait. Des habitants ont ouvert une "
        "épicerie. Elle compte 640 adhérents. Un coin café a été aménagé.\n"
        "Le modèle a séduit au-delà du quartier."
    )
    assert summarize(text) == (
        "Il y a deux ans, le dernier commerce du quartier fermait. Des habitants ont ouvert une "
        "épicerie. Elle compte 640 adhérents."
    )


def test_summary_stops_before_the_sentence_that_would_pass_the_limit() -> None:
    first = "Première phrase assez longue pour occuper de la place dans le résumé. " * 3
    text = f"{first.strip()} Deuxième phrase. " + "x" * 10
    out = summarize("Un début. " + "Une phrase de cent caractères environ, " * 11 + "fin.")
    assert out == "Un début."
    assert summarize(text).endswith("résumé.") and len(summarize(text)) <= MAX_CHARS


def test_a_single_long_sentence_is_cut_on_a_word() -> None:
    out = summarize("Une phrase sans fin " + "et encore " * 100 + "fin.")
    assert len(out) <= MAX_CHARS and out.endswith("…") and not out.endswith(" …")
    assert out[:-1].split()[-1] in {"et", "encore"}


def test_cut_words() -> None:
    assert cut_words("court", 10) == "court"
    assert cut_words("un deux trois quatre", 12) == "un deux…"


def test_summaries_of_real_articles_fit() -> None:
    path = shared_path("corpora", "articles.jsonl")
    with path.open(encoding="utf-8") as lines:
        texts = [json.loads(line)["text"] for _, line in zip(range(300), lines, strict=False)]
    for text in texts:
        out = summarize(text)
        assert len(out) <= MAX_CHARS
        assert out or not text.strip()
