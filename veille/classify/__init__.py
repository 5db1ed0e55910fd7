"""The classify stage: files items under the three topics with a trained linear model.

    load_model(models_dir) -> Model         Model.predict(docs, offset), .explain(doc, topic, k)
    training_examples(curated) -> examples  seed labels (../shared) merged with curators' ones
    train(examples) -> TrainResult          save_and_maybe_promote(result, models_dir, now)
    review_order(candidates, thresholds)    active learning for the review page
    history(models_dir), rollback(models_dir)

Pure functions over plain values: nothing here reads settings, the clock or the database;
artefacts.py reads and writes only the models folder it is given.

Names are imported on first use (PEP 562): scoring must not pay for training's imports
(scikit-learn, skops), which a pull never needs.
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType

_WHERE = {
    "ReviewCandidate": "active",
    "review_order": "active",
    "PromotionDecision": "artefacts",
    "history": "artefacts",
    "load_model": "artefacts",
    "rollback": "artefacts",
    "save_and_maybe_promote": "artefacts",
    "keyword_labels": "baseline",
    "keyword_predict": "baseline",
    "Problem": "examples",
    "Record": "examples",
    "merge": "examples",
    "read_lines": "examples",
    "read_seed": "examples",
    "training_examples": "examples",
    "Model": "model",
    "TrainResult": "train",
    "train": "train",
}
__all__ = sorted(_WHERE)


class _Package(ModuleType):
    def __setattr__(self, name: str, value: object) -> None:
        # Importing the submodule `train` binds it on the package, over the function `train`
        # that `classify.train(...)` means: keep the function (the module stays in sys.modules).
        if isinstance(value, ModuleType) and _WHERE.get(name) == name:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> object:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value
