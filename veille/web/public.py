"""The public routes: subscribe, confirm, unsubscribe (RFC 8058 one-click), the digest
archive and output feeds as static files, /healthz and /metrics. Nothing here needs a login;
nothing here reveals more than a subscriber's own address.
"""

from __future__ import annotations

import logging
from datetime import datetime

from fastapi import APIRouter, BackgroundTasks, FastAPI, Form, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from veille import doctor, metrics, publish
from veille.digest import issue, subscribers, tokens
from veille.errors import VeilleError
from veille.settings import WEEKDAYS, WEEKDAYS_FR, Settings
from veille.store import Subscriber, session_scope, utcnow
from veille.store import health as stored
from veille.store import subscribers as subs
from veille.types import TOPICS
from veille.web import messages
from veille.web.limits import client_address
from veille.web.render import renderer

log = logging.getLogger(__name__)
router = APIRouter()


def mount_archive(app: FastAPI) -> None:
    """Serve DATA_DIR/digests (archive pages and feeds) at /digests/, made if missing."""
    folder = publish.folder(app.state.settings)
    folder.mkdir(parents=True, exist_ok=True)
    app.mount("/digests", StaticFiles(directory=folder, html=True), name="digests")
    # One-click unsubscribe comes from mail providers, without our session or token.
    app.state.csrf_exempt.add("/unsubscribe/{token}")


def message_page(request: Request, title: str, message: str, status: int = 200, **ctx) -> Response:  # noqa: ANN003
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
    background: BackgroundTasks,
    email: str = Form(...),
    lang: str = Form("fr"),
    topics: list[str] = Form(default_factory=list),
    frequency: str = Form("daily"),
) -> Response:
    """The same answer, after the same work, whether the address is new, pending or confirmed;
    the confirmation email goes out after the response (its time tells nothing either)."""
    state, now, render = request.app.state, utcnow(), renderer(request)
    client = client_address(request, state.settings.trusted_proxies)
    if state.subscribe_limits.client_wait(client, now) > 0:
        log.warning("subscribe throttled", extra={"address": client})
        return message_page(
            request, "Too many requests", "Too many subscriptions from here; try later.", status=429
        )
    try:
        address = subscribers.normalise_email(email)
        may_mail = state.subscribe_limits.allow_mail(client, address, now)
        with session_scope(state.engine) as session:
            sub, needs_mail = subscribers.add(
                session,
                email=address,
                now=now,
                lang=lang,
                topics=topics or list(TOPICS),
                frequency=frequency,
            )
    except VeilleError as exc:
        error = messages.subscribe_error(exc, lambda text: render.gettext(request, text), email)
        return render.page(
            request, "subscribe.html", status=400, topics=TOPICS, error=error, email=email[:320]
        )
    if needs_mail and may_mail:
        background.add_task(_send_confirmation, sub, state.settings, now)
    return message_page(
        request, "Check your inbox", "We sent you a link to confirm your subscription."
    )


def _send_confirmation(sub: Subscriber, settings: Settings, now: datetime) -> None:
    try:
        issue.send_confirmation(sub, settings=settings, now=now)
    except Exception:  # after the response: nobody to tell but the log
        log.exception("confirmation email failed", extra={"subscriber": sub.id})


@router.get("/subscribe/confirm/{token}")
def confirm(request: Request, token: str) -> Response:
    state = request.app.state
    try:
        with session_scope(state.engine) as session:
            sub = subscribers.confirm(session, secret=state.secret, token=token, now=utcnow())
    except VeilleError:
        return message_page(
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
        return message_page(request, "Subscription confirmed", message.format(day=day))
    return message_page(
        request, "Subscription confirmed", "You will receive the digest every morning."
    )


def _bad_unsubscribe(request: Request) -> Response:
    return message_page(
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
        sub = subs.by_id(session, subscriber_id=sid)
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
    return message_page(
        request,
        "Unsubscribed",
        "You will not receive the digest any more.",
        link=_resubscribe(request),
    )


@router.get("/healthz")
def healthz(request: Request) -> Response:
    """200 when all is well; 503 when the database is unreachable, this process's scheduler
    died, or no enabled source was fetched successfully for VEILLE_PULL_STALE_HOURS (counted
    from the process start before the first success), so a container healthcheck notices."""
    from veille.scheduler import is_alive

    state, now = request.app.state, utcnow()
    hours = state.settings.pull_stale_hours
    body: dict[str, object] = {"status": "ok"}
    found = stored.probe(state.engine)
    if not found.ok:
        log.warning("healthz: database unreachable", extra={"reason": found.error})
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    body["database"] = "ok"
    last, enabled = found.last_pull, found.enabled_sources
    scheduler = getattr(state, "scheduler", None)
    body["scheduler"] = "off" if scheduler is None else ("ok" if is_alive(scheduler) else "dead")
    body["last_pull_age_seconds"] = round((now - last).total_seconds()) if last else None
    body["stale_after_hours"] = hours
    started = getattr(state, "started_at", now)
    if enabled and doctor.stale_since(last, started, now, hours):
        body["status"] = "stale"
    if body["scheduler"] == "dead":
        body["status"] = "error"
    return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)


@router.get("/metrics")
def metrics_text() -> Response:
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
