"""The web app: `create_app(settings)` builds it; `veille serve` runs it with uvicorn.

Server-rendered pages (Jinja2) with a small script for the keyboard; no build step, nothing
loaded from elsewhere (the Content-Security-Policy allows this origin only). Curators' pages
require a login; the public pages are the health check here and those the digest adds.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlencode

from apscheduler.schedulers.base import BaseScheduler
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from veille import i18n
from veille.digest import brand as branding
from veille.pipeline.retrain import retrain_job
from veille.scheduler.runner import JobRunner
from veille.settings import Settings
from veille.store import open_store, utcnow
from veille.store.health import probe as health_probe
from veille.web import (
    auth,
    checks,
    limits,
    model,
    preview,
    public,
    reader,
    review,
    sources,
    stats,
    stories,
    subscribers,
)
from veille.web.modelcache import ModelCache
from veille.web.render import LANG_COOKIE, N_, Renderer, local_path, renderer
from veille.web.session import MAX_AGE, load_curator

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
# The public archive shows each story's lead image from its own site, as the email does.
ARCHIVE_CSP = SECURITY_HEADERS["Content-Security-Policy"].replace(
    "img-src 'self' data:", "img-src 'self' data: https:"
)
ERRORS = {
    400: (N_("Bad request"), N_("This request could not be understood.")),
    401: (N_("Login required"), N_("Log in to see this page.")),
    403: (N_("Forbidden"), N_("Your account may not do this.")),
    404: (N_("Not found"), N_("There is nothing at this address.")),
    405: (N_("Not allowed"), N_("This address does not accept this kind of request.")),
    500: (N_("Server error"), N_("Something went wrong on our side; it has been logged.")),
}
CSRF_MESSAGE = N_(
    "This form has expired or was sent from another site. Reload the page and try again."
)


def create_app(
    settings: Settings,
    *,
    retrain: model.JobFunc | None = None,
    scheduler: BaseScheduler | None = None,
) -> FastAPI:
    """The app over the store of `settings`. `retrain(now) -> figures` is what "retrain now"
    runs as the `retrain` job (default: seed and curators' labels, as `veille train`).
    A `scheduler` given here starts with the app and stops with it: on SIGTERM its running
    jobs finish their writes before the process exits."""
    engine = open_store(settings.db_url)
    retrain = retrain or retrain_job(engine, settings.models_dir)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if scheduler is not None:
            scheduler.start()
        try:
            yield
        finally:
            if scheduler is not None and scheduler.running:
                log.info("stopping the scheduler; running jobs finish first")
                scheduler.shutdown(wait=True)
            engine.dispose()

    app = FastAPI(
        title="veille",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(auth.csrf_guard)],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.started_at = utcnow()  # /healthz gives a fresh start this long for a first pull
    app.state.scheduler = scheduler
    app.state.secret = settings.secret()
    app.state.renderer = Renderer(settings.language, settings.timezone)
    app.state.throttle = limits.LoginThrottle(engine)
    app.state.subscribe_limits = limits.SubscribeLimits(engine)
    app.state.model = ModelCache(settings.models_dir)
    app.state.retrainer = model.Retrainer(
        JobRunner(engine), retrain, on_done=app.state.model.reload
    )
    app.state.csrf_exempt = set()
    app.state.feedback_limit = reader.RateLimit(settings.feedback_per_hour)
    app.state.brand = branding.from_settings(settings)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # noqa: ANN001, ANN202
        response = await call_next(request)
        if request.url.path.startswith("/digests/"):
            response.headers.setdefault("Content-Security-Policy", ARCHIVE_CSP)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path != "/health" and not request.url.path.startswith(
            ("/static/", "/digests/")
        ):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    # Added last so it runs first: every handler and error page sees the session.
    app.add_middleware(
        SessionMiddleware,
        secret_key=app.state.secret,
        session_cookie="veille_session",
        max_age=MAX_AGE,
        same_site="lax",
        https_only=settings.base_url.startswith("https://"),
    )
    # Outermost: a page asked for under another name (DNS rebinding) is refused at once.
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.web_hosts())
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _error_pages(app)
    public.mount_archive(app)
    for module in (
        auth,
        stories,  # before review: its /review/items/{id}/{action} would take theirs
        review,
        preview,
        subscribers,
        sources,
        model,
        stats,
        checks,
        public,
        reader,
    ):
        app.include_router(module.router)

    @app.get("/")
    def home() -> Response:
        return RedirectResponse("/review", status_code=303)

    @app.get("/lang/{code}")
    def switch_language(code: str, next: str = "/review") -> Response:
        response = RedirectResponse(local_path(next), status_code=303)
        response.set_cookie(
            LANG_COOKIE,
            i18n.normalise(code, settings.language),
            max_age=365 * 86400,
            samesite="lax",
            httponly=True,
        )
        return response

    @app.get("/health")
    def health(request: Request) -> Response:
        found = health_probe(request.app.state.engine, pulls=False)
        if not found.ok:
            log.warning("health: database unreachable", extra={"error": found.error})
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    return app


def _error_page(request: Request, status: int, message: str | None = None) -> Response:
    render = renderer(request)
    if getattr(request.state, "user", None) is None and request.url.path != "/login":
        state = request.app.state
        request.state.user = load_curator(request, state.engine, state.secret)
    title, default = ERRORS.get(status, ERRORS[400])
    return render.page(
        request,
        "error.html",
        status=status,
        title=render.gettext(request, title),
        message=render.gettext(request, message or default),
    )


def _allowed_methods(request: Request) -> str:
    """Every method some route of this path accepts (GET and POST are often two routes)."""
    methods: set[str] = set()
    pending = list(request.app.router.routes)
    while pending:
        route = pending.pop()
        inner = getattr(getattr(route, "original_router", None), "routes", None)
        if inner is not None:  # an included router (all ours are included without prefix)
            pending += inner
        elif getattr(route, "path_regex", None) and route.path_regex.match(request.url.path):
            methods |= getattr(route, "methods", None) or set()
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


def _error_pages(app: FastAPI) -> None:
    @app.exception_handler(auth.LoginRequired)
    async def login_required(request: Request, _: Exception) -> Response:
        if request.method == "GET" and request.headers.get("x-requested-with") != "fetch":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)
        return _error_page(request, 401)

    @app.exception_handler(auth.Forbidden)
    async def forbidden(request: Request, _: Exception) -> Response:
        return _error_page(request, 403)

    @app.exception_handler(auth.CsrfRefused)
    async def csrf_refused(request: Request, _: Exception) -> Response:
        log.warning("csrf refused", extra={"url": request.url.path})
        return _error_page(request, 403, CSRF_MESSAGE)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        page = _error_page(request, exc.status_code)
        for name, value in (exc.headers or {}).items():
            page.headers.setdefault(name, value)
        if exc.status_code == 405:  # Starlette names only the first route's methods
            page.headers["Allow"] = _allowed_methods(request)
        return page

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, _: Exception) -> Response:
        return _error_page(request, 400)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", extra={"url": request.url.path})
        return _error_page(request, 500)
