"""`veille serve`: the review web app under uvicorn."""

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
) -> None:
    """Run the web app (review page, sources, model, statistics)."""
    import uvicorn

    from veille.web.app import create_app

    web = create_app(state(ctx).settings)
    # log_config=None keeps the CLI's logging setup (text or JSON) for uvicorn's logs too.
    uvicorn.run(web, host=host, port=port, log_config=None, proxy_headers=True,
                server_header=False)
