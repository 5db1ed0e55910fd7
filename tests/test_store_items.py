"""Items as ingestion writes them: the database's unique key makes re-ingesting harmless.
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from veille.store import Item, session_scope
from veille.store.items import existing_guids, insert_items, list_items
from veille.store.sources import get_source, sync_sources
from veille.types import SourceSpec

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def _row(source_id: int, guid: str, seen: datetime = NOW) -> dict[str, object]:
    return {
        "source_id": source_id,
        "guid": guid,
        "url": f"https://ex.org/{guid}",
        "canonical_url": f"https://ex.org/{guid}",
        "title": f"Titre {guid}",
        "authors": ["Anne"],
        "categories": ["ESS"],
        "first_seen_at": seen,
        "updated_at": seen,
        "published_at": seen,
    }


@pytest.fixture
def source_ids(engine: Engine) -> tuple[int, int]:
    specs = (
        SourceSpec(name="A", url="https://a.example/"),
        SourceSpec(name="B", url="https://b.example/"),
    )
    with session_scope(engine) as s:
        sync_sources(s, specs=specs, now=NOW)
    with session_scope(engine) as s:
        return get_source(s, name="A").id, get_source(s, name="B").id  # type: ignore[union-attr]


def test_insert_returns_new_ids_and_skips_known_guids(engine: Engine, source_ids) -> None:  # noqa: ANN001
    a, b = source_ids
    with session_scope(engine) as s:
        first = insert_items(s, rows=[_row(a, "1"), _row(a, "2"), _row(b, "1")])
    assert len(first) == 3
    with session_scope(engine) as s:
        again = insert_items(s, rows=[_row(a, "2"), _row(a, "3")])
        assert len(again) == 1 and again[0] not in first
        assert existing_guids(s, source_id=a, guids=["1", "3", "9"]) == {"1", "3"}
    with session_scope(engine) as s:
        stored = s.get(Item, first[0])
        assert stored is not None and stored.title == "Titre 1" and stored.authors == ["Anne"]
        assert stored.labels == [] and stored.scores == {} and stored.excluded is False
        assert stored.first_seen_at == NOW  # aware UTC back from both databases


def test_the_database_enforces_uniqueness(engine: Engine, source_ids) -> None:  # noqa: ANN001
    a, _ = source_ids
    with session_scope(engine) as s:
        s.add(Item(**_row(a, "dup")))
    with pytest.raises(IntegrityError), session_scope(engine) as s:
        s.add(Item(**_row(a, "dup")))


def test_existing_guids_in_chunks(engine: Engine, source_ids) -> None:  # noqa: ANN001
    a, _ = source_ids
    with session_scope(engine) as s:
        insert_items(s, rows=[_row(a, str(i)) for i in range(1200)])
    with session_scope(engine) as s:
        assert len(existing_guids(s, source_id=a, guids=[str(i) for i in range(0, 2400)])) == 1200


def test_list_items_filters(engine: Engine, source_ids) -> None:  # noqa: ANN001
    a, b = source_ids
    old = NOW - timedelta(days=3)
    with session_scope(engine) as s:
        insert_items(s, rows=[_row(a, "old", old), _row(a, "new"), _row(b, "other")])
    with session_scope(engine) as s:
        assert [i.guid for i, _ in list_items(s, source_id=a)] == ["new", "old"]
        recent = list_items(s, since=NOW - timedelta(days=1))
        assert sorted((i.guid, name) for i, name in recent) == [("new", "A"), ("other", "B")]
        assert len(list_items(s, limit=1)) == 1
