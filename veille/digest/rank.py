"""Group entries under topics and order each topic: a pure function over entries.

Each entry goes under one topic only: its strongest among the topics the reader follows (ties
go to the model's score, then the taxonomy's order); its other topics show as chips. Within a
topic:

1. curator pins first, then entries the curator ranked (by their rank);
2. the rest by a weight mixing confidence (certain for topics a curator gave, else the model's
   score) with recency (halving each day) and a small bonus per other source of the story;
3. picked greedily, each pick dividing the weight of further entries from the same source, so
   one prolific source does not fill a topic.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from veille.digest.entry import Entry
from veille.types import TOPICS

HALF_LIFE_HOURS = 24.0
COVERAGE_BONUS = 0.05  # per other source, up to three
SAME_SOURCE_FACTOR = 0.8


@dataclass(frozen=True)
class Section:
    topic: str
    entries: tuple[Entry, ...]  # all of them, ranked

    def shown(self, cap: int | None) -> tuple[Entry, ...]:
        return self.entries if cap is None else self.entries[:cap]

    def more(self, cap: int | None) -> int:
        return 0 if cap is None else max(0, len(self.entries) - cap)


def strongest(entry: Entry, among: tuple[str, ...] = TOPICS) -> str | None:
    """The entry's topic with the highest score among `among`; None if it has none of them."""
    candidates = [t for t in TOPICS if t in among and t in entry.topics]
    if not candidates:
        return None
    return max(
        candidates, key=lambda t: (entry.score(t), entry.scores.get(t, 0.0), -TOPICS.index(t))
    )


def weight(entry: Entry, topic: str, now: datetime) -> float:
    age_hours = max(0.0, (now - entry.date).total_seconds() / 3600)
    recency = 0.5 ** (age_hours / HALF_LIFE_HOURS)
    coverage = COVERAGE_BONUS * min(len(entry.also), 3)
    return entry.score(topic) * (0.6 + 0.4 * recency) + coverage


def order(entries: list[Entry], topic: str, now: datetime) -> list[Entry]:
    """Curated entries first, then a diversity-aware pick by weight."""
    curated = sorted(
        (e for e in entries if e.pinned or e.rank is not None),
        key=lambda e: (
            not e.pinned,
            e.rank is None,
            e.rank or 0,
            -weight(e, topic, now),
            e.item_id,
        ),
    )
    rest = sorted(
        (e for e in entries if not (e.pinned or e.rank is not None)),
        key=lambda e: (-weight(e, topic, now), e.item_id),
    )
    weights = [weight(e, topic, now) for e in rest]
    per_source = Counter(e.source for e in curated)
    picked: list[Entry] = []
    while rest:
        best = max(
            range(len(rest)),
            key=lambda i: (weights[i] * SAME_SOURCE_FACTOR ** per_source[rest[i].source], -i),
        )
        weights.pop(best)
        picked.append(rest.pop(best))
        per_source[picked[-1].source] += 1
    return curated + picked


def group(
    entries: tuple[Entry, ...] | list[Entry], *, now: datetime, topics: tuple[str, ...] = TOPICS
) -> list[Section]:
    """Sections in the taxonomy's order, empty ones left out."""
    buckets: dict[str, list[Entry]] = {t: [] for t in TOPICS if t in topics}
    for entry in entries:
        topic = strongest(entry, tuple(buckets))
        if topic is not None:
            buckets[topic].append(entry)
    return [Section(t, tuple(order(b, t, now))) for t, b in buckets.items() if b]
