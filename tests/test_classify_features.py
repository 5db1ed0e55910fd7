"""Text assembly and features: folding, cutting, title weight, and the exact attribution the
explanations rest on."""

from __future__ import annotations

import numpy as np

from tests.classify_data import tiny_examples
from veille.classify.features import TextFeatures, char_grams
from veille.classify.text import MAX_BODY_CHARS, body_of, fold, folded, surface_forms, tokens
from veille.classify.vectors import GramTrie
from veille.types import Doc


def test_fold_removes_accents_and_case_but_keeps_letters() -> None:
    assert fold("Coopérative Œuvre Ça Naïve Straße") == "cooperative oeuvre ca naive strasse"
    assert fold("l’économie") == "l'economie"


def test_body_puts_the_summary_first_once_and_cuts_enormous_text() -> None:
    doc = Doc("t", "Le texte complet.", summary="Un résumé.")
    assert body_of(doc) == "Un résumé.\nLe texte complet."
    same = Doc("t", "Un résumé. Puis la suite.", summary="Un résumé.")
    assert body_of(same) == "Un résumé. Puis la suite."
    huge = Doc("t", "mot " * 1_000_000)
    assert len(body_of(huge)) == MAX_BODY_CHARS


def test_title_words_count_title_weight_times_and_digits_are_dropped() -> None:
    words = tokens(*folded(Doc("Repair Café 2024", "un café réparé")), title_weight=2)
    assert words.count("cafe") == 3 and words.count("repair") == 2
    assert "2024" not in words and "un" in words


def test_surface_forms_map_folded_words_back() -> None:
    assert surface_forms(Doc("Coopérative", "La COOPÉRATIVE"))["cooperative"] == "coopérative"


def test_char_grams_are_padded_like_char_wb() -> None:
    assert char_grams("ab") == [" ab", "ab ", " ab "]


def test_gram_trie_finds_the_grams_char_grams_makes() -> None:
    """The batch lookup matches the per-word definition: repeats, partial and unknown words."""
    grams = sorted(
        {g for w in ("ananas", "banana", "cafe") for g in char_grams(w)} - {"nas", "caf"}
    )
    words = ["ananas", "banana", "bananas", "cafe", "xyz", "ab", "ananas"]
    rows, cols = GramTrie(grams).find(words)
    at = {g: j for j, g in enumerate(grams)}
    expected = [(i, at[g]) for i, w in enumerate(words) for g in char_grams(w) if g in at]
    assert sorted(zip(rows.tolist(), cols.tolist(), strict=True)) == sorted(expected)
    assert GramTrie(grams).find([])[0].size == 0 and GramTrie([]).find(words)[0].size == 0


def _fitted() -> TextFeatures:
    return TextFeatures(min_df=1).fit([e.doc for e in tiny_examples()])


def test_transform_blocks_are_unit_length_and_keywords_flagged() -> None:
    features = _fitted()
    docs = [Doc("Covoiturage entre voisins", "Une plateforme de covoiturage."), Doc("", "")]
    row = features.transform(docs).toarray()
    n_words, n_grams = len(features.words_), len(features.grams_)
    assert np.isclose(np.linalg.norm(row[0, :n_words]), 1.0)
    assert np.isclose(np.linalg.norm(row[0, n_words : n_words + n_grams]), 1.0)
    assert row[0, -3:].tolist() == [0.0, 1.0, 0.0]  # collaborative consumption's keyword
    assert not row[1].any()  # an empty item has no features at all
    assert row.shape[1] == len(features.get_feature_names_out())


def test_accents_do_not_matter() -> None:
    features = _fitted()
    a = features.transform([Doc("Coopérative énergétique", "économie")]).toarray()
    b = features.transform([Doc("COOPERATIVE ENERGETIQUE", "Economie")]).toarray()
    assert np.allclose(a, b)


def test_attribution_rows_add_up_to_the_feature_row() -> None:
    features = _fitted()
    for doc in [e.doc for e in tiny_examples()[:10]] + [Doc("Repair café", ""), Doc("", "")]:
        terms, parts = features.attribution(doc)
        assert parts.shape == (len(terms), features.transform([doc]).shape[1])
        total = np.asarray(parts.sum(axis=0)).ravel()
        assert np.allclose(total, features.transform([doc]).toarray().ravel(), atol=1e-6)


def test_unknown_words_still_reach_the_model_through_their_grams() -> None:
    features = _fitted()
    row = features.transform([Doc("", "covoiturages")]).toarray().ravel()  # plural never seen
    n_words = len(features.words_)
    assert not row[:n_words].any() and row[n_words:-3].any()
