"""Finding the lexicon's terms (lexicon.py) in a batch of items, in numpy, for the features.

A term is a sequence of words; a trailing `*` lets its last word have any ending. It occurs in
an item when its words occur one after another among the item's words (text.tokens: folded,
letters only, one-letter words and punctuation aside: "pair à pair" and "pair-à-pair" are both
"pair pair"). Most terms are one word: those are found once per distinct word of the batch
(a dict lookup, or a prefix lookup for `*` terms) and spread to the items through the
items × words count matrix. A longer term is first a candidate where all its words occur, and
only those (item, term) pairs are confirmed with a substring search of the item's words.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat

import numpy as np
import scipy.sparse as sp

from veille.classify.text import TOKEN, fold


class TermIndex:
    """Per term of `terms`: the exact words and the open-ended last word it needs."""

    def __init__(self, terms: Sequence[str]) -> None:
        self.terms = list(terms)
        atoms: dict[tuple[str, bool], int] = {}  # (word, is a prefix) -> atom column
        self.spelled: list[str] = []  # " w1 w2" ("…*": no space after the last word)
        rows, cols = [], []
        for j, term in enumerate(self.terms):
            prefix = term.endswith("*")
            words = TOKEN.findall(fold(term.rstrip("*")))
            if not words:
                raise ValueError(f"lexicon term {term!r} has no word of two letters or more")
            for k, word in enumerate(words):
                key = (word, prefix and k == len(words) - 1)
                rows.append(atoms.setdefault(key, len(atoms)))
                cols.append(j)
            self.spelled.append(" " + " ".join(words) + ("" if prefix else " "))
        self.exact = {w: a for (w, p), a in atoms.items() if not p}
        self.prefixes = {w: a for (w, p), a in atoms.items() if p}
        self.prefix_lengths = sorted({len(w) for w in self.prefixes})
        self.needs = sp.csr_matrix(  # atoms × terms
            (np.ones(len(rows), np.float32), (rows, cols)), shape=(len(atoms), len(self.terms))
        )
        self.width = np.asarray(self.needs.sum(axis=0)).ravel()  # atoms per term
        self.phrase = np.asarray([len(s.split()) > 1 for s in self.spelled])

    def _atoms_of(self, words: Sequence[str]) -> sp.csr_matrix:
        """Batch words × atoms: the word is the atom's word, or starts with its prefix.

        Exact words by one dict lookup each (map: in C); prefixes by binary search in the
        sorted batch words: the words starting with "coop" sit between "coop" and "coop{"."""
        found = np.fromiter(map(self.exact.get, words, repeat(-1)), np.int64, len(words))
        rows, cols = [np.flatnonzero(found >= 0)], [found[found >= 0]]
        if self.prefixes and len(words):
            order = np.argsort(np.asarray(words, dtype=str))
            ordered = np.asarray(words, dtype=str)[order]
            starts = np.asarray(list(self.prefixes), dtype=str)
            low = np.searchsorted(ordered, starts)
            high = np.searchsorted(ordered, np.char.add(starts, "{"))  # "{" follows "z"
            spans = high - low
            atoms = np.repeat(np.fromiter(self.prefixes.values(), np.int64), spans)
            at = np.repeat(high - np.cumsum(spans), spans) + np.arange(spans.sum())
            rows.append(order[at])
            cols.append(atoms)
        rows, cols = np.concatenate(rows), np.concatenate(cols)
        shape = (len(words), self.needs.shape[0])
        return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape)

    def find(
        self, counts: sp.csr_matrix, words: Sequence[str], spaced: Sequence[str]
    ) -> np.ndarray:
        """Items × terms booleans. `counts`: items × `words` (the batch's distinct words);
        `spaced[i]`: item i's words, each after a space, its parts (title, body) apart."""
        present = counts.copy()
        present.data[:] = 1.0
        has = (present @ self._atoms_of(words)).tocsr()
        has.data[:] = 1.0
        met = (has @ self.needs).toarray()  # how many of each term's atoms the item has
        hits = met >= self.width
        rows, cols = np.nonzero(hits & self.phrase)
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
            hits[i, j] = self.spelled[j] in spaced[i]
        return hits
