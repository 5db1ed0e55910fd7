"""The taxonomy's vocabulary (lexicon.py) and how its terms are found (terms.py), as features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.classify_data import tiny_examples
from veille.classify import lexicon
from veille.classify.baseline import KEYWORDS
from veille.classify.features import TextFeatures
from veille.classify.linear import LEXICON, Linear
from veille.classify.terms import TermIndex
from veille.classify.text import fold, folded, words_of
from veille.classify.vectors import Vectorizer
from veille.types import TOPICS, Doc


def test_the_lexicon_is_one_consistent_list() -> None:
    names = [g.name for g in lexicon.GROUPS]
    assert len(names) == len(set(names))
    terms = [fold(term) for term, _, _ in lexicon.entries()]
    assert len(terms) == len(set(terms)), "a term is listed twice"
    assert {g.topic for g in lexicon.GROUPS} == {*TOPICS, None}
    assert all(not g.rules for g in lexicon.GROUPS if g.topic is None)
    for topic in TOPICS:  # the keyword baseline reads the same rule terms
        assert KEYWORDS[topic] == lexicon.rule_terms(topic) and KEYWORDS[topic]
    TermIndex(terms)  # every term has a word the tokeniser keeps


def _naive(terms: list[str], doc: Doc) -> list[bool]:
    """The definition: the term's words one after another among the item's words."""
    title, body = map(words_of, folded(doc))
    out = []
    for term in terms:
        want = words_of(fold(term.rstrip("*")))
        found = False
        for words in (title, body):
            for i in range(len(words) - len(want) + 1):
                got = words[i : i + len(want)]
                head, last = got[:-1], got[-1]
                if head == want[:-1] and (
                    last.startswith(want[-1]) if term.endswith("*") else last == want[-1]
                ):
                    found = True
        out.append(found)
    return out


@pytest.mark.parametrize(
    ("doc", "term", "expected"),
    [
        (Doc("Le covoiturage", ""), "covoiturage", True),
        (Doc("", "des covoiturages"), "covoiturage", False),  # whole words
        (Doc("", "Carpooling apps"), "carpool*", True),  # prefix
        (Doc("", "un jardin très partagé"), "jardin partage", False),  # not one after another
        (Doc("", "Un jardin partagé"), "jardin partage", True),  # accents folded
        (Doc("", "pair-à-pair"), "pair a pair", True),  # one-letter words and hyphens aside
        (Doc("Tiers", "lieux"), "tiers lieu*", False),  # title and body apart
        (Doc("", "Les Tiers-Lieux"), "tiers lieu*", True),
    ],
)
def test_terms_are_found_as_words_one_after_another(doc: Doc, term: str, expected: bool) -> None:
    features = Vectorizer()
    counts, words, spaced = features._scan([doc])
    found = TermIndex([term]).find(counts, words, spaced)
    assert found.tolist() == [[expected]] == [_naive([term], doc)]


def test_the_batch_search_finds_what_the_definition_finds() -> None:
    terms = [t for t, _, _ in lexicon.entries()]
    docs = [e.doc for e in tiny_examples()] + [Doc("Repair cafés", "open source, co-op")]
    counts, words, spaced = Vectorizer()._scan(docs)
    found = TermIndex(terms).find(counts, words, spaced)
    expected = np.asarray([_naive(terms, d) for d in docs])
    assert np.array_equal(found, expected) and found.sum() > len(docs)


def _fitted(group_weight: float = 1.0) -> TextFeatures:
    return TextFeatures(min_df=1, group_weight=group_weight).fit([e.doc for e in tiny_examples()])


def test_each_group_has_a_column_and_topic_flags_stay_last() -> None:
    features = _fitted()
    names = features.get_feature_names_out().tolist()
    row = features.transform([Doc("Autopartage entre voisins", "")]).toarray().ravel()
    assert len(names) == len(row)
    on = {names[j] for j in np.flatnonzero(row) if names[j][:2] in ("g:", "k:")}
    assert on == {"g:car_sharing", "k:collaborative_consumption"}
    without = _fitted(group_weight=0.0)
    assert len(without.get_feature_names_out()) == len(names) - len(lexicon.GROUPS)


def test_the_model_keeps_the_lexicon_it_was_fitted_with(tmp_path: Path) -> None:
    """A later edit of lexicon.py does not shift the columns of a saved model."""
    features = _fitted()
    weights = np.random.default_rng(0).normal(size=(len(features.get_feature_names_out()), 3))
    linear = Linear(features, weights, np.zeros(3))
    linear.save(tmp_path / "m.npz")
    docs = [e.doc for e in tiny_examples()]
    original = linear.decisions(docs)
    original_groups = lexicon.GROUPS
    try:
        lexicon.GROUPS = original_groups[1:]  # a group gone from the code
        loaded = Linear.load(tmp_path / "m.npz")
        assert np.array_equal(loaded.decisions(docs), original)
    finally:
        lexicon.GROUPS = original_groups


def test_a_model_from_before_lexicons_has_its_topic_flags(tmp_path: Path) -> None:
    features = _fitted(group_weight=0.0)
    weights = np.ones((len(features.get_feature_names_out()), 3))
    Linear(features, weights, np.zeros(3)).save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as data:  # as such files were written
        old = {k: data[k] for k in data.files if k not in (*LEXICON, "group_weight")}
    np.savez(tmp_path / "old.npz", **old)
    loaded = Linear.load(tmp_path / "old.npz")
    docs = [e.doc for e in tiny_examples()]
    assert np.allclose(
        loaded.decisions(docs), Linear(features, weights, np.zeros(3)).decisions(docs)
    )


def test_explanations_add_up_with_group_columns() -> None:
    """Each group and topic column goes to a term found in the item: shares still add up."""
    import math

    from veille.classify.explain import contributions, log_odds
    from veille.classify.model import Calibration, Model

    features = _fitted()
    weights = np.random.default_rng(1).normal(size=(len(features.get_feature_names_out()), 3))
    calibration = Calibration(dict.fromkeys(TOPICS, 1.5), dict.fromkeys(TOPICS, -0.2))
    model = Model(Linear(features, weights, np.full(3, 0.1)), calibration, {})
    doc = Doc("Autopartage et covoiturage", "Un tiers-lieu, un repair café, de l'open data.")
    (scores,) = model.scores([doc])
    for j, topic in enumerate(TOPICS):
        shares, base = contributions(model, doc, topic, function_words=True)
        assert math.isclose(sum(shares.values()) + base, log_odds(scores[j]), abs_tol=1e-5)
        assert "autopartage" in shares and "covoiturage" in shares
