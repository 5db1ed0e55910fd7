"""The classify stage: files items under the three topics with a trained linear model.

    load_model(models_dir) -> Model         Model.predict(docs), Model.explain(doc, topic, k)
    training_examples(curated) -> examples  seed labels (../shared) merged with curators' ones
    train(examples) -> TrainResult          save_and_maybe_promote(result, models_dir, now)
    review_order(candidates, thresholds)    active learning for the review page
    history(models_dir), rollback(models_dir)

Pure functions over plain values: nothing here reads settings, the clock or the database;
artefacts.py reads and writes only the models folder it is given.
"""

from veille.classify.active import ReviewCandidate, review_order
from veille.classify.artefacts import (
    PromotionDecision,
    history,
    load_model,
    rollback,
    save_and_maybe_promote,
)
from veille.classify.baseline import keyword_labels, keyword_predict
from veille.classify.examples import (
    Problem,
    Record,
    merge,
    read_lines,
    read_seed,
    training_examples,
)
from veille.classify.model import Model
from veille.classify.train import TrainResult, train

__all__ = [
    "Model",
    "Problem",
    "PromotionDecision",
    "Record",
    "ReviewCandidate",
    "TrainResult",
    "history",
    "keyword_labels",
    "keyword_predict",
    "load_model",
    "merge",
    "read_lines",
    "read_seed",
    "review_order",
    "rollback",
    "save_and_maybe_promote",
    "train",
    "training_examples",
]
