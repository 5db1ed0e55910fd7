"""The classifier's queries on both databases: curators' labels, recent items, verdicts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

from veille.store import Item, Source, session_scope, utcnow
from veille.store import labels as stored
from veille.types import Prediction


def _seed(engine: Engine) -> list[int]:
    now = utcnow()
    with session_scope(engine) as s:
        src = Source(name="Ville", url="https://ville.example/feed", created_at=now)
        s.add(src)
        s.flush()

        def item(n: int, **kw: object) -> Item:
            fields = dict(
                source_id=src.id,
                guid=f"g{n}",
                url=f"https://ville.example/{n}",
                canonical_url=f"https://ville.example/{n}",
                title=f"Item {n}",
                text=f"text {n}",
                first_seen_at=now - timedelta(days=n),
                updated_at=now,
            )
            return Item(**(fields | kw))

        rows = [
            item(
                1,
                curator_labels=["open_collaboration", "not_a_topic"],
                reviewed_at=now,
                feed_summary="from the feed",
            ),
            item(2, curator_labels=[], reviewed_at=now, summary="short", lang="fr"),
            item(3, labels=["social_innovation"]),  # never reviewed
            item(10, curator_labels=["social_innovation"], reviewed_at=None),  # draft, no review
        ]
        s.add_all(rows)
        s.flush()
        return [int(r.id) for r in rows]


def test_curator_examples_are_reviewed_items_with_their_text(engine: Engine) -> None:
    _seed(engine)
    with session_scope(engine) as s:
        found = stored.curator_examples(s)
    assert [(e.key, e.labels, e.source, e.curated) for e in found] == [
        ("g1", ("open_collaboration",), "Ville", True),
        ("g2", (), "Ville", True),  # judged off-topic is a label too
    ]
    # What the pull scored: the extracted summary (none here), not the feed's.
    assert found[0].doc.summary == "" and found[0].url == "https://ville.example/1"
    assert found[1].doc.summary == "short" and found[1].doc.lang == "fr"


def test_recent_items_and_saving_verdicts(engine: Engine) -> None:
    ids = _seed(engine)
    with session_scope(engine) as s:
        recent = list(stored.recent_items(s, since=utcnow() - timedelta(days=5)))
    assert [r.id for r in recent] == [ids[2], ids[1], ids[0]]  # oldest first, item 10 too old
    assert recent[0].labels == ("social_innovation",) and not recent[0].reviewed
    assert recent[2].reviewed
    p = Prediction(
        ("open_collaboration",), {"open_collaboration": 0.91}, ("open_collaboration",), "v2"
    )
    now = utcnow()
    with session_scope(engine) as s:
        assert stored.save_predictions(s, verdicts=[(ids[0], p), (ids[2], p)], now=now) == 2
    with session_scope(engine) as s:
        first, third = s.get(Item, ids[0]), s.get(Item, ids[2])
        assert third.labels == ["open_collaboration"] and third.scores == {
            "open_collaboration": 0.91
        }
        assert third.unsure == ["open_collaboration"] and third.model_version == "v2"
        assert third.classified_at is not None
        assert first.curator_labels == ["open_collaboration", "not_a_topic"]  # untouched
        assert s.get(Item, ids[1]).model_version is None
