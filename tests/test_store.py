"""The store on SQLite and PostgreSQL: migrations, uniqueness, round trips."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, select

from veille.errors import StoreError
from veille.store import Item, Source, session_scope, utcnow
from veille.store.db import current_revision, open_store


def _source(session, name: str = "s") -> Source:  # noqa: ANN001
    src = Source(name=name, url=f"https://example.org/{name}.xml", created_at=utcnow())
    session.add(src)
    session.flush()
    return src


def test_migrations_reach_head_and_match_models(engine) -> None:  # noqa: ANN001
    from alembic.script import ScriptDirectory

    from veille.store.db import MIGRATIONS

    heads = ScriptDirectory(str(MIGRATIONS)).get_heads()
    assert len(heads) == 1, f"migrations have several heads: {heads}"
    assert current_revision(engine) == heads[0]
    tables = set(inspect(engine).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables
    for name, table in SQLModel.metadata.tables.items():
        columns = {c["name"] for c in inspect(engine).get_columns(name)}
        assert {c.name for c in table.columns} == columns, name


def test_item_unique_per_source_guid(engine) -> None:  # noqa: ANN001
    now = utcnow()
    with session_scope(engine) as s:
        src = _source(s)
        s.add(
            Item(
                source_id=src.id,
                guid="g1",
                url="u",
                canonical_url="u",
                first_seen_at=now,
                updated_at=now,
            )
        )
    with pytest.raises(IntegrityError), session_scope(engine) as s:
        s.add(
            Item(
                source_id=src.id,
                guid="g1",
                url="u2",
                canonical_url="u2",
                first_seen_at=now,
                updated_at=now,
            )
        )
    with session_scope(engine) as s:
        assert len(s.exec(select(Item)).all()) == 1


def test_json_and_times_round_trip(engine) -> None:  # noqa: ANN001
    now = utcnow()
    with session_scope(engine) as s:
        src = _source(s)
        s.add(
            Item(
                source_id=src.id,
                guid="g",
                url="u",
                canonical_url="u",
                first_seen_at=now,
                updated_at=now,
                labels=["open_collaboration"],
                scores={"open_collaboration": 0.9},
                minhash=b"\x00\x01",
            )
        )
    with session_scope(engine) as s:
        item = s.exec(select(Item)).one()
        assert item.labels == ["open_collaboration"]
        assert item.scores == {"open_collaboration": 0.9}
        assert item.minhash == b"\x00\x01"
        assert item.first_seen_at == now  # aware UTC, microseconds kept


def test_unreachable_database_is_one_line_error() -> None:
    with pytest.raises(StoreError, match="unreachable"):
        open_store("postgresql://postgres@127.0.0.1:1/none", attempts=2, first_wait=0.01)


def test_a_first_migration_interrupted_half_way_leaves_a_usable_store(
    tmp_path, monkeypatch
) -> None:  # noqa: ANN001
    """A kill while the schema is created must not leave tables without their version row
    (every later command then failed on "table already exists"). An error raised in the
    second migration stands in for the kill: the first one's tables must be gone too."""
    from alembic.operations import Operations
    from sqlalchemy import create_engine

    url = f"sqlite:///{tmp_path / 'veille.db'}"
    real_execute = Operations.execute

    def dies_in_0002(self, sql, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if "fts" in str(sql).lower():
            raise KeyboardInterrupt("killed")
        return real_execute(self, sql, *args, **kwargs)

    monkeypatch.setattr(Operations, "execute", dies_in_0002)
    with pytest.raises(KeyboardInterrupt):
        open_store(url)
    raw = create_engine(url)
    assert inspect(raw).get_table_names() == []  # nothing half-made
    raw.dispose()
    monkeypatch.setattr(Operations, "execute", real_execute)
    engine = open_store(url)
    with session_scope(engine) as s:
        _source(s)
    assert current_revision(engine) is not None
    engine.dispose()
