"""`veille serve`: the web app and the scheduler in one process, under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from veille.cli import app
from veille.cli.common import state


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = 8000,
    no_scheduler: Annotated[
        bool, typer.Option("--no-scheduler", help="Web app only: no pulls, digests or retrains.")
    ] = False,
) -> None:
    """Run the web app (review page, archive, feeds, subscriptions) and the scheduler
    (pulls, the daily digest, publishing, weekly retraining). SIGTERM stops it cleanly."""
    import uvicorn

    from veille.web.app import create_app

    st = state(ctx)
    scheduler = None
    # With VEILLE_EXECUTOR=procrastinate the `veille worker`s run every job (their `tick`).
    if not no_scheduler and st.settings.executor == "local":
        from veille.pipeline.retrain import retrain_job
        from veille.scheduler import Plan, build_scheduler
        from veille.scheduler.jobs import make_jobs

        jobs = make_jobs(st.engine, st.settings)
        scheduler = build_scheduler(st.engine, jobs, Plan.from_settings(st.settings))
        web = create_app(
            st.settings, scheduler=scheduler, retrain=retrain_job(st.engine, st.settings.models_dir)
        )
    else:
        web = create_app(st.settings)
    # log_config=None keeps the CLI's logging setup (text or JSON) for uvicorn's logs too.
    # X-Forwarded-Proto/For are believed only from VEILLE_TRUSTED_PROXIES (the TLS proxy); the
    # app reads the client address the same way (web/limits.py).
    trusted = ",".join(st.settings.trusted_proxies)
    uvicorn.run(
        web,
        host=host,
        port=port,
        log_config=None,
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
        server_header=False,
    )
