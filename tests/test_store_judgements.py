"""Per-source counts of curator-judged items, over a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from tests.e2e.seed import add_item, add_source
from veille.store import session_scope
from veille.store.judgements import (
    SourceJudgements,
    filed,
    fresh_judged,
    fresh_judged_docs,
    per_source,
)
from veille.store.labels import doc_of

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
FILED = {"social_innovation": 0.9, "collaborative_consumption": 0.1, "open_collaboration": 0.1}
NOT_FILED = {"social_innovation": 0.1, "collaborative_consumption": 0.1, "open_collaboration": 0.1}


def judged(engine: Engine, source: int, key: str, scores: dict, curator: list[str]) -> int:
    return add_item(
        engine,
        source,
        key,
        title=key,
        scores=scores,
        seen=NOW - timedelta(days=2),
        curator_labels=curator,
        reviewed_at=NOW - timedelta(days=1),
        reviewed_by="ana",
    )


def test_counts_judged_relevant_said_and_hits_per_source(engine: Engine) -> None:
    a = add_source(engine, "A", "https://a.example.org/feed")
    b = add_source(engine, "B", "https://b.example.org/feed")
    quiet = add_source(engine, "Quiet", "https://quiet.example.org/feed")
    judged(engine, a, "a1", FILED, ["social_innovation"])  # said and relevant: a hit
    judged(engine, a, "a2", FILED, [])  # said, judged off-topic
    judged(engine, a, "a3", NOT_FILED, ["open_collaboration"])  # missed by the model
    judged(engine, b, "b1", NOT_FILED, [])
    add_item(engine, a, "a-unjudged", title="x", scores=FILED, seen=NOW)  # not judged: not counted
    add_item(engine, quiet, "q", title="q", scores=FILED, seen=NOW)
    with session_scope(engine) as s:
        found = per_source(s)
    assert found == {
        a: SourceJudgements(judged=3, relevant=2, said=2, hits=1),
        b: SourceJudgements(judged=1, relevant=0, said=0, hits=0),
    }
    assert quiet not in found


def test_fresh_judged_items_of_one_source_since_a_time(engine: Engine) -> None:
    a = add_source(engine, "A", "https://a.example.org/feed")
    b = add_source(engine, "B", "https://b.example.org/feed")
    old = judged(engine, a, "old", FILED, [])  # judged a day before NOW
    for key, hours in (("new1", 1), ("new2", 2)):
        add_item(
            engine,
            a,
            key,
            title=key,
            scores=FILED,
            seen=NOW,
            curator_labels=["social_innovation"],
            reviewed_at=NOW + timedelta(hours=hours),
        )
    judged(engine, b, "other", FILED, [])
    add_item(engine, a, "unjudged", title="u", scores=FILED, seen=NOW + timedelta(hours=3))
    with session_scope(engine) as s:
        fresh = fresh_judged(s, source_id=a, since=NOW)
        assert [i.guid for i in fresh] == ["new2", "new1"]
        assert fresh_judged(s, source_id=a, since=NOW, limit=1)[0].guid == "new2"
        everything = fresh_judged(s, source_id=a, since=NOW - timedelta(days=3))
        assert old in {i.id for i in everything} and len(everything) == 3
        # No `since` (a model that trained on no curator's call): all; `until`: those judged
        # by the time items were scored.
        assert len(fresh_judged(s, source_id=a, since=None)) == 3
        until = fresh_judged(s, source_id=a, since=None, until=NOW + timedelta(hours=1))
        assert [i.guid for i in until] == ["new1", "old"]
        docs = fresh_judged_docs(s, source_id=a, since=NOW, until=NOW + timedelta(hours=1))
        assert [(d.title, labels) for d, labels in docs] == [("new1", ["social_innovation"])]
        assert docs[0][0] == doc_of(until[0])  # the document the pull scored


def test_filed_ids_are_those_the_classifier_gave_a_topic(engine: Engine) -> None:
    a = add_source(engine, "A", "https://a.example.org/feed")
    yes = add_item(engine, a, "yes", title="y", scores=FILED, seen=NOW)
    no = add_item(engine, a, "no", title="n", scores=NOT_FILED, seen=NOW)
    with session_scope(engine) as s:
        assert filed(s, ids=[yes, no, 10_000]) == {yes}
        assert filed(s, ids=[]) == set()
