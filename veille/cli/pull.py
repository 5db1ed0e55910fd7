"""`veille pull` (fetch due sources, store new items) and `veille items` (inspect, export)."""

from __future__ import annotations

import base64
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from veille import pipeline
from veille.cli import app
from veille.cli.common import SourcesOption, run_leased, state
from veille.errors import ConfigError, VeilleError
from veille.scheduler.jobs import pull_figures
from veille.scheduler.plan import PULL
from veille.sources import load_sources, parse_interval
from veille.store import Item, session_scope, utcnow
from veille.store.items import list_items
from veille.store.labels import effective_labels
from veille.store.sources import get_source


@app.command("pull")
def pull_cmd(
    ctx: typer.Context,
    sources: SourcesOption = None,
    source: Annotated[
        list[str] | None, typer.Option("--source", help="Only this source (repeatable).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Ignore schedules and backoff.")] = False,
    ingest_only: Annotated[
        bool,
        typer.Option(
            "--ingest-only",
            help="Only fetch feeds and store new items; their text, stories and topics "
            "wait for the next pull.",
        ),
    ] = False,
) -> None:
    """Fetch every due source concurrently, store its new items, then give each its text,
    story and topics. Exit code 1 when every source fetched failed (network down?)."""
    st = state(ctx)
    specs = load_sources(st.sources_path(sources))
    err = Console(stderr=True)
    progress = Progress(
        TextColumn("pull"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    task = progress.add_task("", total=0)
    done: list[pipeline.PullReport] = []
    text_logs = st.settings.log_format == "text"

    def run(now: datetime) -> dict[str, int]:
        with progress:
            done.append(
                pipeline.pull(
                    st.engine,
                    st.settings,
                    specs=specs,
                    names=tuple(source or ()),
                    force=force,
                    enrich=not ingest_only,
                    now=now,
                    on_start=lambda n: progress.update(task, total=n),
                    on_source=lambda o: progress.update(task, advance=1, description=o.name[:30]),
                )
            )
        return pull_figures(done[0])

    # The scheduler's lease and history: two pulls at once would file one story twice.
    with _said_here(enabled=text_logs):
        busy = "another pull is running (veille serve, veille run or veille pull)"
        outcome = run_leased(st.engine, PULL, run, busy=busy)
    if not done:  # a bug (its traceback is logged) or the database went away
        raise VeilleError(f"the pull did not run ({outcome}); see the log above")
    report = done[0]
    if text_logs:  # JSON logs (cron, services) already carry one record per failure
        for failed in report.outcomes:
            if failed.status == "failed":
                typer.echo(f"failed: {failed.name}: {failed.error}", err=True)
    typer.echo(summary(report))
    if report.sources and report.failed == report.sources:
        typer.echo("every source failed: is the network up? (veille sources list)", err=True)
        raise typer.Exit(1)


# Log records this command reports itself, in its own words, in a terminal.
_REPORTED = {
    "source fetched",
    "source failed",
    "pull done",
    "robots.txt unreachable",
    "job finished",
}


class _DropReported(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg not in _REPORTED


@contextmanager
def _said_here(*, enabled: bool) -> Iterator[None]:
    """Each failure once: the per-source log lines give way to the command's own lines."""
    handlers = logging.getLogger().handlers if enabled else []
    drop = _DropReported()
    for handler in handlers:
        handler.addFilter(drop)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(drop)


def summary(report: pipeline.PullReport) -> str:
    """The one line a pull ends with."""
    return (
        f"{report.sources} sources: {report.ok} ok, {report.unchanged} unchanged, "
        f"{report.failed} failed; {report.new_items} new items in {report.seconds:.1f} s"
    )


def parse_since(value: str, now: datetime) -> datetime:
    """`2d`, `12h`, `30m` ago, or an ISO date/time (UTC when no offset is given)."""
    try:
        return now - timedelta(seconds=parse_interval(value))
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"--since {value!r}: use a duration (30m, 12h, 2d) or a date (2026-11-20)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def item_record(item: Item, source: str) -> dict[str, object]:
    """Every stored field of an item, JSON-ready, with its source's name."""
    out: dict[str, object] = {"source": source}
    for key, value in item.model_dump().items():
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, bytes):
            value = base64.b64encode(value).decode()
        out[key] = value
    return out


@app.command("items")
def items_cmd(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option("--since", help="First seen since: 12h, 2d or 2026-11-20.")
    ] = None,
    source: Annotated[str | None, typer.Option("--source", help="Only this source.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or jsonl.")] = "table",
    limit: Annotated[int | None, typer.Option("--limit", help="At most this many.")] = None,
) -> None:
    """List stored items, newest first (jsonl carries every stored field)."""
    if fmt not in ("table", "jsonl"):
        raise ConfigError(f"--format {fmt!r}: use table or jsonl")
    after = parse_since(since, utcnow()) if since else None
    with session_scope(state(ctx).engine) as session:
        source_id = None
        if source:
            row = get_source(session, name=source)
            if row is None:
                raise ConfigError(f"--source {source!r}: no such source")
            source_id = row.id
        found = list_items(session, since=after, source_id=source_id, limit=limit)
    if fmt == "jsonl":
        out = sys.stdout
        for item, name in found:
            out.write(json.dumps(item_record(item, name), ensure_ascii=False) + "\n")
        return
    table = Table(
        "id", "first seen", "source", "title", "text", "lang", "story", "topics", box=None
    )
    for item, name in found:
        table.add_row(
            str(item.id),
            item.first_seen_at.strftime("%Y-%m-%d %H:%M"),
            name,
            item.title or item.url,
            item.extraction or "pending",
            item.lang or "",
            str(item.story_id or ""),
            ", ".join(effective_labels(item)),
        )
    console = Console()
    if not console.is_terminal:  # piped into grep or less: no wrapping at 80 columns
        console = Console(width=200)
    console.print(table)
