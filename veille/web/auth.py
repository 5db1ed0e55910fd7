"""Who may do what: login and logout, the curator and admin guards, CSRF, login throttling
(in the database, shared by all processes: see limits.py).

Every state-changing request (any method but GET/HEAD/OPTIONS) goes through `csrf_guard`,
installed app-wide: it refuses cross-site requests (Sec-Fetch-Site, Origin) and any request
whose token (form field `csrf_token` or header `X-CSRF-Token`) is not this session's.
Routes that must accept posts from elsewhere (one-click unsubscribe from a mail client) list
their path in `app.state.csrf_exempt`.
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from veille.store import session_scope, utcnow
from veille.store import users as accounts
from veille.web.limits import client_address
from veille.web.render import local_path, renderer
from veille.web.session import Curator, csrf_token, end, load_curator, start

log = logging.getLogger(__name__)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
router = APIRouter()


class LoginRequired(Exception):
    """No valid session: HTML pages redirect to the login form, other requests get 401."""


class Forbidden(Exception):
    """Logged in, but this needs the admin role."""


class CsrfRefused(Exception):
    """Missing or wrong CSRF token, or a cross-site request."""


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


async def csrf_guard(request: Request) -> None:
    if request.method in SAFE_METHODS:
        return
    route = request.scope.get("route")
    if getattr(route, "path", None) in request.app.state.csrf_exempt:
        return
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise CsrfRefused
    origin = request.headers.get("origin")
    allowed = {_origin(str(request.base_url)), _origin(request.app.state.settings.base_url)}
    if origin is not None and origin.lower() not in allowed:
        raise CsrfRefused
    sent = request.headers.get("x-csrf-token")
    if sent is None and "form" in request.headers.get("content-type", ""):
        sent = (await request.form()).get("csrf_token")
    expected = request.session.get("csrf")
    if not (isinstance(sent, str) and expected and hmac.compare_digest(sent, expected)):
        raise CsrfRefused


def require_curator(request: Request) -> Curator:
    state = request.app.state
    user = load_curator(request, state.engine, state.secret)
    if user is None:
        raise LoginRequired
    request.state.user = user
    return user


def require_admin(user: Annotated[Curator, Depends(require_curator)]) -> Curator:
    if not user.is_admin:
        raise Forbidden
    return user


def _address(request: Request) -> str:
    return client_address(request, request.app.state.settings.trusted_proxies)


@router.get("/login")
def login_form(request: Request, next: str = "/review") -> Response:
    user = load_curator(request, request.app.state.engine, request.app.state.secret)
    if user is not None:
        return RedirectResponse(local_path(next), status_code=303)
    csrf_token(request)
    return renderer(request).page(request, "login.html", next=local_path(next))


@router.post("/login")
def login(
    request: Request,
    name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/review",
) -> Response:
    state, render = request.app.state, renderer(request)
    address, now = _address(request), utcnow()
    wait = state.throttle.wait(address, name, now)
    if wait > 0:
        log.warning("login throttled", extra={"user": name, "address": address})
        minutes = max(1, round(wait / 60))
        error = render.gettext(request, "Too many failed attempts. Try again in {n} min.")
        return render.page(
            request,
            "login.html",
            status=429,
            name=name,
            next=local_path(next),
            error=error.format(n=minutes),
        )
    with session_scope(state.engine) as s:
        user = accounts.authenticate(s, name=name.strip(), password=password, now=now)
    if user is None:
        state.throttle.failed(address, name, now)
        log.info("login failed", extra={"user": name, "address": address})
        error = render.gettext(request, "Wrong name or password.")
        return render.page(
            request, "login.html", status=401, name=name, next=local_path(next), error=error
        )
    state.throttle.succeeded(address, name)
    start(request, user, state.secret, state.engine)
    log.info("login", extra={"user": user.name, "address": address})
    return RedirectResponse(local_path(next), status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    end(request, request.app.state.engine)
    return RedirectResponse("/login", status_code=303)
