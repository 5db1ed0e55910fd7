"""The trained model reduced to what predicting needs: a vocabulary and one weight per feature
and topic, in numpy arrays.

A linear SVM's decision is `features(doc) · w + w0`, so the fitted Pipeline is not needed to
score: its vocabulary (vectors.Vectorizer) and the SVMs' coefficients are. Saved as a plain
.npz beside the model's .skops file and read with `allow_pickle=False` (no code runs on
load), it lets a pull, `veille classify` and the review page score and explain items without
importing scikit-learn or skops (about 100 MB and a second of start-up), bit for bit as the
Pipeline would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from veille.classify.vectors import Vectorizer
from veille.types import Doc

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

PARAMS = ("title_weight", "gram_weight", "keyword_weight", "group_weight")
# The lexicon a model was fitted with (vectors.Vectorizer); absent from older files.
LEXICON = ("lexicon_terms_", "lexicon_groups_", "lexicon_rules_", "group_topics_", "group_names_")


@dataclass(frozen=True)
class Linear:
    features: Vectorizer
    weights: np.ndarray  # features × topics, in the taxonomy's order
    intercepts: np.ndarray  # one per topic

    def decisions(self, docs: Sequence[Doc]) -> np.ndarray:
        """The SVMs' decision values, items × topics: `Pipeline.decision_function`, bit for
        bit, as one product for all the topics."""
        return self.features.transform(docs) @ self.weights + self.intercepts

    @classmethod
    def of(cls, pipeline: Pipeline) -> Linear:
        svms = pipeline.named_steps["topics"].estimators_
        return cls(
            pipeline.named_steps["features"],
            np.hstack([svm.coef_.T for svm in svms]),
            np.hstack([svm.intercept_ for svm in svms]),
        )

    def save(self, path: Path) -> None:
        f = self.features
        params = {name: np.asarray(getattr(f, name)) for name in PARAMS}
        params |= {name: getattr(f, name) for name in LEXICON if hasattr(f, name)}
        with path.open("wb") as out:
            np.savez_compressed(
                out,
                words=f.words_,
                grams=f.grams_,
                idf=f.idf_,
                weights=self.weights,
                intercepts=self.intercepts,
                **params,
            )

    @classmethod
    def load(cls, path: Path) -> Linear:
        with np.load(path, allow_pickle=False) as data:
            params = {name: data[name].item() for name in PARAMS if name in data}
            features = Vectorizer(**params)
            features.words_, features.grams_ = data["words"], data["grams"]
            for name in LEXICON:
                if name in data:
                    setattr(features, name, data[name])
            features.idf_ = data["idf"]
            return cls(features, data["weights"], data["intercepts"])
