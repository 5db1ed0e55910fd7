"""Sources page: the health of every source; admins enable, disable and add sources.

feeds.yaml stays the source of truth: every change made here is written back to the file
(comments and layout kept, the result validated before it replaces the file), then the
store's rows are brought in step with it, as `veille pull` would.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

import httpcore
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from veille.errors import FetchError, VeilleError
from veille.fetch.guard import AddressGuard
from veille.settings import Settings
from veille.sources import add_sources, load_sources
from veille.sources.catalog import SourceFields, set_enabled
from veille.sources.readers import READERS
from veille.store import session_scope, stats, utcnow
from veille.store.sources import source_by_id, source_health, sync_sources
from veille.web import messages
from veille.web.auth import require_admin, require_curator
from veille.web.messages import DuplicateSource, FieldError, RefusedAddress, UnresolvableHost
from veille.web.render import renderer
from veille.web.session import Curator

log = logging.getLogger(__name__)
router = APIRouter(dependencies=[Depends(require_curator)])


def recent_activity(session: Session, *, days: int = 28) -> dict[int, tuple[float, float | None]]:
    """source id -> (items per week, share of extracted items whose article text was found)."""
    found = stats.source_activity(session, since=utcnow() - timedelta(days=days))
    return {
        source_id: (n * 7 / days, good / done if done else None)
        for source_id, (n, done, good) in found.items()
    }


def check_address(url: str, settings: Settings) -> None:
    """The same guard the fetcher applies: FetchError when the host is private or reserved."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    guard = AddressGuard(settings.allow_networks)
    try:
        asyncio.run(guard.resolve(parts.hostname or "", port, settings.connect_timeout))
    except httpcore.ConnectError as exc:  # the name does not resolve
        raise UnresolvableHost(str(exc)) from None
    except FetchError as exc:  # the guard refused the address
        raise RefusedAddress(str(exc)) from None


def _said(request: Request, exc: Exception) -> str:
    """The page's translated sentence for `exc` (its own text goes to the log only)."""
    return messages.source_error(exc, lambda text: renderer(request).gettext(request, text))


def _sync(request: Request) -> None:
    settings = request.app.state.settings
    with session_scope(request.app.state.engine) as s:
        sync_sources(s, specs=load_sources(settings.sources), now=utcnow())


def _page(request: Request, status: int = 200, **ctx: object) -> Response:
    with session_scope(request.app.state.engine) as s:
        rows = source_health(s)
        activity = recent_activity(s)
    return renderer(request).page(
        request,
        "sources.html",
        status=status,
        rows=rows,
        activity=activity,
        sources_file=str(request.app.state.settings.sources),
        kinds={kind: (r.short_label, r.label) for kind, r in READERS.items()},
        fetch_said=lambda error: messages.fetch_error(
            error, lambda text: renderer(request).gettext(request, text)
        ),
        **ctx,
    )


@router.get("/sources")
def sources_page(request: Request) -> Response:
    return _page(request, flash=request.session.pop("flash", None))


@router.post("/sources/{source_id:id}/enabled")
def toggle(
    request: Request,
    source_id: int,
    user: Annotated[Curator, Depends(require_admin)],
    enabled: Annotated[bool, Form()] = False,
) -> Response:
    with session_scope(request.app.state.engine) as s:
        row = source_by_id(s, source_id=source_id)
        if row is None:
            raise HTTPException(status_code=404)
        name = row.name
    try:
        set_enabled(request.app.state.settings.sources, name, enabled)
        _sync(request)
    except VeilleError as exc:
        log.warning("source not toggled", extra={"source": name, "error": str(exc)})
        return _page(request, status=400, error=_said(request, exc))
    log.info("source toggled", extra={"source": name, "user": user.name, "enabled": enabled})
    tr = renderer(request).gettext
    request.session["flash"] = (
        tr(request, "Source enabled: {name}") if enabled else tr(request, "Source disabled: {name}")
    ).format(name=name)
    return RedirectResponse("/sources", status_code=303)


@router.post("/sources/add")
def add(
    request: Request,
    user: Annotated[Curator, Depends(require_admin)],
    name: Annotated[str, Form(max_length=200)] = "",
    url: Annotated[str, Form(max_length=2000)] = "",
    kind: Annotated[str, Form(max_length=20)] = "feed",
    language: Annotated[str, Form(max_length=10)] = "",
    interval: Annotated[str, Form(max_length=20)] = "",
    tags: Annotated[str, Form(max_length=500)] = "",
    selector: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    settings = request.app.state.settings
    fields = {
        "name": name,
        "url": url.strip(),
        "kind": kind,
        "language": language or None,
        "interval": interval or 3600,
        "selector": selector or None,
        "tags": [t.strip() for t in tags.split(",") if t.strip()],
    }
    form = {k: v for k, v in fields.items() if k != "tags"} | {"tags": tags}
    try:
        spec = SourceFields.model_validate(fields).to_spec()
        if spec.selector and spec.kind != "page":
            raise FieldError("selector", "only for kind: page")
        existing = load_sources(settings.sources) if settings.sources.exists() else ()
        if any(s.name.casefold() == spec.name.casefold() or s.url == spec.url for s in existing):
            raise DuplicateSource(f"{settings.sources}: a source with this name or URL exists")
        check_address(spec.url, settings)
        add_sources(settings.sources, (spec,))
        _sync(request)
    except (ValidationError, VeilleError) as exc:
        log.info("source refused", extra={"url": fields["url"], "error": str(exc)})
        return _page(request, status=400, error=_said(request, exc), form=form)
    log.info("source added", extra={"source": spec.name, "url": spec.url, "user": user.name})
    request.session["flash"] = (
        renderer(request).gettext(request, "Source added: {name}").format(name=spec.name)
    )
    return RedirectResponse("/sources", status_code=303)
