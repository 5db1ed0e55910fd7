"""A reader's own pages, reached from every email without an account: preferences (topics,
language, daily or weekly, pause, unsubscribe) and the "off topic?" report (the link shows
a confirmation page; its button records the report, so a mail scanner following links does not).

Both links are signed (digest/tokens.py). A report is stored once per (item, reader) however
often its button is pressed; the public archive's anonymous links count once per client
address (kept as a keyed hash, never in clear). Every client gets at most
VEILLE_FEEDBACK_PER_HOUR report requests an hour, valid or not.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from veille import metrics
from veille.digest import subscribers, tokens
from veille.errors import VeilleError
from veille.store import feedback as reports
from veille.store import session_scope, utcnow
from veille.store import subscribers as subs
from veille.types import TOPICS
from veille.web.limits import client_address
from veille.web.public import message_page
from veille.web.render import renderer

log = logging.getLogger(__name__)
router = APIRouter()


class RateLimit:
    """At most `limit` events per key within a sliding `window` of seconds."""

    def __init__(
        self, limit: int, window: float = 3600.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._events: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = self.clock()
        with self._lock:
            events = self._events[key]
            while events and events[0] <= now - self.window:
                events.popleft()
            if len(events) >= self.limit:
                return False
            events.append(now)
            return True


def _client(request: Request) -> str:
    # Behind the TLS proxy, the reader's address (not the proxy's): as for every other limit.
    return client_address(request, request.app.state.settings.trusted_proxies)


def _bad_link(request: Request) -> Response:
    return message_page(
        request,
        "Link not valid",
        "This link is damaged or no longer valid. Copy the whole link from the email, "
        "or subscribe again.",
        status=400,
        link=("/subscribe", renderer(request).gettext(request, "Subscribe")),
    )


def _preferences_page(request: Request, token: str, sub, status: int = 200, **ctx) -> Response:  # noqa: ANN001, ANN003
    unsubscribe = tokens.unsubscribe_token(
        request.app.state.secret, subscriber_id=sub.id or 0, email=sub.email
    )
    return renderer(request).page(
        request,
        "preferences.html",
        status=status,
        token=token,
        sub=sub,
        unsubscribe_token=unsubscribe,
        topics=TOPICS,
        weekly_day=request.app.state.settings.weekly_day,
        **ctx,
    )


@router.get("/preferences/{token}")
def preferences(request: Request, token: str) -> Response:
    try:
        with session_scope(request.app.state.engine) as s:
            sub = subscribers.reader(s, secret=request.app.state.secret, token=token)
    except VeilleError:
        return _bad_link(request)
    return _preferences_page(request, token, sub, saved=False, error=None)


@router.post("/preferences/{token}")
def save_preferences(
    request: Request,
    token: str,
    topics: list[str] = Form(default_factory=list),
    lang: str = Form("fr"),
    frequency: str = Form("daily"),
    paused: str = Form(""),
) -> Response:
    state = request.app.state
    try:
        with session_scope(state.engine) as s:
            subscribers.reader(s, secret=state.secret, token=token)
    except VeilleError:
        return _bad_link(request)
    try:
        with session_scope(state.engine) as s:
            sub = subscribers.update_preferences(
                s,
                secret=state.secret,
                token=token,
                topics=topics,
                lang=lang,
                frequency=frequency,
                paused=bool(paused),
            )
    except VeilleError as exc:
        with session_scope(state.engine) as s:
            sub = subscribers.reader(s, secret=state.secret, token=token)
        return _preferences_page(request, token, sub, status=400, saved=False, error=str(exc))
    log.info("preferences saved", extra={"item": sub.id})
    return _preferences_page(request, token, sub, saved=True, error=None)


def _report_target(request: Request, token: str) -> tuple[int, int, str]:
    """(subscriber id, item id, item title) of a valid report link; LinkError otherwise."""
    state = request.app.state
    sid, item_id = tokens.read_feedback(state.secret, token)
    with session_scope(state.engine) as s:
        if sid != tokens.ANONYMOUS and subs.by_id(s, subscriber_id=sid) is None:
            raise tokens.LinkError("this report link is for an address no longer subscribed")
        title = reports.item_title(s, item_id=item_id)
    if title is None:
        raise tokens.LinkError("this report link is for a story no longer kept")
    return sid, item_id, title


@router.get("/feedback/{token}")
def confirm_report(request: Request, token: str) -> Response:
    """The link in the email only asks: mail scanners and link previews follow links, so a
    report is recorded by the page's button (a POST), never by the GET."""
    try:
        _, _, title = _report_target(request, token)
    except VeilleError:
        metrics.FEEDBACK.labels(outcome="invalid").inc()
        return _bad_link(request)
    return renderer(request).page(request, "feedback.html", token=token, title=title)


@router.post("/feedback/{token}")
def report_off_topic(request: Request, token: str) -> Response:
    state, client = request.app.state, _client(request)
    if not state.feedback_limit.allow(client):
        metrics.FEEDBACK.labels(outcome="refused").inc()
        log.warning("feedback throttled", extra={"address": client})
        return message_page(
            request,
            "Too many reports",
            "Too many reports from your connection in the last hour. Try again later.",
            status=429,
        )
    try:
        sid, item_id, _ = _report_target(request, token)
        with session_scope(state.engine) as s:
            stored = reports.report(
                s, item_id=item_id, reporter=_reporter(request, sid), now=utcnow()
            )
        if stored is None:  # deleted between the check and the write
            raise tokens.LinkError("this report link is for a story no longer kept")
    except VeilleError:
        metrics.FEEDBACK.labels(outcome="invalid").inc()
        return _bad_link(request)
    metrics.FEEDBACK.labels(outcome="new" if stored else "repeat").inc()
    log.info("reader report", extra={"item": item_id, "new": stored})
    if not stored:
        return message_page(
            request,
            "Already reported",
            "You had reported this story already; the curators will look at it. Thank you.",
        )
    return message_page(
        request,
        "Thank you",
        "The curators will look at this story: your report helps the veille stay on topic.",
    )


def _reporter(request: Request, sid: int) -> str:
    if sid != tokens.ANONYMOUS:
        return f"s:{sid}"
    key = request.app.state.secret.encode()
    digest = hmac.new(key, _client(request).encode(), hashlib.sha256).hexdigest()[:20]
    return f"a:{digest}"
