"""Which unreviewed items a curator should judge first: those whose answer teaches most.

An item's value is how close its most uncertain topic sits to that topic's threshold, in
log-odds (uncertainty sampling: 1 at the threshold, near 0 for a confident score). Ranking by value
alone would show twenty near-identical items from one chatty source about one topic, so the
value is damped by the item's rank within its source and within its uncertain topic
(diversity): the second item of a source counts SOURCE_DAMPING times less, the third
SOURCE_DAMPING² … The order is deterministic (ties by id) and costs one sort.

Before any value comes the item's priority (`priority`): items readers reported as off topic
first, the most reported first (readers saw them in a digest, so a mistake there is already
public), then items that wait for a curator before they may go out in the digest (`held`, the
digest policy's call).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from veille.types import TOPICS

SOURCE_DAMPING = 0.8
TOPIC_DAMPING = 0.9
_LOG_SOURCE, _LOG_TOPIC = math.log(SOURCE_DAMPING), math.log(TOPIC_DAMPING)


@dataclass(frozen=True, slots=True)
class ReviewCandidate:
    """An unreviewed item as the review queue knows it: its id, stored scores and source."""

    id: int
    scores: dict[str, float] = field(default_factory=dict)
    source: str = ""
    reports: int = 0  # readers' "off topic?" reports
    held: bool = False  # waits for a curator before it may go out in the digest


def priority(candidate: ReviewCandidate) -> tuple:
    """What ranks before the active-learning value (smaller first): reported, then held."""
    return (-candidate.reports, not candidate.held)


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def closeness(score: float, threshold: float) -> float:
    """1 at the threshold, towards 0 as the score's log-odds move away from it: with a
    threshold of 0.2, a score of 0.02 is more certain than one of 0.45 (the scores are
    calibrated probabilities)."""
    return math.exp(-abs(_logit(score) - _logit(threshold)))


def uncertainty(candidate: ReviewCandidate, thresholds: dict[str, float]) -> tuple[float, str]:
    """The item's value and its most uncertain topic (0 and "" when it has no scores)."""
    best, topic = 0.0, ""
    for t in TOPICS:
        if t in candidate.scores:
            value = closeness(float(candidate.scores[t]), thresholds.get(t, 0.5))
            if value > best:
                best, topic = value, t
    return best, topic


def review_order(
    candidates: Sequence[ReviewCandidate],
    thresholds: dict[str, float],
    limit: int | None = None,
) -> list[int]:
    """Candidate ids, most useful to review first."""
    valued = sorted(
        ((*uncertainty(c, thresholds), c) for c in candidates),
        key=lambda v: (-v[0], v[2].id),
    )
    per_source: dict[str, int] = defaultdict(int)
    per_topic: dict[str, int] = defaultdict(int)
    damped = []
    for value, topic, c in valued:
        rank_s, rank_t = per_source[c.source], per_topic[topic]
        per_source[c.source] += 1
        per_topic[topic] += 1
        # In logs: thousands of ranks would underflow a product of powers.
        score = math.log(value) if value > 0 else -math.inf
        damped.append((priority(c), score + rank_s * _LOG_SOURCE + rank_t * _LOG_TOPIC, c.id))
    damped.sort(key=lambda v: (v[0], -v[1], v[2]))
    ids = [item_id for _, _, item_id in damped]
    return ids if limit is None else ids[: max(limit, 0)]
