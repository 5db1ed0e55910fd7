"""`veille demo [--serve]`: see the whole product work in a minute, offline."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from veille.cli import app
from veille.cli.common import state

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from veille.demo import DemoSite
    from veille.settings import Settings


@app.command("demo")
def demo_cmd(
    ctx: typer.Context,
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Where the demo keeps its database and files.")
    ] = Path("demo-data"),
    serve: Annotated[
        bool,
        typer.Option(
            "--serve",
            help="Then start the web app with a demo curator account (reuses a demo already "
            "pulled into --data-dir, and keeps its sample site up so article links work).",
        ),
    ] = False,
    host: Annotated[str, typer.Option("--host", help="With --serve: address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="With --serve: port.")] = 8000,
) -> None:
    """Pull bundled sample sites from a local server, classify, 'send' yesterday's digest and
    leave today's to curate, write the archive and feeds; no network needed."""
    from veille.demo.run import demo_curator, demo_settings, has_run, open_site
    from veille.store import open_store

    settings = demo_settings(state(ctx).settings, data_dir.resolve())
    reuse = serve and has_run(settings)
    site = open_site(settings)
    try:
        if reuse:
            typer.echo(f"demo: reusing the demo already in {settings.data_dir}")
            engine = open_store(settings.db_url)
        else:
            engine = _run(settings, site)
        if not serve:
            typer.echo("next: veille demo --serve   (review page with a demo curator account)")
            return
        import uvicorn

        from veille.web.app import create_app

        name, password = demo_curator(engine)
        typer.echo(f"sample site: {site.base_url}/ (kept up while the web app runs)")
        typer.echo(f"review page: http://{host}:{port}/login  user: {name}  password: {password}")
        typer.echo(f"today's digest to curate: http://{host}:{port}/digest/preview")
        uvicorn.run(
            create_app(settings), host=host, port=port, log_config=None, server_header=False
        )
    finally:
        site.close()


def _run(settings: Settings, site: DemoSite) -> Engine:
    from veille.demo.run import run_demo

    typer.echo(f"demo: pulling the sample sites into {settings.data_dir} …")
    result, engine = run_demo(settings, site)
    r = result.pull
    typer.echo(
        f"pulled {r.sources} sources: {r.new_items} new items "
        f"({', '.join(f'{n} {k}' for k, n in sorted(r.extractions.items()))}) "
        f"in {r.seconds:.1f} s"
    )
    typer.echo(f"yesterday's digest: {result.stories} stories; emails written to the outbox:")
    for path in result.outbox:
        typer.echo(f"  {path}")
    typer.echo(f"today's digest, not sent yet: {result.waiting} stories to curate")
    typer.echo(f"archive: {result.archive}")
    typer.echo(f"feeds:   {settings.data_dir / 'digests' / 'feeds'}/ ({len(result.feeds)} files)")
    return engine
