"""The Procrastinate App of veille, and deferring a job inside the caller's transaction.

The tasks are registered on one App at import (`veille.queue.tasks`); `open_app(settings)`
points it at the PostgreSQL of VEILLE_DATABASE_URL. Tasks find the engine and settings in
their context (`additional_context`), never in a module global.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from procrastinate import App, PsycopgConnector, SyncPsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.manager import JobManager
from procrastinate.tasks import Task
from sqlalchemy.engine import make_url
from sqlmodel import Session

from veille.settings import Settings

log = logging.getLogger(__name__)

LANES = 4  # SMTP lanes an issue is sent in: at most this many connections to the server
# A worker beats every HEARTBEAT seconds; one silent for STALLED seconds is dead, and `reap`
# gives its jobs (and the locks they hold) to the living.
HEARTBEAT = 2.0
STALLED = 10.0

# Tasks are registered at import; the connector is replaced by open_app().
app = App(connector=PsycopgConnector(), import_paths=["veille.queue.tasks"])


def conninfo(settings: Settings) -> str:
    """The libpq address of VEILLE_DATABASE_URL (SQLAlchemy's driver suffix dropped)."""
    url = make_url(settings.db_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def open_app(settings: Settings) -> Iterator[App]:
    """The app connected to the database of `settings` (synchronous use: CLI, tests)."""
    connector = SyncPsycopgConnector(conninfo=conninfo(settings))
    with app.replace_connector(connector) as ready, ready.open():
        yield ready


# Deferring on a given connection needs no pool: a bare sync connector runs the INSERT.
_IN_TRANSACTION = JobManager(SyncPsycopgConnector())


def defer(
    session: Session,
    task: Task,
    *,
    lock: str | None = None,
    queueing_lock: str | None = None,
    **kwargs: Any,
) -> int | None:
    """Defer `task` in the session's transaction: the job exists if and only if the caller
    commits. With a queueing lock already taken by a waiting job, nothing is added (None):
    that job will do the work."""
    import veille.queue.tasks  # noqa: F401  (registers the tasks on the app)

    job = task.configure(lock=lock, queueing_lock=queueing_lock).make_new_job(**kwargs)
    raw = session.connection().connection.driver_connection
    # A savepoint of our own: a refused queueing lock must not abort the caller's transaction.
    raw.execute("SAVEPOINT veille_defer")
    try:
        job_id = _IN_TRANSACTION.batch_defer_jobs([job], connection=raw)[0].id
    except AlreadyEnqueued:
        raw.execute("ROLLBACK TO SAVEPOINT veille_defer")
        return None
    raw.execute("RELEASE SAVEPOINT veille_defer")
    return job_id
