"""Per-source offsets: how far a source's scores sit from what its judged items say.

Several feeds are mostly one topic or mostly off-topic, and a model that never saw a feed
scores all its items too high or too low on some topic. Once curators judged a few of a
source's items, each topic's bias on that source is one number: the shift δ of the log-odds
that best fits the judged items (a one-parameter logistic regression on the calibrated
scores), with a Gaussian prior centred on 0 (PRIOR is its precision, in log-odds units), so
a source with few judged items moves little and the shift grows with the evidence.

    p' = sigmoid(logit(p) + δ[topic])

It is monotonic per topic, so the review queue, thresholds and explanations keep their
meaning; it needs no retraining, so it applies from the next item pulled.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logit

PRIOR = 1.0  # precision of the prior on δ (δ ~ N(0, 1) in log-odds)
LIMIT = 3.0  # |δ| never exceeds this
EPS = 1e-4


def fit_offsets(scores: np.ndarray, truth: np.ndarray, prior: float = PRIOR) -> np.ndarray:
    """Per topic, the shift δ maximising the judged items' likelihood under the prior.

    `scores` are calibrated probabilities (items × topics), `truth` 0/1 of the same shape.
    No items: zeros."""
    scores = np.asarray(scores, dtype=float).reshape(-1, np.shape(truth)[-1])
    truth = np.asarray(truth, dtype=float).reshape(scores.shape)
    z = logit(np.clip(scores, EPS, 1 - EPS))
    delta = np.zeros(scores.shape[1])
    for _ in range(25):  # Newton's method on a strictly convex function of one variable
        p = expit(z + delta)
        gradient = (p - truth).sum(axis=0) + prior * delta
        curvature = (p * (1 - p)).sum(axis=0) + prior
        step = gradient / curvature
        delta = np.clip(delta - step, -LIMIT, LIMIT)
        if np.abs(step).max() < 1e-6:
            break
    return delta


def shift(scores: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """Scores moved by δ per topic in log-odds."""
    z = logit(np.clip(np.asarray(scores, dtype=float), EPS, 1 - EPS))
    return expit(z + np.asarray(delta, dtype=float))
