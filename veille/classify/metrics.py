"""The figures a model is judged by: per-topic precision, recall and F1, macro-F1, off-topic
precision, and the thresholds that maximise F1. One function serves `veille train` (on
cross-validated scores), `veille evaluate` (on a labelled file) and the keyword baseline.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import precision_recall_curve, precision_recall_fscore_support

from veille.types import TOPICS


def indicator(labels: Sequence[Sequence[str]]) -> np.ndarray:
    """Label lists → an items × topics 0/1 matrix in taxonomy order."""
    return np.asarray([[t in set(ls) for t in TOPICS] for ls in labels], dtype=np.int8).reshape(
        len(labels), len(TOPICS)
    )


def report(truth: np.ndarray, predicted: np.ndarray) -> dict:
    """Per topic P/R/F1/support, macro-F1, and how trustworthy an "off-topic" verdict is."""
    p, r, f, support = precision_recall_fscore_support(
        truth, predicted, average=None, zero_division=0
    )
    out: dict = {
        "topics": {
            t: {
                "precision": round(float(p[j]), 4),
                "recall": round(float(r[j]), 4),
                "f1": round(float(f[j]), 4),
                "support": int(support[j]),
            }
            for j, t in enumerate(TOPICS)
        },
        "macro_f1": round(float(np.mean(f)), 4),
        "items": int(len(truth)),
    }
    said_off = ~predicted.any(axis=1)
    truly_off = ~truth.any(axis=1)
    hits = float((said_off & truly_off).sum())
    p_off, r_off = hits / max(said_off.sum(), 1), hits / max(truly_off.sum(), 1)
    out["off_topic"] = {
        "precision": round(p_off, 4),
        "recall": round(r_off, 4),
        "f1": round(2 * p_off * r_off / (p_off + r_off) if hits else 0.0, 4),
        "support": int(truly_off.sum()),
    }
    return out


def in_scope_precision(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Of the items given at least one topic, the share that truly has one: how often a
    subscriber's entry is not off-topic."""
    said = predicted.any(axis=1)
    return round(float(truth[said].any(axis=1).mean()), 4) if said.any() else 0.0


def best_thresholds(truth: np.ndarray, scores: np.ndarray, floor: float = 0.05) -> dict[str, float]:
    """Per topic, the score threshold that maximises F1 on (cross-validated) scores.

    The threshold is put halfway between the chosen score and the next lower one, so a new
    item scoring like the weakest kept training item is kept too.
    """
    out = {}
    for j, topic in enumerate(TOPICS):
        precision, recall, cuts = precision_recall_curve(truth[:, j], scores[:, j])
        f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
        best = int(np.argmax(f1[:-1]))
        below = scores[:, j][scores[:, j] < cuts[best]]
        cut = (cuts[best] + below.max()) / 2 if len(below) else cuts[best]
        out[topic] = round(float(min(max(cut, floor), 1 - floor)), 4)
    return out


def apply_thresholds(scores: np.ndarray, thresholds: dict[str, float]) -> np.ndarray:
    return (scores >= np.asarray([thresholds[t] for t in TOPICS])).astype(np.int8)


def confusion(truth: np.ndarray, predicted: np.ndarray) -> dict[str, dict[str, int]]:
    """Per topic the 2×2 table (true/false positives/negatives) the model card draws."""
    out = {}
    for j, topic in enumerate(TOPICS):
        t, p = truth[:, j].astype(bool), predicted[:, j].astype(bool)
        out[topic] = {
            "tp": int((t & p).sum()),
            "fp": int((~t & p).sum()),
            "fn": int((t & ~p).sum()),
            "tn": int((~t & ~p).sum()),
        }
    return out
