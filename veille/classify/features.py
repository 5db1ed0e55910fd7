"""Fitting the features: the scikit-learn estimator around vectors.Vectorizer.

TextFeatures learns the vocabulary (words and character grams kept by document frequency, and
their idf) and is the first step of the trained Pipeline; transforming is Vectorizer's. It
keeps this name and module: the model files on disk refer to it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

from veille.classify import lexicon
from veille.classify.vectors import Vectorizer
from veille.types import TOPICS, Doc


def char_grams(word: str, low: int = 3, high: int = 5) -> list[str]:
    padded = f" {word} "
    return [padded[i : i + n] for n in range(low, high + 1) for i in range(len(padded) - n + 1)]


class TextFeatures(Vectorizer, TransformerMixin, BaseEstimator):
    """A Vectorizer that scikit-learn can fit, tune and clone (the parameters are its)."""

    def __init__(
        self,
        title_weight: int = 2,
        min_df: int = 2,
        max_words: int = 30000,
        max_grams: int = 60000,
        gram_weight: float = 1.0,
        keyword_weight: float = 1.0,
        group_weight: float = 0.0,
    ) -> None:
        self.title_weight = title_weight
        self.min_df = min_df
        self.max_words = max_words
        self.max_grams = max_grams
        self.gram_weight = gram_weight
        self.keyword_weight = keyword_weight
        self.group_weight = group_weight

    # Fitting --------------------------------------------------------------------------------

    def fit(self, X: Sequence[Doc], y: object = None) -> TextFeatures:  # noqa: N803
        counts, words, _ = self._scan(X)
        present = (counts > 0).astype(np.float32)
        word_df = present.getnnz(axis=0)
        per_word = [char_grams(w) for w in words]
        all_grams = sorted({g for grams in per_word for g in grams})
        at = {g: j for j, g in enumerate(all_grams)}
        flat = [at[g] for grams in per_word for g in grams]
        rows = np.repeat(np.arange(len(words)), [len(g) for g in per_word])
        word_grams = sp.csr_matrix(
            (np.ones(len(flat), np.float32), (rows, flat)), shape=(len(words), len(at))
        )
        gram_df = (present @ word_grams).getnnz(axis=0)  # documents holding each gram
        self.words_, kept_word_df = _top(words, word_df, self.min_df, self.max_words)
        self.grams_, kept_gram_df = _top(all_grams, gram_df, self.min_df, self.max_grams)
        df = np.concatenate([kept_word_df, kept_gram_df])
        self.idf_ = (np.log((1 + counts.shape[0]) / (1 + df)) + 1.0).astype(np.float32)
        # The lexicon as it is now goes with the model: a later edit of lexicon.py must not
        # shift the columns its weights were learnt on.
        terms, groups, rules = zip(*lexicon.entries(), strict=True)
        self.lexicon_terms_ = np.asarray(terms, dtype=str)
        self.lexicon_groups_ = np.asarray(groups, dtype=np.int32)
        self.lexicon_rules_ = np.asarray(rules, dtype=bool)
        self.group_topics_ = np.asarray([g.topic or "" for g in lexicon.GROUPS], dtype=str)
        self.group_names_ = np.asarray(lexicon.GROUP_NAMES, dtype=str)
        self._lookup = self._lexicon_cache = None  # lookups of a previous fit
        return self

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        names = [f"w:{w}" for w in self.words_] + [f"c:{g}" for g in self.grams_]
        groups = [f"g:{g}" for g in self.group_names_] if self.group_weight else []
        return np.asarray(names + groups + [f"k:{t}" for t in TOPICS])

    def __getstate__(self) -> dict:
        # The lookups are rebuilt from the arrays at first use; the artefact stays small.
        state = super().__getstate__()
        state.pop("_lookup", None)
        state.pop("_lexicon_cache", None)
        return state


def _top(
    names: Sequence[str], df: np.ndarray, min_df: int, limit: int
) -> tuple[np.ndarray, np.ndarray]:
    """Names seen in at least `min_df` documents, the `limit` most frequent, sorted; and
    their document frequencies."""
    keep = np.flatnonzero(df >= min_df)
    if len(keep) > limit:
        keep = keep[np.argsort(-df[keep], kind="stable")[:limit]]
    keep = sorted(keep, key=names.__getitem__)
    return np.asarray([names[i] for i in keep], dtype=str), df[keep]
