"""Training: cross-validated scores first (for calibration, thresholds and honest figures),
then the final fit on every example.

The folds are stratified on each example's label set, so every fold sees the rare
combinations. The same folds score the keyword baseline, so the two are compared on equal
terms. `groups` (an example's source) gives the held-out-source check instead: every fold
leaves whole sources out, which is what a new feed looks like to the model.
"""

from __future__ import annotations

import hashlib
import logging
import platform
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, StratifiedKFold

from veille.classify import metrics
from veille.classify.baseline import keyword_labels
from veille.classify.model import UNSURE_BAND, Calibration, Model, build_pipeline
from veille.errors import VeilleError
from veille.types import TOPICS, Example

log = logging.getLogger(__name__)
MIN_POSITIVES = 5  # per topic, below this there is nothing to learn from


@dataclass
class TrainResult:
    model: Model
    metrics: dict  # cross-validated figures of the model and of the keyword baseline
    sizes: dict[str, int]  # positive examples per topic, plus "off_topic" and "total"
    data_hash: str
    seconds: float
    oof_scores: np.ndarray = field(repr=False)  # calibrated, cross-validated: the model card
    truth: np.ndarray = field(repr=False)


def data_hash(examples: Sequence[Example]) -> str:
    """The same labelled data, in any order, gives the same hash."""
    lines = sorted(
        f"{e.key}\t{','.join(sorted(e.labels))}\t"
        + hashlib.sha256(f"{e.doc.title}\n{e.doc.summary}\n{e.doc.text}".encode()).hexdigest()
        for e in examples
    )
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


class NotEnoughLabels(VeilleError):
    """Too few labelled items per topic (or off-topic) to train; pages say so by this type."""


def check_trainable(examples: Sequence[Example], folds: int) -> None:
    truth = metrics.indicator([e.labels for e in examples])
    short = [t for j, t in enumerate(TOPICS) if truth[:, j].sum() < max(MIN_POSITIVES, folds)]
    if short or (~truth.any(axis=1)).sum() < folds:
        missing = ", ".join(short) if short else "off-topic"
        raise NotEnoughLabels(
            f"not enough labelled items to train ({len(examples)} in all; too few for "
            f"{missing}): label at least {max(MIN_POSITIVES, folds)} items per topic and some "
            "off-topic ones on the review page, or pass --labels/--corpus"
        )


def cross_validated_decisions(
    examples: Sequence[Example], *, seed: int = 0, folds: int = 5, by_source: bool = False
) -> np.ndarray:
    """Out-of-fold decision values (items × topics) of a fresh pipeline per fold."""
    docs = [e.doc for e in examples]
    truth = metrics.indicator([e.labels for e in examples])
    if by_source:
        splits = GroupKFold(folds).split(docs, groups=[e.source for e in examples])
    else:
        keys = ["+".join(sorted(e.labels)) for e in examples]
        common = Counter(keys)
        keys = [k if common[k] >= folds else "rare" for k in keys]
        splits = StratifiedKFold(folds, shuffle=True, random_state=seed).split(docs, keys)
    decisions = np.zeros(truth.shape)
    for train_idx, test_idx in splits:
        pipe = clone(build_pipeline(seed)).fit([docs[i] for i in train_idx], truth[train_idx])
        decisions[test_idx] = pipe.decision_function([docs[i] for i in test_idx])
    return decisions


def fit_calibration(decisions: np.ndarray, truth: np.ndarray) -> Calibration:
    """Platt scaling: a one-feature logistic regression per topic on out-of-fold values."""
    slope, intercept = {}, {}
    for j, topic in enumerate(TOPICS):
        platt = LogisticRegression(C=1e4).fit(decisions[:, [j]], truth[:, j])
        slope[topic] = round(float(platt.coef_[0, 0]), 6)
        intercept[topic] = round(float(platt.intercept_[0]), 6)
    return Calibration(slope, intercept)


def held_out_by_source(examples: Sequence[Example], *, seed: int = 0, folds: int = 5) -> dict:
    """Macro-F1 when whole sources are left out of training, model and baseline.

    Thresholds and calibration come from the same out-of-fold scores (as in `train`), so this
    measures how well the ranking carries to unseen sources.
    """
    start = time.perf_counter()
    truth = metrics.indicator([e.labels for e in examples])
    folds = min(folds, len({e.source for e in examples}))
    decisions = cross_validated_decisions(examples, seed=seed, folds=folds, by_source=True)
    scores = fit_calibration(decisions, truth).apply(decisions)
    found = metrics.report(
        truth, metrics.apply_thresholds(scores, metrics.best_thresholds(truth, scores))
    )
    return {
        "folds": folds,
        "macro_f1": found["macro_f1"],
        "topics": {t: found["topics"][t]["f1"] for t in TOPICS},
        "baseline_macro_f1": baseline_report(examples)["macro_f1"],
        "seconds": round(time.perf_counter() - start, 1),
    }


def baseline_report(examples: Sequence[Example]) -> dict:
    truth = metrics.indicator([e.labels for e in examples])
    return metrics.report(truth, metrics.indicator([keyword_labels(e.doc) for e in examples]))


def train(
    examples: Sequence[Example], *, seed: int = 0, folds: int = 5, by_source: bool = False
) -> TrainResult:
    """Cross-validate, calibrate, choose thresholds, then fit on everything.

    `by_source` adds the held-out-source check (as many fits again) to the figures; the
    training time reported leaves it out.
    """
    start = time.perf_counter()
    check_trainable(examples, folds)
    truth = metrics.indicator([e.labels for e in examples])
    decisions = cross_validated_decisions(examples, seed=seed, folds=folds)
    calibration = fit_calibration(decisions, truth)
    scores = calibration.apply(decisions)
    thresholds = metrics.best_thresholds(truth, scores)
    predicted = metrics.apply_thresholds(scores, thresholds)
    figures = {
        "cv": {
            "folds": folds,
            "seed": seed,
            **metrics.report(truth, predicted),
            "confusion": metrics.confusion(truth, predicted),
        },
        "baseline": baseline_report(examples),
    }
    pipeline = build_pipeline(seed).fit([e.doc for e in examples], truth)
    seconds = round(time.perf_counter() - start, 1)
    if by_source:
        figures["held_out_sources"] = held_out_by_source(examples, seed=seed, folds=folds)
    model = Model.of(
        pipeline, calibration, thresholds=thresholds, metrics=figures, unsure_band=UNSURE_BAND
    )
    sizes = {t: int(truth[:, j].sum()) for j, t in enumerate(TOPICS)}
    sizes |= {"off_topic": int((~truth.any(axis=1)).sum()), "total": len(examples)}
    sizes["curated"] = sum(1 for e in examples if e.curated)
    log.info(
        "trained",
        extra={
            "stage": "classify",
            "items": len(examples),
            "seconds": seconds,
            "macro_f1": figures["cv"]["macro_f1"],
        },
    )
    return TrainResult(model, figures, sizes, data_hash(examples), seconds, scores, truth)


def library_versions() -> dict[str, str]:
    import scipy
    import sklearn
    import skops

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "skops": skops.__version__,
    }
