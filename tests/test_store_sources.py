"""Source rows: kept in step with feeds.yaml, picked when due, reported with their health.
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from veille.store import session_scope
from veille.store.items import insert_items
from veille.store.sources import (
    due_sources,
    get_source,
    source_health,
    sources_by_id,
    sync_sources,
    update_source,
)
from veille.types import SourceSpec

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
A = SourceSpec(name="A", url="https://a.example/feed", tags=("x",), primary=True)
B = SourceSpec(name="B", url="https://b.example/page", kind="page", selector="h2 a")


def test_sync_adds_updates_and_disables(engine: Engine) -> None:
    with session_scope(engine) as s:
        counts = sync_sources(s, specs=(A, B), now=NOW)
        assert (counts.added, counts.updated, counts.disabled) == (2, 0, 0)
    with session_scope(engine) as s:
        a = get_source(s, name="A")
        assert a is not None and a.primary and a.tags == ["x"] and a.created_at == NOW
        update_source(
            s,
            source_id=a.id,
            values={
                "fetch_state": {"etag": '"1"', "url": "https://a.example/moved"},
                "consecutive_failures": 3,
            },
        )
    moved = replace(A, url="https://a.example/new-feed", tags=("x", "y"))
    with session_scope(engine) as s:
        counts = sync_sources(s, specs=(moved,), now=NOW)
        assert (counts.added, counts.updated, counts.disabled) == (0, 1, 1)
    with session_scope(engine) as s:
        a, b = get_source(s, name="A"), get_source(s, name="B")
        assert a is not None and b is not None
        assert a.url == "https://a.example/new-feed" and a.tags == ["x", "y"]
        # A new URL voids what was learnt about the old one.
        assert (a.fetch_state, a.consecutive_failures) == ({}, 0)
        assert not b.enabled  # gone from the file: disabled, not deleted
    with session_scope(engine) as s:
        assert sync_sources(s, specs=(moved,), now=NOW).updated == 0  # idempotent


def test_sources_by_id_leaves_out_gone_and_disabled(engine: Engine) -> None:
    with session_scope(engine) as s:
        sync_sources(s, specs=(A, B), now=NOW)
    with session_scope(engine) as s:
        a, b = get_source(s, name="A"), get_source(s, name="B")
        update_source(s, source_id=b.id, values={"enabled": False})
        assert [x.name for x in sources_by_id(s, ids=[b.id, a.id, 9999])] == ["A"]
        assert sources_by_id(s, ids=[]) == []


def test_due_sources(engine: Engine) -> None:
    c = SourceSpec(name="C", url="https://c.example/feed")
    with session_scope(engine) as s:
        sync_sources(s, specs=(A, B, c), now=NOW)
    with session_scope(engine) as s:
        later = NOW + timedelta(hours=1)
        update_source(s, source_id=get_source(s, name="A").id, values={"next_fetch_at": later})
        update_source(s, source_id=get_source(s, name="B").id, values={"enabled": False})
    with session_scope(engine) as s:
        assert [x.name for x in due_sources(s, now=NOW)] == ["C"]
        assert {x.name for x in due_sources(s, now=NOW, force=True)} == {"A", "C"}
        assert [x.name for x in due_sources(s, now=NOW + timedelta(hours=2))] == ["C", "A"]
        assert [x.name for x in due_sources(s, now=NOW, names=("A",), force=True)] == ["A"]


def test_source_health_counts_items(engine: Engine) -> None:
    with session_scope(engine) as s:
        sync_sources(s, specs=(A, B), now=NOW)
    with session_scope(engine) as s:
        a = get_source(s, name="A")
        rows = [
            {
                "source_id": a.id,
                "guid": f"g{i}",
                "url": f"https://a.example/{i}",
                "canonical_url": f"https://a.example/{i}",
                "first_seen_at": NOW,
                "updated_at": NOW,
            }
            for i in range(3)
        ]
        insert_items(s, rows=rows)
    with session_scope(engine) as s:
        health = {h.source.name: h.items for h in source_health(s)}
    assert health == {"A": 3, "B": 0}
