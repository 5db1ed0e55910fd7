"""From a Doc to numbers with numpy and scipy.sparse alone: what predicting needs.

`Vectorizer` holds a fitted vocabulary (kept words, kept character grams, their idf) and turns
Docs into feature rows; the scikit-learn estimator that fits it (features.TextFeatures) adds
only the fitting. A pull loads the vocabulary and the SVMs' weights from arrays (linear.py)
and never imports scikit-learn, which would cost it about 100 MB and a second of start-up.

Two TF-IDF blocks share one tokenisation pass:

- words (sublinear tf, idf, l2), the title counted `title_weight` times;
- character 3–5-grams of those words (the `char_wb` analyzer of scikit-learn), computed per
  distinct word and summed through a sparse word→gram matrix. That is what makes them fast
  (a 10,000-item batch costs one tokenisation, not a Python loop over millions of n-grams;
  the matrix itself comes from walking a trie of the fitted grams in numpy, see GramTrie),
  and it keeps the gram block linear in the word counts, so every gram's contribution to a
  score can be handed back to the word it came from (see explain.py).

Accent folding maps "Coopérative" and "cooperative" to one term; French and English items go
through the same vocabulary.
"""

from __future__ import annotations

from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from itertools import repeat

import numpy as np
import scipy.sparse as sp

from veille.classify import lexicon
from veille.classify.terms import TermIndex
from veille.classify.text import folded, words_of
from veille.types import TOPICS, Doc


class Vectorizer:
    """Docs → [word TF-IDF | gram_weight × char-gram TF-IDF | lexicon columns], a row per Doc.

    Fitted attributes: `words_` and `grams_` (sorted str arrays), `idf_` (one per word,
    then per gram), and the lexicon it was fitted with: `lexicon_terms_`, each term's group
    (`lexicon_groups_`) and whether it is a rule term (`lexicon_rules_`), and each group's
    topic (`group_topics_`, "" for an out-of-scope group). Without them (a model from before
    lexicons were stored) the current lexicon's rule terms give the topic flags alone."""

    words_: np.ndarray
    grams_: np.ndarray
    idf_: np.ndarray

    def __init__(
        self,
        title_weight: int = 2,
        gram_weight: float = 1.0,
        keyword_weight: float = 1.0,
        group_weight: float = 0.0,
    ) -> None:
        self.title_weight = title_weight
        self.gram_weight = gram_weight
        self.keyword_weight = keyword_weight
        self.group_weight = group_weight

    # Counting -------------------------------------------------------------------------------

    def _scan(self, docs: Iterable[Doc]) -> tuple[sp.csr_matrix, list[str], list[str]]:
        """Docs × distinct words of this batch (raw counts), those words, and each doc's
        words as one string (" title words | body words "), for the lexicon's phrases.

        Each text is folded once; counting and indexing run in C (Counter, and a
        defaultdict whose factory is its own length)."""
        index: defaultdict[str, int] = defaultdict()
        index.default_factory = index.__len__
        indptr, cols, vals, spaced = [0], array("i"), array("f"), []
        for doc in docs:
            title, body = map(words_of, folded(doc))
            counts = Counter(body + title * self.title_weight)
            cols.extend(map(index.__getitem__, counts))
            vals.extend(counts.values())
            indptr.append(len(cols))
            spaced.append(f" {' '.join(title)} | {' '.join(body)} ")
        counts = sp.csr_matrix(
            (np.frombuffer(vals, np.float32), np.frombuffer(cols, np.int32), indptr),
            shape=(len(indptr) - 1, len(index)),
        )
        return counts, list(index), spaced

    def _lexicon(self) -> Lexicon:
        lexicon = getattr(self, "_lexicon_cache", None)
        if lexicon is None:  # one assignment: other threads test it
            lexicon = self._lexicon_cache = Lexicon.of(self)
        return lexicon

    def _keyword_hits(
        self, counts: sp.csr_matrix, words: list[str], spaced: list[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Items × lexicon terms found, and items × keyword columns (groups, then topics)."""
        lexicon = self._lexicon()
        found = lexicon.index.find(counts, words, spaced)
        columns = (found.astype(np.float32) @ lexicon.columns) > 0
        return found, columns

    # Transforming ---------------------------------------------------------------------------

    def _mapping(self, words: Sequence[str]) -> sp.csr_matrix:
        """Batch words × all features: [kept word | how often each kept gram occurs in it]."""
        lookup = getattr(self, "_lookup", None)
        if lookup is None:  # one assignment: other threads test it
            # Plain str keys: a str looked up among numpy.str_ keys is compared the slow way.
            words_at = {w: j for j, w in enumerate(self.words_.tolist())}
            lookup = self._lookup = (words_at, GramTrie(self.grams_.tolist()))
        words_at, trie = lookup
        at = np.fromiter(map(words_at.get, words, repeat(-1)), np.int64, len(words))
        kept = np.flatnonzero(at >= 0)
        gram_rows, gram_cols = trie.find(words)
        # One sort of (word, column) keys gives each row's sorted columns and their repeats:
        # a canonical CSR, so transform's sums run in the same order as ever, bit for bit.
        width = len(self.words_) + len(self.grams_)
        keys = np.concatenate(
            [kept * width + at[kept], gram_rows * width + gram_cols + len(self.words_)]
        )
        keys, repeats = np.unique(keys, return_counts=True)
        indptr = np.searchsorted(keys, np.arange(len(words) + 1) * width)
        data = repeats.astype(np.float32)
        return sp.csr_matrix((data, keys % width, indptr), shape=(len(words), width))

    def transform(self, X: Sequence[Doc]) -> sp.csr_matrix:  # noqa: N803
        counts, words, spaced = self._scan(X)
        tf = (counts @ self._mapping(words)).tocsr()
        is_word = tf.indices < len(self.words_)
        # Words: sublinear tf. Grams stay linear in the word counts (see the docstring).
        tf.data[is_word] = 1.0 + np.log(tf.data[is_word])
        tf.data *= self.idf_[tf.indices]
        # Each block is l2-normalised on its own, then the gram block is weighted.
        n = tf.shape[0]
        slot = 2 * np.repeat(np.arange(n), np.diff(tf.indptr)) + ~is_word
        norms = np.sqrt(np.bincount(slot, weights=np.square(tf.data), minlength=2 * n))
        norms[norms == 0] = 1.0
        factor = (np.tile([1.0, self.gram_weight], n) / norms).astype(np.float32)
        tf.data *= factor[slot]
        return self._add_keywords(tf, self._keyword_hits(counts, words, spaced)[1])

    def _add_keywords(self, tf: sp.csr_matrix, hits: np.ndarray) -> sp.csr_matrix:
        """Append the lexicon's columns: per term group (lexicon.py) and per topic, whether
        its terms occur in the item (0, or the group's or topic's weight).

        This prior knowledge is what carries the model to sources it was not trained on
        (see bench/levers.py: whole-source cross-validation).
        """
        weights = self._lexicon().weights
        rows, cols = np.nonzero(hits)
        at = tf.indptr[rows + 1]  # the end of each row: one copy, no hstack
        data = np.insert(tf.data, at, weights[cols])
        indices = np.insert(tf.indices, at, tf.shape[1] + cols)
        indptr = tf.indptr + np.concatenate([[0], np.cumsum(hits.sum(axis=1))])
        shape = (tf.shape[0], tf.shape[1] + hits.shape[1])
        return sp.csr_matrix((data, indices, indptr), shape=shape)

    def attribution(self, doc: Doc) -> tuple[list[str], sp.csr_matrix]:
        """Split one Doc's feature row by the term responsible for each part of it.

        Returns terms and a terms × features matrix whose rows sum to `transform([doc])`:
        a folded word carries its word feature and its share of every gram feature (the
        gram block is linear in the word counts); each keyword column goes to the first
        lexicon term found for it. A linear model's score then splits exactly over the terms.
        """
        counts, words, spaced = self._scan([doc])
        row = self.transform([doc])
        dense = row.toarray().ravel()
        per_word = (sp.diags(counts.toarray().ravel()) @ self._mapping(words)).tocsr()
        n_words = len(self.words_)
        is_word = per_word.indices < n_words
        gram_tf = np.asarray(per_word[:, n_words:].sum(axis=0)).ravel()
        gram_norm = np.linalg.norm(gram_tf * self.idf_[n_words:]) or 1.0
        scale = self.idf_[per_word.indices] * (self.gram_weight / gram_norm)
        per_word.data = np.where(is_word, dense[per_word.indices], per_word.data * scale)
        n_features = row.shape[1]
        lexicon = self._lexicon()
        found, hits = self._keyword_hits(counts, words, spaced)
        in_doc = np.flatnonzero(found[0])  # the lexicon terms found, in lexicon order
        cols = np.flatnonzero(hits[0])
        first = [in_doc[np.argmax(lexicon.columns[in_doc, c] > 0)] for c in cols]
        shown = [lexicon.shown[t] for t in first]
        cols = cols + n_features - hits.shape[1]
        keyword_block = sp.csr_matrix(
            (dense[cols], (range(len(cols)), cols)), shape=(len(cols), n_features)
        )
        per_word.resize(per_word.shape[0], n_features)
        return list(words) + shown, sp.vstack([per_word, keyword_block], format="csr")


class Lexicon:
    """The term groups a Vectorizer was fitted with (lexicon.py at fitting time), ready to
    find: `columns` maps terms to keyword columns (groups, then topics), `weights` is each
    column's value when present."""

    def __init__(
        self,
        terms: Sequence[str],
        groups: np.ndarray,
        rules: np.ndarray,
        topics: Sequence[str],
        group_weight: float,
        keyword_weight: float,
    ) -> None:
        self.index = TermIndex(terms)
        self.shown = [t.rstrip("*") for t in terms]
        n_groups = len(topics) if group_weight else 0
        self.columns = np.zeros((len(terms), n_groups + len(TOPICS)), np.float32)
        if n_groups:
            self.columns[np.arange(len(terms)), groups] = 1.0
        for k, topic in enumerate(TOPICS):
            term_topics = np.asarray(topics, dtype=object)[groups]
            self.columns[:, n_groups + k] = rules & (term_topics == topic)
        self.weights = np.asarray(
            [group_weight] * n_groups + [keyword_weight] * len(TOPICS), np.float32
        )

    @classmethod
    def of(cls, vectorizer: Vectorizer) -> Lexicon:
        """The vectorizer's fitted lexicon; the current one for a model fitted before
        lexicons were stored (it had topic flags only, from the same rule terms)."""
        if getattr(vectorizer, "lexicon_terms_", None) is None:
            terms, groups, rules = zip(*lexicon.entries(), strict=True)
            topics = [g.topic or "" for g in lexicon.GROUPS]
            weight = vectorizer.keyword_weight
            return cls(terms, np.asarray(groups), np.asarray(rules), topics, 0.0, weight)
        return cls(
            vectorizer.lexicon_terms_.tolist(),
            vectorizer.lexicon_groups_,
            vectorizer.lexicon_rules_,
            vectorizer.group_topics_.tolist(),
            getattr(vectorizer, "group_weight", 0.0),
            vectorizer.keyword_weight,
        )


class GramTrie:
    """The fitted grams as a trie in arrays, so a batch's words are split into grams and
    looked up by a few numpy gathers instead of a dict lookup per gram in Python (which made
    each new word cost tens of microseconds, and a cache of words tens of megabytes).

    `letter` maps a code point to its letter number (0: any other character), `child`
    maps node × letter to a node (node 0 is a dead end, 1 the root) and `column` maps a node
    to the column of the gram spelled on the way to it, or -1.
    """

    def __init__(self, grams: Sequence[str]) -> None:
        letters = sorted({c for g in grams for c in g})  # a-z and the space of the padding
        self.letter = np.zeros(max(map(ord, letters), default=0) + 2, np.int32)  # last: other
        self.letter[[ord(c) for c in letters]] = np.arange(1, len(letters) + 1)
        self.lengths = set(map(len, grams))
        self.depth = max(self.lengths, default=0)
        width = len(letters) + 1
        # Grams as rows of letter numbers; built a level at a time, in numpy.
        lengths = np.fromiter(map(len, grams), np.int64, len(grams))
        padded = "".join(g.ljust(self.depth, "\0") for g in grams).encode("utf-32-le")
        spelled = self.letter[np.frombuffer(padded, np.uint32)].reshape(len(grams), self.depth)
        at = np.ones(len(grams), np.int64)  # each gram's node so far: the root
        edges, nodes, rows, count = [], [], 2, 2  # nodes 0 (dead end) and 1 (root)
        for n in range(self.depth):
            going = np.flatnonzero(lengths > n)
            # A node's children differ by a letter: node × width + letter both names a child
            # and is its place in `child`.
            keys, which = np.unique(at[going] * width + spelled[going, n], return_inverse=True)
            edges.append(keys)
            nodes.append(np.arange(count, count + len(keys)))
            at[going] = nodes[-1][which]
            rows, count = count, count + len(keys)  # the deepest nodes need no row
        self.child = np.zeros((rows, width), np.int32)
        if edges:
            self.child.ravel()[np.concatenate(edges)] = np.concatenate(nodes)
        self.column = np.full(count, -1, np.int32)
        self.column[at] = np.arange(len(grams))

    def find(self, words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(word, column) of every fitted gram of every padded word, repeats included: the
        grams of `char_grams`, but for the whole batch at once."""
        if not words or not self.depth:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        # "| w1 | w2 |…": a gram running past its word meets a "|" (in no gram): a dead end.
        text = "| " + " | ".join(words) + " " + "|" * self.depth
        points = np.frombuffer(text.encode("utf-32-le"), np.uint32)
        letters = self.letter.take(np.minimum(points, len(self.letter) - 1))
        lengths = np.fromiter(map(len, words), np.int64, len(words))
        word = np.repeat(np.arange(len(words)), lengths + 3)
        starts, width, child = len(word), self.child.shape[1], self.child.ravel()
        node = np.ones(starts, np.int64)
        rows, cols = [], []
        for n in range(self.depth):  # node: the gram of length n + 1 at each start
            node = child.take(node * width + letters[n : n + starts])
            if n + 1 not in self.lengths:  # no gram is 1 or 2 letters long: skip the lookup
                continue
            column = self.column.take(node)
            hit = np.flatnonzero(column >= 0)
            rows.append(word.take(hit))
            cols.append(column.take(hit))
        return np.concatenate(rows), np.concatenate(cols)
