"""`veille worker`: one process running the cluster's jobs until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import os
import socket

from procrastinate import PsycopgConnector
from sqlalchemy.engine import Engine

import veille.queue.tasks  # noqa: F401  (registers the tasks)
from veille.queue.app import HEARTBEAT, STALLED, app, conninfo
from veille.settings import Settings

log = logging.getLogger(__name__)


def run_worker(
    engine: Engine, settings: Settings, *, concurrency: int = 2, name: str | None = None
) -> None:
    """Run jobs until stopped; a job cut short by SIGTERM gets a grace period, and a worker
    killed outright leaves its jobs to `reap` on another (or the next) worker."""
    name = name or f"{socket.gethostname()}:{os.getpid()}"
    asyncio.run(_run(engine, settings, concurrency, name))


async def _run(engine: Engine, settings: Settings, concurrency: int, name: str) -> None:
    connector = PsycopgConnector(conninfo=conninfo(settings), min_size=1, max_size=concurrency + 3)
    with app.replace_connector(connector):
        async with app.open_async():
            log.info("worker started", extra={"worker": name, "concurrency": concurrency})
            await app.run_worker_async(
                name=name,
                concurrency=concurrency,
                additional_context={"engine": engine, "settings": settings},
                update_heartbeat_interval=HEARTBEAT,
                stalled_worker_timeout=STALLED,
                shutdown_graceful_timeout=30,
                delete_jobs="successful",
                install_signal_handlers=True,
            )


def drain(engine: Engine, settings: Settings, *, concurrency: int = 2) -> None:
    """Run the deferred jobs in this process until none is left (tests, benchmarks, one-off
    runs); the clock's own jobs (tick, reap) are left to the real workers."""
    from veille.store import queue, session_scope

    async def go() -> None:
        connector = PsycopgConnector(
            conninfo=conninfo(settings), min_size=1, max_size=concurrency + 3
        )
        with app.replace_connector(connector):
            async with app.open_async():
                while True:
                    # A worker that finds nothing it may take (a job waiting on a lock)
                    # stops: start it again until the queue is empty.
                    await app.run_worker_async(
                        concurrency=concurrency,
                        queues=["default"],
                        wait=False,
                        additional_context={"engine": engine, "settings": settings},
                        update_heartbeat_interval=HEARTBEAT,
                        stalled_worker_timeout=STALLED,
                        install_signal_handlers=False,
                        listen_notify=False,
                    )
                    with session_scope(engine) as session:
                        if not queue.open_job_count(session, queue="default"):
                            return
                    await asyncio.sleep(0.2)

    asyncio.run(go())
