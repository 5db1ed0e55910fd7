"""`veille doctor`: one line per check, with the fix; the exit code says how bad it is."""

from __future__ import annotations

import typer

from veille.cli import app
from veille.cli.common import SourcesOption, state


@app.command("doctor")
def doctor_cmd(ctx: typer.Context, sources: SourcesOption = None) -> None:
    """Check the setup (base URL, sender, SMTP, subscribers, sources file, pulls, model,
    database, migrations, disk) and print one line each with the fix.
    Exit code: 0 all ok, 1 warnings, 2 errors."""
    from veille import doctor
    from veille.store import utcnow

    st = state(ctx)
    settings = st.settings
    if sources is not None:
        settings = settings.model_copy(update={"sources": sources})
    engine = doctor.engine_for(settings)  # not open_store: that would apply the migrations
    try:
        findings = doctor.run_checks(settings, engine=engine, now=utcnow())
    finally:
        engine.dispose()
    for finding in findings:
        typer.echo(f"{finding.severity:<8}{finding.line()}")
    code = doctor.exit_code(findings)
    errors, warnings = (sum(f.severity == s for f in findings) for s in ("error", "warning"))
    typer.echo(
        f"{len(findings)} checks: {errors} error{'s' * (errors != 1)}, "
        f"{warnings} warning{'s' * (warnings != 1)}"
    )
    raise typer.Exit(code)
