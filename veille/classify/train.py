"""Training: cross-validated scores first (for calibration, thresholds, the unsure band and
honest figures), then the final fit on every example.

The folds leave whole sources out (GroupKFold on an example's source): that is what a new
feed looks like to the model, and the figure users meet (the seed labels: same-source folds
said 0.81 macro-F1 where whole-source ones said 0.72). Stratified folds on each example's
label set, so every fold sees the rare combinations, give the same-source figure beside it,
and stand in when there are too few sources.
"""

from __future__ import annotations

import hashlib
import logging
import platform
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, StratifiedKFold

from veille.classify import band, metrics
from veille.classify.baseline import keyword_labels
from veille.classify.model import UNSURE_BAND, Calibration, Model, build_pipeline
from veille.errors import VeilleError
from veille.types import TOPICS, Example

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

log = logging.getLogger(__name__)
MIN_POSITIVES = 5  # per topic, below this there is nothing to learn from
MIN_SOURCES = 3  # fewer distinct sources: whole-source folds say nothing, stratified ones do
SOURCE_WEIGHTS = "none"  # how examples are weighted by source (source_weights; bench/levers)


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


def splits(
    examples: Sequence[Example], *, seed: int = 0, folds: int = 5, by_source: bool = False
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) indices of each fold: whole sources left out, or stratified on labels."""
    if by_source:
        groups = [e.source for e in examples]
        folds = min(folds, len(set(groups)))
        found = GroupKFold(folds, shuffle=True, random_state=seed).split(examples, groups=groups)
    else:
        keys = ["+".join(sorted(e.labels)) for e in examples]
        common = Counter(keys)
        keys = [k if common[k] >= folds else "rare" for k in keys]
        found = StratifiedKFold(folds, shuffle=True, random_state=seed).split(examples, keys)
    return [(np.asarray(a), np.asarray(b)) for a, b in found]


def by_source_possible(examples: Sequence[Example], *, seed: int = 0, folds: int = 5) -> bool:
    """Whole-source folds need MIN_SOURCES sources and, in each fold's training part, items
    with and without every topic (curators' labels of one or two feeds have not)."""
    if len({e.source for e in examples}) < MIN_SOURCES:
        return False
    truth = metrics.indicator([e.labels for e in examples])
    for train_idx, _ in splits(examples, seed=seed, folds=folds, by_source=True):
        positives = truth[train_idx].sum(axis=0)
        if positives.min() < 1 or (positives == len(train_idx)).any():
            return False
    return True


def cross_validated_decisions(
    examples: Sequence[Example], *, seed: int = 0, folds: int = 5, by_source: bool = False
) -> np.ndarray:
    """Out-of-fold decision values (items × topics) of a fresh pipeline per fold."""
    docs = [e.doc for e in examples]
    truth = metrics.indicator([e.labels for e in examples])
    decisions = np.zeros(truth.shape)
    for train_idx, test_idx in splits(examples, seed=seed, folds=folds, by_source=by_source):
        part = [examples[i] for i in train_idx]
        pipe = fit_pipeline(part, truth[train_idx], seed)
        decisions[test_idx] = pipe.decision_function([docs[i] for i in test_idx])
    return decisions


def fit_pipeline(examples: Sequence[Example], truth: np.ndarray, seed: int = 0) -> Pipeline:
    """A fresh pipeline fitted on `examples`, each source's items weighted (SOURCE_WEIGHTS)."""
    pipe = clone(build_pipeline(seed))
    weights = source_weights([e.source for e in examples], SOURCE_WEIGHTS)
    if weights is None:
        return pipe.fit([e.doc for e in examples], truth)
    return pipe.fit([e.doc for e in examples], truth, topics__sample_weight=weights)


def source_weights(sources: Sequence[str], scheme: str = "sqrt") -> np.ndarray | None:
    """Per example, a weight that evens out how much each source counts (mean 1).

    Several seed sources are almost all one label or all off-topic; with plain weights the
    n-grams learn those sources' style. "equal": every source counts the same (1/n per item);
    "sqrt": 1/sqrt(n); "cap": an item of a source larger than the median source counts
    median/n; "none": no weights (None).
    """
    if scheme == "none" or not sources:
        return None
    counts = Counter(sources)
    n = np.asarray([counts[s] for s in sources], dtype=float)
    if scheme == "equal":
        weights = 1.0 / n
    elif scheme == "sqrt":
        weights = 1.0 / np.sqrt(n)
    elif scheme == "cap":
        weights = np.minimum(1.0, np.median(list(counts.values())) / n)
    else:
        raise ValueError(f"unknown source weighting {scheme!r}")
    return weights / weights.mean()


def fit_calibration(decisions: np.ndarray, truth: np.ndarray) -> Calibration:
    """Platt scaling: a one-feature logistic regression per topic on out-of-fold values."""
    slope, intercept = {}, {}
    for j, topic in enumerate(TOPICS):
        platt = LogisticRegression(C=1e4).fit(decisions[:, [j]], truth[:, j])
        slope[topic] = round(float(platt.coef_[0, 0]), 6)
        intercept[topic] = round(float(platt.intercept_[0]), 6)
    return Calibration(slope, intercept)


def baseline_report(examples: Sequence[Example]) -> dict:
    truth = metrics.indicator([e.labels for e in examples])
    return metrics.report(truth, metrics.indicator([keyword_labels(e.doc) for e in examples]))


def evaluate_oof(truth: np.ndarray, decisions: np.ndarray, **about: object) -> dict:
    """Calibration, thresholds and the figures they give, from out-of-fold decision values."""
    calibration = fit_calibration(decisions, truth)
    scores = calibration.apply(decisions)
    thresholds = metrics.best_thresholds(truth, scores)
    predicted = metrics.apply_thresholds(scores, thresholds)
    figures = {
        **about,
        **metrics.report(truth, predicted),
        "in_scope_precision": metrics.in_scope_precision(truth, predicted),
        "confusion": metrics.confusion(truth, predicted),
    }
    return {"calibration": calibration, "scores": scores, "thresholds": thresholds} | {
        "figures": figures
    }


def train(
    examples: Sequence[Example], *, seed: int = 0, folds: int = 5, same_source: bool = True
) -> TrainResult:
    """Cross-validate, calibrate, choose thresholds and the unsure band, then fit on everything.

    Whole-source cross-validation (every fold leaves whole sources out: a new feed, as the
    model meets it) chooses calibration, thresholds and band and is the figure recorded as
    `metrics["cv"]`, when the examples allow it (by_source_possible); otherwise, curators'
    labels of a few feeds alone for instance, stratified folds do, and `cv["scheme"]` says so.
    `same_source` adds the stratified figure beside it (`metrics["same_source"]`: as many
    fits again; the training time reported leaves it out).
    """
    start = time.perf_counter()
    check_trainable(examples, folds)
    truth = metrics.indicator([e.labels for e in examples])
    whole = by_source_possible(examples, seed=seed, folds=folds)
    scheme = "whole_source" if whole else "stratified"
    n_folds = min(folds, len({e.source for e in examples})) if whole else folds
    decisions = cross_validated_decisions(examples, seed=seed, folds=n_folds, by_source=whole)
    oof = evaluate_oof(truth, decisions, scheme=scheme, folds=n_folds, seed=seed)
    calibration, scores, thresholds = oof["calibration"], oof["scores"], oof["thresholds"]
    unsure = band.choose(truth, scores, thresholds)
    figures = {
        "cv": oof["figures"] | {"band": band.figures(truth, scores, thresholds, unsure)},
        "baseline": baseline_report(examples),
    }
    pipeline = fit_pipeline(examples, truth, seed)
    seconds = round(time.perf_counter() - start, 1)
    if whole and same_source:
        same = cross_validated_decisions(examples, seed=seed, folds=folds)
        figures["same_source"] = evaluate_oof(
            truth, same, scheme="stratified", folds=folds, seed=seed
        )["figures"]
    model = Model.of(
        pipeline,
        calibration,
        thresholds=thresholds,
        metrics=figures,
        unsure_band=UNSURE_BAND,
        band=unsure,
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
            "scheme": scheme,
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
