"""The model: one scikit-learn Pipeline (features → one linear SVM per topic), Platt calibration
of its scores, and a per-topic threshold with an "unsure" band around it. Scoring goes through
the Pipeline's linear form (linear.py), so only training ever needs scikit-learn.

Why these choices (5-fold cross-validation on the seed labels, see MODEL_CARD.md): a linear
SVM matches logistic regression's F1 on these features and trains five times faster; its
decision values are mapped to probabilities by a sigmoid fitted on cross-validated values
(Platt scaling), which is monotonic, so the thresholds, the ranking and the explanations
(exact for a linear model) all stay consistent with the scores a curator sees.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import expit

from veille.classify.linear import Linear
from veille.types import TOPICS, Doc, Prediction

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

log = logging.getLogger(__name__)
UNSURE_BAND = 0.1  # a score this close to its threshold is flagged for a curator
BATCH = 2000  # docs per transform call: bounds memory on very large inputs


def build_pipeline(seed: int = 0, c: float = 0.5) -> Pipeline:
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.svm import LinearSVC

    from veille.classify.features import TextFeatures

    svm = LinearSVC(C=c, class_weight="balanced", random_state=seed)
    return Pipeline([("features", TextFeatures()), ("topics", OneVsRestClassifier(svm))])


@dataclass(frozen=True)
class Calibration:
    """Per topic, probability = sigmoid(slope × decision value + intercept)."""

    slope: dict[str, float]
    intercept: dict[str, float]

    def apply(self, decisions: np.ndarray, offset: np.ndarray | None = None) -> np.ndarray:
        """Probabilities; `offset` (per topic, log-odds) is added inside the sigmoid, so the
        score's log-odds are exactly the explanation's terms plus the offset."""
        a = np.asarray([self.slope[t] for t in TOPICS])
        b = np.asarray([self.intercept[t] for t in TOPICS])
        if offset is not None:
            b = b + np.asarray(offset, dtype=float)
        return expit(decisions * a + b)

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {t: {"slope": self.slope[t], "intercept": self.intercept[t]} for t in TOPICS}

    @classmethod
    def from_dict(cls, data: dict[str, dict[str, float]]) -> Calibration:
        return cls(
            {t: float(data[t]["slope"]) for t in TOPICS},
            {t: float(data[t]["intercept"]) for t in TOPICS},
        )


@dataclass
class Model:
    """A trained classifier as the rest of veille uses it."""

    linear: Linear
    calibration: Calibration
    thresholds: dict[str, float]
    version: str = ""
    metrics: dict = field(default_factory=dict)
    unsure_band: float = UNSURE_BAND
    sidecar: dict = field(default_factory=dict)
    # Per topic [low, high): a score there is unsure (band.py); default threshold ± unsure_band.
    band: dict[str, list[float]] = field(default_factory=dict)
    # Gives the fitted Pipeline (read from its artefact only when asked: training and tests).
    fitted: Callable[[], Pipeline] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, pipeline: Pipeline, calibration: Calibration, **kwargs: object) -> Model:
        return cls(Linear.of(pipeline), calibration, fitted=lambda: pipeline, **kwargs)

    @cached_property
    def pipeline(self) -> Pipeline:
        if self.fitted is None:
            raise AttributeError("this model was loaded without its fitted pipeline")
        return self.fitted()

    def scores(self, docs: Sequence[Doc], offset: np.ndarray | None = None) -> np.ndarray:
        """Calibrated probabilities, items × topics in taxonomy order; `offset` (per topic,
        log-odds: source_offset) shifts them, the docs being one source's."""
        if not docs:
            return np.zeros((0, len(TOPICS)))
        batches = [docs[i : i + BATCH] for i in range(0, len(docs), BATCH)]
        parts = [self.linear.decisions(list(batch)) for batch in batches]
        decisions = np.vstack(parts).reshape(len(docs), len(TOPICS))
        return self.calibration.apply(decisions, offset)

    @property
    def trained_until(self) -> datetime | None:
        """Curator judgements made after this are ones the model did not train on (the last
        curator judgement it trained on; None: it trained on none, every judgement is new).
        A model whose sidecar does not say: its creation time."""
        training = self.sidecar.get("training")
        if isinstance(training, dict):
            until = training.get("curated_until")
            if until or not training.get("curated"):
                return _aware(datetime.fromisoformat(until)) if until else None
        created = self.sidecar.get("created_at")
        return _aware(datetime.fromisoformat(created)) if created else None

    def bounds(self) -> dict[str, list[float]]:
        """Per topic the unsure band [low, high)."""
        from veille.classify.band import around

        return self.band or around(self.thresholds, self.unsure_band)

    def source_offset(
        self, docs: Sequence[Doc], labels: Sequence[Sequence[str]]
    ) -> np.ndarray | None:
        """Per topic, the log-odds shift that fits curators' calls on some judged items of one
        source (offsets.fit_offsets on this model's scores of them); None without items.

        Pass only items this model did not train on (judged after it was trained): on its own
        training items a model is right by construction and the shift says nothing."""
        from veille.classify.offsets import fit_offsets  # no scikit-learn: the pull calls it

        if not docs:
            return None
        truth = np.asarray([[t in set(ls) for t in TOPICS] for ls in labels], dtype=float)
        return fit_offsets(self.scores(docs), truth.reshape(len(docs), len(TOPICS)))

    def predict(self, docs: Sequence[Doc], offset: np.ndarray | None = None) -> list[Prediction]:
        """Labels (score ≥ threshold), scores and unsure topics (low ≤ score < high) for each
        doc, in order. `offset` (per topic, source_offset): the docs are one source's and
        their scores are shifted by it (log-odds) before thresholds and band apply."""
        probs = self.scores(docs, offset)
        cut = np.asarray([self.thresholds[t] for t in TOPICS])
        band = self.bounds()
        low = [band[t][0] for t in TOPICS]
        high = [band[t][1] for t in TOPICS]
        out = []
        for row in probs:
            labels = tuple(t for t, p, c in zip(TOPICS, row, cut, strict=True) if p >= c)
            unsure = tuple(
                t for t, p, lo, hi in zip(TOPICS, row, low, high, strict=True) if lo <= p < hi
            )
            scores = {t: round(float(p), 4) for t, p in zip(TOPICS, row, strict=True)}
            out.append(Prediction(labels, scores, unsure, self.version))
        return out

    def explain(
        self, doc: Doc, topic: str, k: int = 8, offset: np.ndarray | None = None
    ) -> list[tuple[str, float]]:
        """The k terms that moved `topic`'s score most, with their signed log-odds share;
        with the source's `offset`, it is one more term (explain.SOURCE_TERM)."""
        from veille.classify.explain import top_terms

        return top_terms(self, doc, topic, k, offset=offset)


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)
