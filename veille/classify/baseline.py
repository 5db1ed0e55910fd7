"""The keyword-rules baseline: how feed readers filter (Miniflux's keep rules, FreshRSS filters).

Each topic keeps an item when one of its terms, named by ../shared/taxonomy.md in French and
English (the `rules` of lexicon.py), occurs in the title or text (accent-folded, whole words,
a trailing `*` matches any ending). The model has to beat this by a wide margin to be worth
its weight; `veille train` prints both side by side.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from veille.classify import lexicon
from veille.classify.text import TOKEN, fold, folded
from veille.types import TOPICS, Doc, Prediction

# The terms the taxonomy names for each topic, kept with the rest of its vocabulary.
KEYWORDS: dict[str, tuple[str, ...]] = {topic: lexicon.rule_terms(topic) for topic in TOPICS}


def _pattern(terms: tuple[str, ...]) -> re.Pattern[str]:
    """One regex per topic, its alternatives factored into a trie: Python's `re` tries the
    branches of an alternation one by one, and a flat list of 60 terms is three times slower."""
    trie: dict = {}
    for term in terms:
        node = trie
        for char in fold(term).rstrip("*"):
            node = node.setdefault(char, {})
        node[""] = r"\w*" if term.endswith("*") else ""
    return re.compile(r"\b" + _alternatives(trie) + r"\b")


def _alternatives(node: dict) -> str:
    branches = [re.escape(char) + _alternatives(sub) for char, sub in sorted(node.items()) if char]
    end = node.get("")
    if end is not None:
        if not branches or end:  # a term stops here; `\w*` already covers longer words
            return end
        return "(?:" + "|".join(branches) + ")?"
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


_PATTERNS = {topic: _pattern(KEYWORDS[topic]) for topic in TOPICS}


def _needs(term: str) -> tuple[frozenset[str], str]:
    """The words an item must contain for `term` to occur in it, and its open-ended prefix
    when it is a single word ending in `*` (then no whole word is required)."""
    words = TOKEN.findall(fold(term.rstrip("*")))
    if term.endswith("*") and words:
        prefix = words.pop()
        return frozenset(words), prefix if not words else ""
    return frozenset(words), ""


_NEEDS = {topic: [_needs(term) for term in KEYWORDS[topic]] for topic in TOPICS}
# Open-ended prefixes, each after a space: `" cooperat" in " " + " ".join(words)` tells
# whether a word starts with it in one substring search (C) instead of a test per word.
_PREFIXES = {topic: tuple(" " + p for _, p in _NEEDS[topic] if p) for topic in TOPICS}
# Each term's words, filed under the longest one: an item lacking every such anchor word
# cannot contain the term, and that is one set intersection in C.
_ANCHORED: dict[str, dict[str, list[frozenset[str]]]] = {topic: {} for topic in TOPICS}
for _topic, _needed in _NEEDS.items():
    for _words, _ in _needed:
        if _words:
            _ANCHORED[_topic].setdefault(max(sorted(_words), key=len), []).append(_words)
_ANCHORS = {topic: frozenset(_ANCHORED[topic]) for topic in TOPICS}


def _possible(topic: str, words: Collection[str], spaced: str) -> bool:
    """A cheap necessary condition on the item's words (`spaced`: the words, each after a
    space); the regex then decides. Most items fail it for most topics, and a regex over the
    whole text is the costly part."""
    for anchor in _ANCHORS[topic].intersection(words):
        if any(all(w in words for w in needed) for needed in _ANCHORED[topic][anchor]):
            return True
    return any(prefix in spaced for prefix in _PREFIXES[topic])


def matches(words: Collection[str], text: str) -> dict[str, str | None]:
    """Per topic, the first of its terms found in folded `text` (whose words are `words`)."""
    spaced = " " + " ".join(words)
    out: dict[str, str | None] = {}
    for topic in TOPICS:
        found = _PATTERNS[topic].search(text) if _possible(topic, words, spaced) else None
        out[topic] = found.group(0) if found else None
    return out


def keyword_matches(doc: Doc) -> dict[str, str | None]:
    """Per topic, the first of its terms found in the item (folded), or None."""
    title, body = folded(doc)
    text = f"{title}\n{body}"
    return matches(set(TOKEN.findall(text)), text)


def keyword_labels(doc: Doc) -> tuple[str, ...]:
    """The topics whose terms occur in the item, in taxonomy order."""
    return tuple(topic for topic, term in keyword_matches(doc).items() if term)


def keyword_predict(docs: list[Doc]) -> list[Prediction]:
    """Predictions with 0/1 scores, so the baseline goes through the same metrics."""
    out = []
    for doc in docs:
        labels = keyword_labels(doc)
        out.append(Prediction(labels, {t: float(t in labels) for t in TOPICS}, (), "keywords"))
    return out
