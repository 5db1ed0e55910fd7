"""The next digest as it would be sent, with the curators' controls over it.

The email is rendered by the digest's own renderer (`issue.preview`) and shown in a sandboxed
frame; beside it, each entry has small forms: pin, exclude, move up or down within its topic,
and a summary to rewrite; excluded entries are listed below with a button that puts them
back. Every change is a curation column of the item (selection honours
them when the issue is built) and a Review row, so it is kept, shown in the item's history and
undoable. Forms post back and redirect, so everything works without JavaScript; the page's
script posts them in the background and redraws the entries from the page it gets back.

Under the digest policy `hold`, the items that wait for a curator are listed apart, marked
"waiting" ("en attente"), each linked to its review page: judged there, it goes out next time.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from veille import i18n
from veille.digest import hold, issue
from veille.digest.entry import cut, plain_text
from veille.digest.select import Plan
from veille.store import curation, digests, items, judgements, reviews, session_scope, utcnow
from veille.store.models import Item
from veille.web.auth import require_curator
from veille.web.render import renderer
from veille.web.session import Curator

log = logging.getLogger(__name__)
router = APIRouter(dependencies=[Depends(require_curator)])
ACTIONS = ("pin", "exclude", "up", "down", "summary")
PAGE = "/digest/preview"
# The email carries its own inline styles; it is shown in a sandboxed frame of this page only.
EMAIL_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data: https:; "
        "frame-ancestors 'self'"
    ),
    "X-Frame-Options": "SAMEORIGIN",
}


def next_issue(session: Session, request: Request, now: datetime) -> Plan:
    """Today's issue while it is not built; once built, what tomorrow's would hold so far."""
    settings = request.app.state.settings
    plan = issue.next_plan(session, settings=settings, now=now)
    if plan.digest_id is not None:
        plan = issue.next_plan(session, settings=settings, now=now, day=plan.day + timedelta(1))
    return plan


def automatic_summary(item: Item) -> str:
    """The summary selection would use without the curator's (see select._entry)."""
    return plain_text(item.summary or cut(plain_text(item.feed_summary)))


def held_reasons(session: Session, request: Request, ids: list[int]) -> dict[int, str]:
    """Why each waiting item waits (hold.HoldPolicy.reason): unsure, a new source, or a source
    mostly off-topic so far."""
    if not ids:
        return {}
    policy = hold.HoldPolicy.of(request.app.state.settings)
    judged = judgements.per_source(session)
    rows = reviews.load_items(session, ids=ids)
    return {item.id: policy.reason(item, judged) for item, _ in rows if item.id is not None}


@router.get(PAGE)
def page(request: Request) -> Response:
    with session_scope(request.app.state.engine) as s:
        plan = next_issue(s, request, utcnow())
        sections = plan.sections()
        ids = [e.item_id for sec in sections for e in sec.entries]
        items = {i.id: i for i, _ in reviews.load_items(s, ids=ids)}
        edited = {i: bool(item.edited_summary) for i, item in items.items()}
        # What curators took out of this issue, so an exclusion can be undone from here.
        excluded = curation.excluded_items(s, since=plan.period_start, until=plan.period_end)
        reasons = held_reasons(s, request, [e.item_id for e in plan.held])
    return renderer(request).page(
        request,
        "preview.html",
        plan=plan,
        sections=sections,
        edited=edited,
        excluded=excluded,
        cap=request.app.state.settings.digest_cap,
        count=len(ids),
        held=plan.held,
        reasons=reasons,
    )


@router.get(PAGE + "/email")
def email(request: Request) -> Response:
    """The exact HTML a subscriber of the page's language and every topic would receive."""
    lang = i18n.normalise(request.query_params.get("lang"), renderer(request).lang(request))
    with session_scope(request.app.state.engine) as s:
        plan = next_issue(s, request, utcnow())
    rendered = issue.preview(plan, settings=request.app.state.settings, lang=lang)
    return HTMLResponse(rendered.html, headers=EMAIL_HEADERS)


def _move(session: Session, request: Request, item_id: int, step: int, user: str) -> bool:
    """Swap the entry with its neighbour in its topic and rank that topic's entries in order."""
    now = utcnow()
    for section in next_issue(session, request, now).sections():
        ids = [e.item_id for e in section.entries]
        if item_id not in ids:
            continue
        at = ids.index(item_id)
        to = at + step
        if 0 <= to < len(ids):
            ids[at], ids[to] = ids[to], ids[at]
        for rank, other in enumerate(ids, start=1):
            curation.set_value(
                session, item_id=other, action="rank", value=rank, user=user, now=now
            )
        return True
    return False


@router.post(PAGE + "/intro")
def save_intro(
    request: Request,
    user: Annotated[Curator, Depends(require_curator)],
    intro: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """The editorial intro of the next issue: a few words above the entries (empty: none)."""
    with session_scope(request.app.state.engine) as s:
        plan = next_issue(s, request, utcnow())
        digests.save_intro(
            s,
            day=plan.day.isoformat(),
            kind=plan.kind,
            intro=plain_text(intro),
            user=user.name,
            now=utcnow(),
        )
    log.info("digest intro", extra={"user": user.name, "item": plan.day.isoformat()})
    return RedirectResponse(f"{PAGE}#intro", status_code=303)


@router.post(PAGE + "/items/{item_id:id}/{action}")
def act(
    request: Request,
    item_id: int,
    action: str,
    user: Annotated[Curator, Depends(require_curator)],
    summary: Annotated[str | None, Form(max_length=4000)] = None,
) -> Response:
    if action not in ACTIONS:
        raise HTTPException(status_code=400)
    with session_scope(request.app.state.engine) as s:
        item = items.get_item(s, item_id=item_id)
        if item is None:
            raise HTTPException(status_code=404)
        if action in ("pin", "exclude"):
            reviews.apply_action(s, item_id=item_id, action=action, user=user.name, now=utcnow())
        elif action == "summary":
            text = plain_text(summary or "")
            value = text if text and text != automatic_summary(item) else None
            curation.set_value(
                s, item_id=item_id, action="summary", value=value, user=user.name, now=utcnow()
            )
        elif not _move(s, request, item_id, -1 if action == "up" else 1, user.name):
            raise HTTPException(status_code=404)
    log.info("digest curated", extra={"item": item_id, "user": user.name, "action": action})
    if request.headers.get("x-requested-with") == "fetch":
        return page(request)  # the page's script redraws the entries from it
    return RedirectResponse(f"{PAGE}#entry-{item_id}", status_code=303)
