"""`veille sources list|check|import|export`: what is followed and how each source is doing."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from veille.cli import app
from veille.cli.common import SourcesOption, state
from veille.errors import ConfigError
from veille.sources import add_sources, load_sources, parse_opml, to_opml
from veille.store import session_scope, utcnow
from veille.store.sources import source_health, sync_sources

sources_app = typer.Typer(help="The sources file and each source's health.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")


def _when(value: datetime | None, empty: str = "-") -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else empty


@sources_app.command("list")
def list_cmd(ctx: typer.Context, sources: SourcesOption = None) -> None:
    """Each source with its health: last success, last error, failures, items, next fetch."""
    st = state(ctx)
    specs = load_sources(st.sources_path(sources))
    with session_scope(st.engine) as session:
        sync_sources(session, specs=specs, now=utcnow())
        health = source_health(session)
    table = Table(
        "name", "kind", "last success", "last error", "failures", "items", "next fetch", box=None
    )
    for h in health:
        s = h.source
        name = s.name if s.enabled else f"{s.name} (disabled)"
        table.add_row(
            name,
            s.kind,
            _when(s.last_success_at, "never"),
            _when(s.last_error_at),
            str(s.consecutive_failures),
            str(h.items),
            _when(s.next_fetch_at, "now") if s.enabled else "-",
        )
    console = Console()
    if not console.is_terminal:  # piped: full lines rather than 80 wrapped columns
        console.width = 160
    console.print(table)
    for h in health:
        if h.source.last_error and h.source.consecutive_failures:
            console.print(f"error: {h.source.name}: {h.source.last_error}", markup=False)
        if h.source.warning:
            console.print(f"warning: {h.source.name}: {h.source.warning}", markup=False)


@sources_app.command("check")
def check_cmd(ctx: typer.Context, sources: SourcesOption = None) -> None:
    """Validate the sources file (one line naming file, line and field on error)."""
    path = state(ctx).sources_path(sources)
    specs = load_sources(path)
    enabled = sum(s.enabled for s in specs)
    typer.echo(f"{path}: {len(specs)} sources ({enabled} enabled)")


@sources_app.command("import")
def import_cmd(
    ctx: typer.Context,
    opml: Annotated[Path, typer.Argument(help="OPML file (Miniflux, FreshRSS, … exports).")],
    sources: SourcesOption = None,
) -> None:
    """Add the feeds of an OPML file to the sources file (existing names and URLs skipped)."""
    try:
        data = opml.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{opml}: cannot read: {exc.strerror or exc}") from None
    specs = parse_opml(data, origin=str(opml))
    path = state(ctx).sources_path(sources)
    added, skipped = add_sources(path, specs)
    typer.echo(f"{path}: {len(added)} sources added, {len(skipped)} already there")


@sources_app.command("export")
def export_cmd(
    ctx: typer.Context,
    sources: SourcesOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Write the sources as OPML 2.0 (imports into Miniflux, FreshRSS and back into veille)."""
    text = to_opml(load_sources(state(ctx).sources_path(sources)), now=utcnow())
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
