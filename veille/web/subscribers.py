"""Subscribers page (admins): counts by status, search, CSV import and export, resend a
confirmation, remove; and the OPML import of sources, the web twin of `veille sources import`.

Everything here calls the same functions as the CLI (digest.subscribers, sources); an upload
that is not what it claims is refused whole with one line and nothing is stored.
"""

from __future__ import annotations

import io
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, File, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from veille.digest import issue, subscribers
from veille.errors import VeilleError
from veille.sources import add_sources, load_sources, parse_opml
from veille.store import Subscriber, session_scope, utcnow
from veille.store import subscribers as q
from veille.store.sources import sync_sources
from veille.web.auth import require_admin
from veille.web.render import renderer
from veille.web.session import Curator

log = logging.getLogger(__name__)
router = APIRouter(dependencies=[Depends(require_admin)])
MAX_UPLOAD = 2_000_000  # bytes of a CSV or OPML upload
PAGE = "/subscribers"


def _page(request: Request, status: int = 200, **ctx: object) -> Response:
    text = request.query_params.get("q", "")[:200]
    status_filter = request.query_params.get("status") or None
    if status_filter not in (None, *q.STATUSES):
        status_filter = None
    with session_scope(request.app.state.engine) as s:
        counts = q.status_counts(s)
        rows = q.search(s, text=text, status=status_filter)
    return renderer(request).page(
        request,
        "subscribers.html",
        status=status,
        counts=counts,
        rows=rows,
        q=text,
        status_filter=status_filter,
        statuses=q.STATUSES,
        flash=request.session.pop("flash", None),
        **ctx,
    )


@router.get(PAGE)
def subscribers_page(request: Request) -> Response:
    return _page(request)


@router.get(PAGE + ".csv")
def export(request: Request) -> Response:
    out = io.StringIO()
    with session_scope(request.app.state.engine) as s:
        subscribers.export_csv(s, out)
    headers = {"Content-Disposition": 'attachment; filename="subscribers.csv"'}
    return StreamingResponse(iter([out.getvalue()]), media_type="text/csv", headers=headers)


async def _read(upload: UploadFile) -> bytes:
    data = await upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise VeilleError(f"{upload.filename}: larger than {MAX_UPLOAD // 1_000_000} MB")
    return data


@router.post(PAGE + "/import")
async def import_csv(
    request: Request,
    user: Annotated[Curator, Depends(require_admin)],
    file: Annotated[UploadFile, File()],
) -> Response:
    name = file.filename or "upload.csv"
    try:
        data = await _read(file)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise VeilleError(f"{name}: not UTF-8 text; save the CSV as UTF-8") from None
        with session_scope(request.app.state.engine) as s:
            report = subscribers.import_text(s, text=text, origin=name, now=utcnow())
    except VeilleError as exc:
        return _page(request, status=400, error=str(exc))
    log.info("subscribers imported", extra={"user": user.name, "added": report.added})
    request.session["flash"] = (
        renderer(request)
        .gettext(request, "{added} subscribers added, {skipped} already there")
        .format(added=report.added, skipped=report.skipped)
    )
    return RedirectResponse(PAGE, status_code=303)


def _subscriber(request: Request, subscriber_id: int) -> Subscriber:
    with session_scope(request.app.state.engine) as s:
        sub = q.by_id(s, subscriber_id=subscriber_id)
    if sub is None:
        raise HTTPException(status_code=404)
    return sub


@router.post(PAGE + "/{subscriber_id:id}/resend")
def resend(
    request: Request, subscriber_id: int, user: Annotated[Curator, Depends(require_admin)]
) -> Response:
    sub = _subscriber(request, subscriber_id)
    render = renderer(request)
    if sub.status != "pending":
        return _page(
            request,
            status=400,
            error=render.gettext(request, "Only a pending address gets a confirmation email."),
        )
    try:
        issue.send_confirmation(sub, settings=request.app.state.settings, now=utcnow())
    except VeilleError as exc:
        return _page(request, status=502, error=str(exc))
    log.info("confirmation resent", extra={"user": user.name, "item": sub.id})
    request.session["flash"] = render.gettext(request, "Confirmation sent to {email}").format(
        email=sub.email
    )
    return RedirectResponse(PAGE, status_code=303)


@router.post(PAGE + "/{subscriber_id:id}/remove")
def remove(
    request: Request, subscriber_id: int, user: Annotated[Curator, Depends(require_admin)]
) -> Response:
    sub = _subscriber(request, subscriber_id)
    with session_scope(request.app.state.engine) as s:
        subscribers.remove(s, email=sub.email)
    log.info("subscriber removed", extra={"user": user.name, "item": sub.id})
    request.session["flash"] = (
        renderer(request).gettext(request, "Removed: {email}").format(email=sub.email)
    )
    return RedirectResponse(PAGE, status_code=303)


@router.get("/sources/import")
def opml_form(request: Request) -> Response:
    return renderer(request).page(request, "opml_import.html", error=None)


@router.post("/sources/import")
async def opml_import(
    request: Request,
    user: Annotated[Curator, Depends(require_admin)],
    file: Annotated[UploadFile, File()],
) -> Response:
    settings = request.app.state.settings
    name = file.filename or "upload.opml"
    try:
        specs = parse_opml(await _read(file), origin=name)
        added, skipped = add_sources(settings.sources, specs)
        with session_scope(request.app.state.engine) as s:
            sync_sources(s, specs=load_sources(settings.sources), now=utcnow())
    except VeilleError as exc:
        return renderer(request).page(request, "opml_import.html", status=400, error=str(exc))
    log.info("opml imported", extra={"user": user.name, "added": len(added)})
    request.session["flash"] = (
        renderer(request)
        .gettext(request, "{added} sources added, {skipped} already there")
        .format(added=len(added), skipped=len(skipped))
    )
    return RedirectResponse("/sources", status_code=303)
