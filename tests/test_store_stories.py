"""Story filing in the store, on SQLite and PostgreSQL: the near-duplicate band keys
(story_band), the filing lock, and items completed only where still unextracted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import select

from veille.store import Item, session_scope
from veille.store import stories as q
from veille.store.items import insert_items
from veille.store.models import StoryBand
from veille.store.sources import get_source, sync_sources
from veille.types import SourceSpec

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
SIG = b"\x01" * 8  # stored as is; the store never reads a signature


def _items(engine: Engine, n: int, published: datetime = NOW) -> list[int]:
    with session_scope(engine) as s:
        sync_sources(s, specs=(SourceSpec(name="a", url="https://a.example/"),), now=NOW)
        sid = get_source(s, name="a").id
        rows = [
            {
                "source_id": sid,
                "guid": f"g{i}-{published.day}",
                "url": f"https://a.example/{i}",
                "canonical_url": f"https://a.example/{i}",
                "first_seen_at": published,
                "updated_at": published,
                "published_at": published,
            }
            for i in range(n)
        ]
        ids = insert_items(s, rows=rows)
        story = q.new_story(s, now=NOW)
        q.complete_items(
            s,
            rows=[(i, {"extraction": "summary", "story_id": story, "minhash": SIG}) for i in ids],
        )
    return ids


def test_bands_are_filed_once_found_by_key_and_window_and_pruned(engine: Engine) -> None:
    old = NOW - timedelta(days=30)
    a, b = _items(engine, 2)
    (c,) = _items(engine, 1, published=old)
    with session_scope(engine) as s:
        q.add_bands(s, rows=[(11, a, NOW), (12, a, NOW), (12, b, NOW), (11, c, old)])
        q.add_bands(s, rows=[(11, a, NOW)])  # filed again (a retried write): no effect
    with session_scope(engine) as s:
        assert len(s.exec(select(StoryBand)).all()) == 4
        found = q.band_candidates(s, keys=[11], since=NOW - timedelta(days=7), until=NOW)
        assert [(r[0], r[2], r[4]) for r in found] == [(a, SIG, "a")]
        both = q.band_candidates(s, keys=[12, 11, 99], since=old, until=NOW)
        assert sorted(r[0] for r in both) == sorted([a, b, c])
        assert q.story_sources(s, story_ids={found[0][1]}) == {found[0][1]: {"a"}}
        assert q.prune_bands(s, before=NOW - timedelta(days=14)) == 1
    with session_scope(engine) as s:
        assert {r.item_id for r in s.exec(select(StoryBand))} == {a, b}
        # c has a signature and a story but no band any more: the next pull indexes it.
        assert [r[0] for r in q.unindexed_signatures(s, since=old)] == [c]


def test_completing_an_item_twice_changes_it_once(engine: Engine) -> None:
    with session_scope(engine) as s:
        sync_sources(s, specs=(SourceSpec(name="a", url="https://a.example/"),), now=NOW)
        sid = get_source(s, name="a").id
        (item,) = insert_items(
            s,
            rows=[
                {
                    "source_id": sid,
                    "guid": "g",
                    "url": "u",
                    "canonical_url": "u",
                    "first_seen_at": NOW,
                    "updated_at": NOW,
                }
            ],
        )
        assert [i.id for i in q.pending_items(s, source_id=sid, since=NOW)] == [item]
        assert q.sources_with_pending(s, since=NOW) == [sid]
        assert q.still_pending(s, ids=[item, 424242]) == {item}
    with session_scope(engine) as s:
        assert q.complete_items(s, rows=[(item, {"extraction": "article", "text": "one"})]) == 1
    with session_scope(engine) as s:  # a retried or concurrent write: already done
        assert q.complete_items(s, rows=[(item, {"extraction": "summary", "text": "two"})]) == 0
    with session_scope(engine) as s:
        stored = s.get(Item, item)
        assert (stored.extraction, stored.text) == ("article", "one")
        assert q.pending_items(s, source_id=sid, since=NOW) == []
        assert q.still_pending(s, ids=[item]) == set()


@pytest.mark.postgres
def test_the_filing_lock_holds_other_processes_until_commit(pg_url: str) -> None:
    from veille.store import open_store

    engine = open_store(pg_url)
    try:
        with session_scope(engine) as s:
            q.lock_filing(s)
            with engine.connect() as other:
                free = other.execute(
                    text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": q.FILING_LOCK}
                ).scalar()
                assert free is False  # another transaction waits for this one
        with engine.connect() as other:
            free = other.execute(
                text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": q.FILING_LOCK}
            ).scalar()
            assert free is True  # released with the commit
    finally:
        engine.dispose()
