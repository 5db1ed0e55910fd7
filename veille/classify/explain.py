"""Why an item got its score: the terms that pushed it up or down, exactly.

The score of a topic is sigmoid(a·(w·x + w0) + b): a linear function inside a monotonic one.
TextFeatures.attribution splits the feature row x over the item's terms, so each term's share
a·(w·x_term) adds up, with the intercept a·w0 + b, to the score's log-odds — no sampling, no
approximation (a test checks the sum). Terms are shown in the form the item uses
("coopérative", not the folded "cooperative"); function words are not listed.

An item scored with its source's offset (offsets.py: curators' judgements of the source's
items, added to the log-odds) has it as one more term, SOURCE_TERM, so the shares still add
up to the score stored; the web page names it in words.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from veille.classify.text import FUNCTION_WORDS, surface_forms
from veille.errors import VeilleError
from veille.types import TOPICS, Doc

if TYPE_CHECKING:
    from veille.classify.model import Model

SOURCE_TERM = "⟨source⟩"  # the source's offset; no term of a text has this form


def contributions(
    model: Model,
    doc: Doc,
    topic: str,
    *,
    function_words: bool = False,
    offset: np.ndarray | None = None,
) -> tuple[dict[str, float], float]:
    """Every term's share of `topic`'s log-odds, and the log-odds every item starts from.

    Function words ("de", "the") are left out unless asked for; with them, the shares plus
    the base add up to the score's log-odds exactly. With the source's `offset` (per topic,
    what Model.predict was given), its share is the SOURCE_TERM entry.
    """
    if topic not in TOPICS:
        raise VeilleError(f"unknown topic {topic!r}: expected one of {', '.join(TOPICS)}")
    j = TOPICS.index(topic)
    slope = model.calibration.slope[topic]
    terms, parts = model.linear.features.attribution(doc)
    shares = slope * (parts @ model.linear.weights[:, j])
    forms = surface_forms(doc)
    out: dict[str, float] = {}
    for term, share in zip(terms, shares, strict=True):
        if share and (function_words or term not in FUNCTION_WORDS):
            shown = forms.get(term, term)
            out[shown] = out.get(shown, 0.0) + float(share)
    if offset is not None and float(offset[j]):
        out[SOURCE_TERM] = float(offset[j])
    base = slope * float(model.linear.intercepts[j]) + model.calibration.intercept[topic]
    return out, base


def top_terms(
    model: Model, doc: Doc, topic: str, k: int = 8, *, offset: np.ndarray | None = None
) -> list[tuple[str, float]]:
    """The k largest shares by size, rounded; positive pushes the score up. The source's
    offset, when it moves the score, is listed too, in its place by size, beyond the k."""
    shares, _ = contributions(model, doc, topic, offset=offset)
    source = shares.pop(SOURCE_TERM, 0.0)
    ranked = sorted(shares.items(), key=lambda kv: (-abs(kv[1]), kv[0]))[: max(k, 0)]
    if round(source, 4):
        ranked = sorted([*ranked, (SOURCE_TERM, source)], key=lambda kv: -abs(kv[1]))
    return [(term, round(value, 4)) for term, value in ranked if round(value, 4)]


def log_odds(probability: float) -> float:
    p = min(max(probability, 1e-12), 1 - 1e-12)
    return float(np.log(p / (1 - p)))
