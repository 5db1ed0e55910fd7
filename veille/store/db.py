"""Engine, sessions and migrations. The only place that knows which database we talk to."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, create_engine

from veille.errors import StoreError

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"


def utcnow() -> datetime:
    """Aware UTC: the one clock format the store keeps."""
    return datetime.now(UTC)


def make_engine(url: str) -> Engine:
    """An engine for SQLite (WAL, foreign keys, busy timeout) or PostgreSQL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _alembic_config(engine: Engine):  # noqa: ANN202
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision` (the only way the schema changes), all in one
    transaction: a process killed half-way leaves the schema as it was, never half-made."""
    from alembic import command

    if not is_sqlite(engine):  # PostgreSQL's DDL is transactional as it stands
        command.upgrade(_alembic_config(engine), revision)
        return
    migrator = _transactional_sqlite(engine)
    try:
        command.upgrade(_alembic_config(migrator), revision)
    finally:
        migrator.dispose()


def _transactional_sqlite(engine: Engine) -> Engine:
    """An engine on the same SQLite file whose transactions cover DDL too.

    Python's sqlite3 only opens a transaction before INSERT/UPDATE/DELETE, so each CREATE
    TABLE commits on its own (a kill during the first migration left tables without their
    version row, and every later command failed on "table already exists"). SQLAlchemy's
    recipe: let the driver do nothing and emit BEGIN ourselves; IMMEDIATE also makes two
    processes migrating a new file at once wait for each other instead of colliding."""
    migrator = make_engine(engine.url.render_as_string(hide_password=False))

    @event.listens_for(migrator, "connect")
    def _no_driver_transactions(dbapi_conn, _record):  # noqa: ANN001
        dbapi_conn.isolation_level = None

    @event.listens_for(migrator, "begin")
    def _begin_immediate(conn):  # noqa: ANN001
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return migrator


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def pending_migrations(engine: Engine) -> list[str]:
    """Revisions between the database's and the code's head, oldest first (none: up to date)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config(engine))
    current = current_revision(engine)
    heads = script.get_heads()
    if current in heads:
        return []
    pending = [rev.revision for rev in script.walk_revisions("base", "heads")]
    if current is None:
        return pending[::-1]
    done = {rev.revision for rev in script.walk_revisions("base", current)}
    return [rev for rev in pending[::-1] if rev not in done]


def open_store(url: str, *, attempts: int = 5, first_wait: float = 1.0) -> Engine:
    """Connect (retrying with backoff while the server is unreachable) and migrate."""
    engine = make_engine(url)
    wait = first_wait
    for attempt in range(1, attempts + 1):
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            break
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            if attempt == attempts:
                engine.dispose()
                shown = make_url(url).render_as_string(hide_password=True)
                raise StoreError(f"database {shown} unreachable: {reason}") from None
            log.warning("database unreachable, retrying", extra={"attempt": attempt, "wait": wait})
            time.sleep(wait)
            wait *= 2
    upgrade(engine)
    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
