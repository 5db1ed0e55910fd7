"""`veille worker`: run the cluster's jobs (VEILLE_EXECUTOR=procrastinate) on this machine."""

from __future__ import annotations

from typing import Annotated

import typer

from veille.cli import app
from veille.cli.common import state
from veille.errors import ConfigError


@app.command("worker")
def worker_cmd(
    ctx: typer.Context,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=64, help="Jobs run at once by this worker.")
    ] = 2,
    name: Annotated[
        str | None, typer.Option("--name", help="Name in the queue (default host:pid).")
    ] = None,
) -> None:
    """Run jobs from the PostgreSQL queue: pulls by host, digests, sending, publishing,
    retraining. Start one or more on every machine; SIGTERM lets running jobs finish."""
    st = state(ctx)
    if st.settings.executor != "procrastinate":
        raise ConfigError(
            "veille worker needs VEILLE_EXECUTOR=procrastinate (and a postgresql:// "
            "VEILLE_DATABASE_URL); with the local executor, veille serve runs the jobs itself"
        )
    from veille.queue.worker import run_worker

    run_worker(st.engine, st.settings, concurrency=concurrency, name=name)
