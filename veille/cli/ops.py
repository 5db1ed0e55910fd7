"""`veille run` (one full cycle, for cron) and `veille status` (how the veille is doing)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from veille.cli import app
from veille.cli.common import SourcesOption, state
from veille.errors import ModelError
from veille.store import jobs as stored_jobs
from veille.store import session_scope, stats, utcnow


@app.command("run")
def run_cmd(ctx: typer.Context, sources: SourcesOption = None) -> None:
    """One full cycle for cron: pull due sources, then the digest + publish and the weekly
    retrain when their time has come (never twice, even with `veille serve` running).
    With VEILLE_EXECUTOR=procrastinate it only defers those jobs for the workers."""
    from veille.scheduler import Plan, run_due
    from veille.scheduler.jobs import make_jobs

    st = state(ctx)
    settings = (
        st.settings if sources is None else st.settings.model_copy(update={"sources": sources})
    )
    if settings.executor == "procrastinate":  # the workers run the jobs: defer what is due
        from veille.queue import tick_once

        try:
            with session_scope(st.engine) as session:
                counts = tick_once(session, settings)
        finally:
            st.engine.dispose()
        typer.echo("deferred for the workers: " + " ".join(f"{k}={n}" for k, n in counts.items()))
        return
    outcomes = run_due(st.engine, make_jobs(st.engine, settings), Plan.from_settings(settings))
    typer.echo(" ".join(f"{job}={outcome}" for job, outcome in outcomes.items()))
    if "failed" in outcomes.values():
        raise typer.Exit(1)


@app.command("status")
def status_cmd(ctx: typer.Context) -> None:
    """Last run of each job, sources in error, unreviewed items, model, next runs, outbox."""
    from veille.classify import load_model
    from veille.scheduler import Plan, upcoming

    st = state(ctx)
    settings, out = st.settings, Console()
    now = utcnow()
    with session_scope(st.engine) as s:
        runs = stored_jobs.last_runs(s)
        failing = stats.failing_sources(s)
        total, unreviewed = stats.item_counts(s)
    nexts = upcoming(Plan.from_settings(settings), now=now)

    jobs = Table("job", "last run", "outcome", "figures", "next run", box=None)
    for name in sorted(set(runs) | set(nexts)):
        run = runs.get(name)
        figures = ", ".join(f"{k} {v}" for k, v in (run.counts or {}).items()) if run else ""
        jobs.add_row(
            name,
            f"{run.started_at:%Y-%m-%d %H:%M}" if run else "never",
            (run.outcome + (f": {run.error}" if run.error else "")) if run else "",
            figures,
            f"{nexts[name]:%Y-%m-%d %H:%M %Z}" if name in nexts else "",
        )
    out.print(jobs)
    out.print(f"items: {total} stored, {unreviewed} not reviewed")
    try:
        model = load_model(settings.models_dir)
        cv = model.metrics.get("cv", {})
        macro = cv.get("macro_f1")
        out.print(f"model: {model.version}" + (f", macro-F1 {macro:.3f} (cv)" if macro else ""))
    except ModelError as exc:
        out.print(f"model: none ({exc})")
    outbox = settings.data_dir / "outbox"
    waiting = len(list(outbox.rglob("*.eml"))) if outbox.is_dir() else 0
    out.print(f"outbox: {waiting} messages in {outbox}")
    if failing:
        out.print(f"sources in error: {len(failing)}")
        for src in failing:
            out.print(f"  {src.name}: {src.consecutive_failures}× {src.last_error or ''}")
    else:
        out.print("sources in error: none")
