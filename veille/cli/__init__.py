"""`veille …`: a thin shell over the package's functions (sqlite-utils style).

Each area registers its commands from its own module; this one holds the root and the
commands about veille itself (config, db).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from veille.cli.common import State, configure_logging, state
from veille.errors import ConfigError, VeilleError
from veille.settings import LOG_LEVELS

app = typer.Typer(
    help="veille: a daily news watch on social innovation, collaborative consumption "
    "and open collaboration.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@app.callback()
def root(
    ctx: typer.Context,
    log_format: Annotated[
        str | None, typer.Option("--log-format", help="text or json (default VEILLE_LOG_FORMAT).")
    ] = None,
    log_level: Annotated[
        str | None, typer.Option("--log-level", help="DEBUG, INFO, WARNING or ERROR.")
    ] = None,
) -> None:
    overrides: dict[str, object] = {}
    if log_format:
        if log_format not in ("text", "json"):
            raise ConfigError(f"--log-format {log_format!r}: use text or json")
        overrides["log_format"] = log_format
    if log_level:
        if log_level.upper() not in LOG_LEVELS:
            raise ConfigError(f"--log-level {log_level!r}: use DEBUG, INFO, WARNING or ERROR")
        overrides["log_level"] = log_level
    st = State(overrides)
    ctx.obj = st
    configure_logging(st.settings.log_format, st.settings.log_level)


@app.command("config")
def config_cmd(ctx: typer.Context) -> None:
    """Print the effective settings (secrets masked)."""
    table = Table("setting", "environment variable", "value", box=None)
    for name, value in state(ctx).settings.masked().items():
        table.add_row(name, f"VEILLE_{name.upper()}", value)
    Console().print(table)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply database migrations (also done automatically on start)."""
    from veille.store.db import current_revision

    st = state(ctx)
    typer.echo(f"database at revision {current_revision(st.engine)}")
    if st.settings.executor == "procrastinate":
        from veille.store import queue, session_scope

        try:
            with session_scope(st.engine) as session:
                counts = queue.job_counts(session) or {}
        finally:
            st.engine.dispose()
        typer.echo(
            "queue: " + ", ".join(f"{k} {counts.get(k, 0)}" for k in ("todo", "doing", "failed"))
        )


def _register() -> None:
    # Area modules add their commands to `app` when imported.
    import importlib
    import pkgutil

    import veille.cli as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        if mod.name not in {"common"}:
            importlib.import_module(f"veille.cli.{mod.name}")


def main() -> None:
    _register()
    try:
        app()
    except VeilleError as exc:
        typer.echo(f"veille: error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("veille: interrupted", err=True)
        sys.exit(130)
