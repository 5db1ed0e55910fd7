"""The figures: hand-computed cases."""

from __future__ import annotations

import numpy as np

from veille.classify import metrics


def test_report_per_topic_macro_and_off_topic() -> None:
    truth = metrics.indicator([["social_innovation"], [], ["open_collaboration"], []])
    said = metrics.indicator(
        [["social_innovation", "open_collaboration"], [], [], ["social_innovation"]]
    )
    r = metrics.report(truth, said)
    si = r["topics"]["social_innovation"]
    assert (si["precision"], si["recall"], si["f1"], si["support"]) == (0.5, 1.0, 0.6667, 1)
    assert r["topics"]["open_collaboration"] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "support": 1,
    }
    # collaborative consumption: no item, no prediction → F1 0 by convention
    assert r["macro_f1"] == round((2 / 3) / 3, 4)
    # said off-topic: items 1 and 2; truly off-topic: items 1 and 3
    assert r["off_topic"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}


def test_best_thresholds_maximise_f1_and_sit_between_scores() -> None:
    truth = np.array([[1, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 0]])
    scores = np.array([[0.9, 0.2, 0.8], [0.6, 0.1, 0.3], [0.4, 0.7, 0.2], [0.1, 0.3, 0.1]])
    cuts = metrics.best_thresholds(truth, scores)
    assert cuts == {
        "social_innovation": 0.5,
        "collaborative_consumption": 0.5,
        "open_collaboration": 0.55,
    }
    assert (metrics.apply_thresholds(scores, cuts) == truth).all()


def test_confusion_counts() -> None:
    truth = np.array([[1, 0, 0], [0, 0, 0], [1, 0, 0]])
    said = np.array([[1, 0, 0], [1, 0, 0], [0, 0, 0]])
    assert metrics.confusion(truth, said)["social_innovation"] == {
        "tp": 1,
        "fp": 1,
        "fn": 1,
        "tn": 0,
    }
