"""The public routes: subscribe, confirm, unsubscribe (RFC 8058 one-click), the digest
archive and output feeds as static files, /healthz and /metrics. Nothing here needs a login;
nothing here reveals more than a subscriber's own address.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import func, text
from sqlmodel import select

from veille import metrics, publish
from veille.digest import issue, subscribers, tokens
from veille.errors import VeilleError
from veille.settings import WEEKDAYS, WEEKDAYS_FR
from veille.store import Source, Subscriber, session_scope, utcnow
from veille.types import TOPICS
from veille.web.render import renderer

log = logging.getLogger(__name__)
router = APIRouter()
STALE_PULL = timedelta(hours=6)  # /healthz reports "stale" when no source succeeded since


def mount_archive(app: FastAPI) -> None:
    """Serve DATA_DIR/digests (archive pages and feeds) at /digests/, made if missing."""
    folder = publish.folder(app.state.settings)
    folder.mkdir(parents=True, exist_ok=True)
    app.mount("/digests", StaticFiles(directory=folder, html=True), name="digests")
    # One-click unsubscribe comes from mail providers, without our session or token.
    app.state.csrf_exempt.add("/unsubscribe/{token}")


def _page(request: Request, title: str, message: str, status: int = 200, **ctx) -> Response:  # noqa: ANN003
    render = renderer(request)
    return render.page(
        request,
        "public.html",
        status=status,
        title=render.gettext(request, title),
        message=render.gettext(request, message),
        **ctx,
    )


def _resubscribe(request: Request) -> tuple[str, str]:
    return ("/subscribe", renderer(request).gettext(request, "Subscribe again."))


@router.get("/subscribe")
def subscribe_form(request: Request, email: str = "") -> Response:
    """The form; the archive's subscribe box sends the address here to fill it in."""
    return renderer(request).page(
        request, "subscribe.html", topics=TOPICS, error=None, email=email[:320]
    )


@router.post("/subscribe")
def subscribe(
    request: Request,
    email: str = Form(...),
    lang: str = Form("fr"),
    topics: list[str] = Form(default_factory=list),
    frequency: str = Form("daily"),
) -> Response:
    state, now = request.app.state, utcnow()
    try:
        with session_scope(state.engine) as session:
            sub, needs_mail = subscribers.add(
                session,
                email=email,
                now=now,
                lang=lang,
                topics=topics or list(TOPICS),
                frequency=frequency,
            )
        if needs_mail:
            issue.send_confirmation(sub, settings=state.settings, now=now)
    except VeilleError as exc:
        render = renderer(request)
        return render.page(
            request,
            "subscribe.html",
            status=400,
            topics=TOPICS,
            error=str(exc),
            email=email[:320],
        )
    return _page(request, "Check your inbox", "We sent you a link to confirm your subscription.")


@router.get("/subscribe/confirm/{token}")
def confirm(request: Request, token: str) -> Response:
    state = request.app.state
    try:
        with session_scope(state.engine) as session:
            sub = subscribers.confirm(session, secret=state.secret, token=token, now=utcnow())
    except VeilleError:
        return _page(
            request,
            "Link not valid",
            "This confirmation link is invalid or has expired. Subscribe again.",
            status=400,
        )
    if sub.frequency == "weekly":
        render = renderer(request)
        names = WEEKDAYS_FR if render.lang(request) == "fr" else WEEKDAYS
        day = names[state.settings.weekly_weekday]
        message = render.gettext(request, "You will receive the weekly issue every {day}.")
        return _page(request, "Subscription confirmed", message.format(day=day))
    return _page(request, "Subscription confirmed", "You will receive the digest every morning.")


def _bad_unsubscribe(request: Request) -> Response:
    return _page(
        request,
        "Link not valid",
        "This unsubscribe link is damaged or not one of ours: nothing was changed. "
        "Copy the whole link from the email, or write to us by replying to it.",
        status=400,
    )


@router.get("/unsubscribe/{token}")
def unsubscribe_form(request: Request, token: str) -> Response:
    state = request.app.state
    try:
        sid, email = tokens.read_unsubscribe(state.secret, token)
    except VeilleError:
        return _bad_unsubscribe(request)
    with session_scope(state.engine) as session:
        sub = session.get(Subscriber, sid)
        gone = sub is None or sub.email != email or sub.status == "unsubscribed"
    preferences = tokens.preferences_token(state.secret, subscriber_id=sid, email=email)
    return renderer(request).page(
        request, "unsubscribe.html", token=token, email=email, gone=gone, preferences=preferences
    )


@router.post("/unsubscribe/{token}")
def unsubscribe(request: Request, token: str) -> Response:
    """Both the page's button and RFC 8058 one-click (`List-Unsubscribe=One-Click`)."""
    state = request.app.state
    try:
        with session_scope(state.engine) as session:
            subscribers.unsubscribe(session, secret=state.secret, token=token, now=utcnow())
    except VeilleError:
        return _bad_unsubscribe(request)
    return _page(
        request,
        "Unsubscribed",
        "You will not receive the digest any more.",
        link=_resubscribe(request),
    )


@router.get("/healthz")
def healthz(request: Request) -> Response:
    """Database reachable, scheduler alive (when this process runs one), last pull age."""
    from veille.scheduler import is_alive

    state = request.app.state
    body: dict[str, object] = {"status": "ok"}
    try:
        with state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        with session_scope(state.engine) as session:
            last = session.exec(select(func.max(Source.last_success_at))).one()
        body["database"] = "ok"
    except Exception as exc:  # the health check reports, it does not raise
        log.warning("healthz: database unreachable", extra={"reason": str(exc)})
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    scheduler = getattr(state, "scheduler", None)
    body["scheduler"] = "off" if scheduler is None else ("ok" if is_alive(scheduler) else "dead")
    if last is not None:
        if last.tzinfo is None:
            from datetime import UTC

            last = last.replace(tzinfo=UTC)
        age = (utcnow() - last).total_seconds()
        body["last_pull_age_seconds"] = round(age)
        if age > STALE_PULL.total_seconds():
            body["status"] = "stale"
    else:
        body["last_pull_age_seconds"] = None
    if body["scheduler"] == "dead":
        body["status"] = "error"
        return JSONResponse(body, status_code=503)
    return JSONResponse(body)


@router.get("/metrics")
def metrics_text() -> Response:
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
