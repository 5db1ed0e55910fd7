"""Checks page (admins): the same list as `veille doctor`, one line each with the fix, in the
reader's language. The engine used is a fresh one so nothing is migrated by looking."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from veille import doctor
from veille.store import utcnow
from veille.web.auth import require_admin
from veille.web.render import renderer
from veille.web.session import Curator

router = APIRouter()


@router.get("/checks")
def checks_page(request: Request, _: Annotated[Curator, Depends(require_admin)]) -> Response:
    settings = request.app.state.settings
    engine = doctor.engine_for(settings)
    try:
        findings = doctor.run_checks(settings, engine=engine, now=utcnow())
    finally:
        engine.dispose()
    render = renderer(request)

    def gettext(message: str) -> str:
        return render.gettext(request, message)

    rows = [(f.severity, f.line(gettext)) for f in findings]
    return render.page(
        request,
        "checks.html",
        rows=rows,
        worst=doctor.exit_code(findings),
        counts={s: sum(f.severity == s for f in findings) for s in doctor.SEVERITY},
    )
