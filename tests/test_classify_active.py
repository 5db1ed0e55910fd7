"""Review order: uncertainty first, spread over sources and topics, deterministic."""

from __future__ import annotations

import math

import pytest

from veille.classify import ReviewCandidate, active, review_order
from veille.classify.active import closeness

CUT = {"social_innovation": 0.4, "collaborative_consumption": 0.5, "open_collaboration": 0.3}


def c(item_id: int, si: float = 0.0, cc: float = 0.0, oc: float = 0.0, source: str = "a"):  # noqa: ANN201
    scores = {"social_innovation": si, "collaborative_consumption": cc, "open_collaboration": oc}
    return ReviewCandidate(id=item_id, scores=scores, source=source)


def test_closeness_is_one_at_the_threshold_and_falls_in_log_odds() -> None:
    assert closeness(0.4, 0.4) == 1.0
    assert closeness(1.0, 0.4) < 1e-5 and closeness(0.0, 0.4) < 1e-5
    assert closeness(0.2, 0.3) > closeness(0.9, 0.3)
    assert math.isclose(closeness(0.1, 0.5), closeness(0.9, 0.5))
    assert closeness(0.02, 0.2) < closeness(0.45, 0.2)


def test_items_near_a_threshold_come_first() -> None:
    sure_off, sure_on = c(1, si=0.01), c(2, cc=0.99)
    borderline, nearly = c(3, oc=0.31), c(4, si=0.55)
    assert review_order([sure_off, sure_on, borderline, nearly], CUT) == [3, 4, 1, 2]


def test_sources_and_topics_are_spread() -> None:
    chatty = [c(i, oc=0.30 + i / 1000, source="chatty") for i in range(1, 6)]
    other = c(99, si=0.45, source="quiet")  # a little less uncertain than all of chatty's
    order = review_order([*chatty, other], CUT)
    assert order[0] == 1 and order.index(99) <= 2


def test_limit_ties_and_items_without_scores() -> None:
    unscored = ReviewCandidate(id=5)
    same = [c(8, oc=0.3), c(7, oc=0.3, source="b")]
    assert review_order([unscored, *same], CUT) == [7, 8, 5]
    assert review_order([unscored, *same], CUT, limit=1) == [7]
    assert review_order([], CUT) == []


def test_a_large_queue_is_ordered_in_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """100,000 items: every one placed once, each item's scores read once (linear work before
    the sorts: no rescoring as sources fill up), the first ones spread over the 40 sources."""
    calls = 0
    real = active.closeness

    def counted(score: float, threshold: float) -> float:
        nonlocal calls
        calls += 1
        return real(score, threshold)

    monkeypatch.setattr(active, "closeness", counted)
    many = [c(i, si=(i % 997) / 997, oc=(i % 13) / 13, source=f"s{i % 40}") for i in range(100_000)]
    order = review_order(many, CUT)
    assert sorted(order) == list(range(100_000))
    assert calls == 3 * len(many)
    assert len({f"s{i % 40}" for i in order[:80]}) >= 20
