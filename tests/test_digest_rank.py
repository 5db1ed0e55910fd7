"""Ranking and grouping: pins, curator order, confidence, recency, source diversity, cap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from veille.digest.entry import Entry
from veille.digest.rank import group, order, strongest

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
SI, CC, OC = "social_innovation", "collaborative_consumption", "open_collaboration"


def entry(
    item_id: int, *, scores: dict[str, float], source: str = "S", hours: float = 1, **kw: object
) -> Entry:
    when = NOW - timedelta(hours=hours)
    return Entry(
        item_id=item_id,
        title=f"t{item_id}",
        url="",
        source=source,
        date=when,
        updated=when,
        topics=tuple(t for t in (SI, CC, OC) if t in scores),
        scores=scores,
        **kw,
    )  # type: ignore[arg-type]


def ids(entries) -> list[int]:  # noqa: ANN001
    return [e.item_id for e in entries]


def test_strongest_topic_among_the_readers_topics() -> None:
    e = entry(1, scores={SI: 0.6, OC: 0.9})
    assert strongest(e) == OC
    assert strongest(e, (SI, CC)) == SI
    assert strongest(e, (CC,)) is None
    tie = entry(2, scores={SI: 0.7, OC: 0.7})
    assert strongest(tie) == SI  # taxonomy order breaks ties
    curated = entry(3, scores={SI: 0.3, OC: 0.6}, curated=True)
    assert strongest(curated) == OC  # both certain: the model's score decides


def test_pins_then_curator_rank_then_weight() -> None:
    entries = [
        entry(1, scores={SI: 0.99}, source="A"),
        entry(2, scores={SI: 0.50}, source="B", rank=2),
        entry(3, scores={SI: 0.40}, source="C", pinned=True),
        entry(4, scores={SI: 0.60}, source="D", rank=1),
        entry(5, scores={SI: 0.70}, source="E"),
    ]
    assert ids(order(entries, SI, NOW)) == [3, 4, 2, 1, 5]


def test_recency_and_coverage_break_equal_confidence() -> None:
    entries = [
        entry(1, scores={SI: 0.8}, source="A", hours=48),
        entry(2, scores={SI: 0.8}, source="B", hours=2),
        entry(3, scores={SI: 0.8}, source="C", hours=48, also=("X", "Y", "Z")),
    ]
    assert ids(order(entries, SI, NOW)) == [2, 3, 1]  # newest, then the widely covered one


def test_one_source_does_not_fill_a_topic() -> None:
    entries = [entry(i, scores={SI: 0.9 - i / 100}, source="A") for i in range(1, 5)]
    entries.append(entry(9, scores={SI: 0.80}, source="B"))
    ranked = ids(order(entries, SI, NOW))
    assert ranked[0] == 1 and ranked.index(9) == 1  # B comes before A's second story


def test_group_puts_each_entry_once_in_taxonomy_order_with_a_cap() -> None:
    entries = [
        entry(1, scores={OC: 0.9, SI: 0.6}),
        entry(2, scores={SI: 0.8}, source="B"),
        entry(3, scores={SI: 0.7}, source="C"),
        entry(4, scores={CC: 0.6}),
    ]
    sections = group(entries, now=NOW)
    assert [s.topic for s in sections] == [SI, CC, OC]
    assert [ids(s.entries) for s in sections] == [[2, 3], [4], [1]]
    assert sum(len(s.entries) for s in sections) == len(entries)
    assert ids(sections[0].shown(1)) == [2] and sections[0].more(1) == 1
    assert sections[0].more(None) == 0
    only_si = group(entries, now=NOW, topics=(SI,))
    assert [s.topic for s in only_si] == [SI] and ids(only_si[0].entries) == [2, 3, 1]
