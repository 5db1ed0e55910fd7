"""Migration 0005r on SQLite and PostgreSQL: the source's ETag, Last-Modified and discovered
or moved feed move into its reader's `fetch_state`; story_band appears; and back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from tests.conftest import _pg_admin, _pg_reachable
from veille.store.db import _alembic_config, make_engine, upgrade


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of each kind (not the migrated template)."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield eng
        eng.dispose()
        return
    if not _pg_reachable():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    name = f"veille_m5_{uuid.uuid4().hex[:10]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    eng = make_engine(f"postgresql://postgres@127.0.0.1:5432/{name}")
    try:
        yield eng
    finally:
        eng.dispose()
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _add(conn, name: str, kind: str, etag, modified, feed_url) -> None:  # noqa: ANN001
    conn.execute(
        text(
            "INSERT INTO source (name, url, kind, tags, topics_hint, interval, enabled, "
            '"primary", consecutive_failures, created_at, etag, last_modified, feed_url) '
            "VALUES (:n, :u, :k, '[]', '[]', 3600, true, false, 0, CURRENT_TIMESTAMP, "
            ":e, :m, :f)"
        ),
        {
            "n": name,
            "u": f"https://{name}.example/",
            "k": kind,
            "e": etag,
            "m": modified,
            "f": feed_url,
        },
    )


def test_fetch_state_carries_the_old_columns(empty: Engine) -> None:
    upgrade(empty, "0004l")
    with empty.begin() as conn:
        _add(conn, "feed", "feed", '"e1"', "Tue, 24 Nov 2026 09:00:00 GMT", "https://moved/")
        _add(conn, "page", "page", '"p1"', None, "https://page.example/feed.xml")
        _add(conn, "fresh", "sitemap", None, None, None)
    upgrade(empty)
    with empty.connect() as conn:
        rows = conn.execute(text("SELECT name, fetch_state FROM source ORDER BY name")).all()
    states = {n: s if isinstance(s, dict) else __import__("json").loads(s) for n, s in rows}
    assert states == {
        "feed": {
            "etag": '"e1"',
            "last_modified": "Tue, 24 Nov 2026 09:00:00 GMT",
            "url": "https://moved/",
        },
        "page": {"etag": '"p1"', "feed_url": "https://page.example/feed.xml"},
        "fresh": {},
    }
    columns = {c["name"] for c in inspect(empty).get_columns("source")}
    assert "fetch_state" in columns and not columns & {"etag", "last_modified", "feed_url"}
    assert "story_band" in inspect(empty).get_table_names()

    command.downgrade(_alembic_config(empty), "0004l")
    with empty.connect() as conn:
        back = conn.execute(text("SELECT name, etag, feed_url FROM source ORDER BY name")).all()
    assert [tuple(r) for r in back] == [
        ("feed", '"e1"', "https://moved/"),
        ("fresh", None, None),
        ("page", '"p1"', "https://page.example/feed.xml"),
    ]
    assert "story_band" not in inspect(empty).get_table_names()
