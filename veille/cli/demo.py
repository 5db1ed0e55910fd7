"""`veille demo [--serve]`: see the whole product work in a minute, offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from veille.cli import app
from veille.cli.common import state


@app.command("demo")
def demo_cmd(
    ctx: typer.Context,
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Where the demo keeps its database and files.")
    ] = Path("demo-data"),
    serve: Annotated[
        bool, typer.Option("--serve", help="Then start the web app with a demo curator account.")
    ] = False,
    host: Annotated[str, typer.Option("--host", help="With --serve: address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="With --serve: port.")] = 8000,
) -> None:
    """Pull bundled sample sites from a local server, classify, build and 'send' the digest,
    write the archive and feeds; no network needed."""
    from veille.demo.run import demo_curator, demo_settings, run_demo

    settings = demo_settings(state(ctx).settings, data_dir.resolve())
    typer.echo(f"demo: pulling the sample sites into {settings.data_dir} …")
    result, engine = run_demo(settings)
    r = result.pull
    typer.echo(
        f"pulled {r.sources} sources: {r.new_items} new items "
        f"({', '.join(f'{n} {k}' for k, n in sorted(r.extractions.items()))}) "
        f"in {r.seconds:.1f} s"
    )
    typer.echo(f"digest: {result.stories} stories; emails written to the outbox:")
    for path in result.outbox:
        typer.echo(f"  {path}")
    typer.echo(f"archive: {result.archive}")
    typer.echo(f"feeds:   {settings.data_dir / 'digests' / 'feeds'}/ ({len(result.feeds)} files)")
    if not serve:
        typer.echo("next: veille demo --serve   (review page with a demo curator account)")
        return
    import uvicorn

    from veille.web.app import create_app

    name, password = demo_curator(engine)
    typer.echo(f"review page: http://{host}:{port}/login  user: {name}  password: {password}")
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, server_header=False)
