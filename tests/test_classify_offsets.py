"""Per-source offsets: the log-odds shift fitted on a source's judged items, shrunk toward 0."""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logit

from tests.classify_data import tiny_result
from veille.classify.offsets import LIMIT, fit_offsets, shift
from veille.types import TOPICS, Doc


def judged_items(n: int, bias: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Scores a model gives, while the truth follows them shifted by `bias` in log-odds."""
    rng = np.random.default_rng(seed)
    z = rng.normal(-1.0, 1.5, size=(n, 3))
    truth = (rng.random((n, 3)) < expit(z + bias)).astype(np.int8)
    return expit(z), truth


def test_a_sources_bias_is_recovered_from_many_judged_items() -> None:
    scores, truth = judged_items(4000, bias=-1.5)
    delta = fit_offsets(scores, truth)
    assert np.allclose(delta, -1.5, atol=0.2)


def test_few_judged_items_move_the_scores_less_than_many() -> None:
    scores, truth = judged_items(4000, bias=2.0, seed=1)
    few = fit_offsets(scores[:10], truth[:10])
    many = fit_offsets(scores, truth)
    assert (np.abs(few) < np.abs(many)).all()
    assert (many > 1.5).all()


def test_no_judged_items_no_shift_and_the_shift_is_bounded() -> None:
    assert fit_offsets(np.zeros((0, 3)), np.zeros((0, 3))).tolist() == [0.0, 0.0, 0.0]
    # Every item off-topic although scored 0.99: the shift stops at LIMIT.
    delta = fit_offsets(np.full((500, 3), 0.99), np.zeros((500, 3)))
    assert np.allclose(delta, -LIMIT)


def test_shift_moves_log_odds_and_keeps_the_order_within_a_topic() -> None:
    scores = np.array([[0.1, 0.5, 0.9], [0.2, 0.6, 0.95]])
    moved = shift(scores, np.array([1.0, 0.0, -1.0]))
    assert np.allclose(logit(moved[:, 0]), logit(scores[:, 0]) + 1.0)
    assert np.allclose(moved[:, 1], scores[:, 1])
    assert (moved[1] > moved[0]).all()


def test_a_models_offset_for_a_source_moves_its_predictions() -> None:
    """A source whose items curators file under open collaboration although the model scores
    them low: its offset raises that topic, and predictions with it follow."""
    model = tiny_result().model
    docs = [
        Doc(f"Données du quartier {n}", "Données du quartier. Une soirée au centre social.")
        for n in range(12)
    ]
    plain = model.predict(docs)
    assert model.predict(docs, None) == plain
    assert model.source_offset([], []) is None
    j = TOPICS.index("open_collaboration")
    offset = model.source_offset(docs, [["open_collaboration"]] * len(docs))
    assert offset[j] > 1.0 and (np.delete(offset, j) <= 0).all()
    moved = model.predict(docs, offset)
    for before, after in zip(plain, moved, strict=True):
        assert after.scores["open_collaboration"] > before.scores["open_collaboration"]
        assert after.labels == tuple(t for t in TOPICS if after.scores[t] >= model.thresholds[t])
    assert sum("open_collaboration" in p.labels for p in moved) > sum(
        "open_collaboration" in p.labels for p in plain
    )
