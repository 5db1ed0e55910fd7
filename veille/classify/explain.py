"""Why an item got its score: the terms that pushed it up or down, exactly.

The score of a topic is sigmoid(a·(w·x + w0) + b): a linear function inside a monotonic one.
TextFeatures.attribution splits the feature row x over the item's terms, so each term's share
a·(w·x_term) adds up, with the intercept a·w0 + b, to the score's log-odds — no sampling, no
approximation (a test checks the sum). Terms are shown in the form the item uses
("coopérative", not the folded "cooperative"); function words are not listed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from veille.classify.text import FUNCTION_WORDS, surface_forms
from veille.errors import VeilleError
from veille.types import TOPICS, Doc

if TYPE_CHECKING:
    from veille.classify.model import Model


def contributions(
    model: Model, doc: Doc, topic: str, *, function_words: bool = False
) -> tuple[dict[str, float], float]:
    """Every term's share of `topic`'s log-odds, and the log-odds every item starts from.

    Function words ("de", "the") are left out unless asked for; with them, the shares plus
    the base add up to the score's log-odds exactly.
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
    base = slope * float(model.linear.intercepts[j]) + model.calibration.intercept[topic]
    return out, base


def top_terms(model: Model, doc: Doc, topic: str, k: int = 8) -> list[tuple[str, float]]:
    """The k largest shares by size, rounded; positive pushes the score up."""
    shares, _ = contributions(model, doc, topic)
    ranked = sorted(shares.items(), key=lambda kv: (-abs(kv[1]), kv[0]))[: max(k, 0)]
    return [(term, round(value, 4)) for term, value in ranked if round(value, 4)]


def log_odds(probability: float) -> float:
    p = min(max(probability, 1e-12), 1 - 1e-12)
    return float(np.log(p / (1 - p)))
