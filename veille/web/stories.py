"""Curators fix stories from the review page: "fusionner avec…" another item (its number or
its address) and "séparer" an item from its story. Plain form posts that redirect back, so
they work without JavaScript; errors come back as one line on the item's page."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from veille.errors import VeilleError
from veille.pipeline import story_fix
from veille.store import session_scope, stories, utcnow
from veille.store.items import get_item
from veille.web.auth import require_curator
from veille.web.numbers import bounded_int
from veille.web.render import local_path
from veille.web.session import Curator

log = logging.getLogger(__name__)
router = APIRouter()


def _other(session: Session, raw: str) -> int:
    """The item a curator named: its number, or its address (as stored or canonical)."""
    raw = raw.strip().removeprefix("#")
    number = bounded_int(raw)  # not isdigit(): "²" and 30 digits would end in a 500
    if number is not None:
        return number
    found = stories.item_by_address(session, url=raw)
    if found is None:
        raise story_fix.StoryFixError(f"no item has the number or address {raw!r}")
    return found


def _back(request: Request, item_id: int, next: str | None, error: str | None = None) -> Response:
    if error:
        request.session["story_error"] = error
    target = local_path(next, f"/review/items/{item_id}")
    return RedirectResponse(target, status_code=303)


@router.post("/review/items/{item_id:id}/merge")
def merge(
    request: Request,
    item_id: int,
    user: Annotated[Curator, Depends(require_curator)],
    other: Annotated[str, Form(max_length=2000)] = "",
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    try:
        with session_scope(request.app.state.engine) as s:
            if get_item(s, item_id=item_id) is None:
                raise HTTPException(status_code=404)
            story = story_fix.merge(
                s, item_id=item_id, other_id=_other(s, other), user=user.name, now=utcnow()
            )
    except VeilleError as exc:
        return _back(request, item_id, f"/review/items/{item_id}", str(exc))
    log.info("stories merged", extra={"item": item_id, "user": user.name, "story": story})
    return _back(request, item_id, next)


@router.post("/review/items/{item_id:id}/split")
def split(
    request: Request,
    item_id: int,
    user: Annotated[Curator, Depends(require_curator)],
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    try:
        with session_scope(request.app.state.engine) as s:
            if get_item(s, item_id=item_id) is None:
                raise HTTPException(status_code=404)
            story = story_fix.split(s, item_id=item_id, user=user.name, now=utcnow())
    except VeilleError as exc:
        return _back(request, item_id, f"/review/items/{item_id}", str(exc))
    log.info("story split", extra={"item": item_id, "user": user.name, "story": story})
    return _back(request, item_id, next)
