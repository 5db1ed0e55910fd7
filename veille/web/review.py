"""The review queue: filtered and ranked items, one-keystroke corrections, undo.

The default order is the classifier's active-learning order ("most useful first"), computed
over the newest `CANDIDATES` matching items from their stored scores, so a page costs two
small queries whatever the size of the store. Actions answer with the re-rendered card when
called from the page's script (header `X-Requested-With: fetch`) and redirect otherwise, so
every button also works without JavaScript.

Under the digest policy `hold`, items that wait for a curator before they may go out rank first
in that order and carry a "waiting" badge.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from veille.digest import hold
from veille.pipeline.offsets import SourceOffset, source_offset
from veille.store import feedback, items, judgements, reviews, session_scope, utcnow
from veille.store.labels import doc_of, effective_labels
from veille.store.models import Item
from veille.types import TOPICS
from veille.web.auth import require_curator
from veille.web.modelcache import Explanation
from veille.web.numbers import bounded_int
from veille.web.render import local_path, renderer
from veille.web.session import Curator

if TYPE_CHECKING:
    from veille.classify.model import Model

log = logging.getLogger(__name__)
router = APIRouter(dependencies=[Depends(require_curator)])
PAGE = 20
CANDIDATES = 1000  # the newest matching items the active-learning order ranks
COUNT_CAP = 2000  # a filtered queue counts this far, then says "more than 2,000"
SORTS = ("useful", "newest", "oldest")
LANGS = ("fr", "en", "other")


def _day(value: str | None) -> datetime | None:
    try:
        return datetime.strptime(value or "", "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None


def _reviewed(params: dict[str, str]) -> str:
    """The queue shows items not yet reviewed; a search looks through all of them (reviewed
    ones are marked) unless the curator chose otherwise."""
    chosen = params.get("reviewed")
    if chosen in ("no", "yes", "all"):
        return chosen
    return "all" if params.get("q", "").strip() else "no"


def parse_query(params: dict[str, str]) -> tuple[reviews.QueueFilter, str, int]:
    """Filters, sort and page from the query string; bad values are ignored, never a 422."""
    until = _day(params.get("until"))
    filters = reviews.QueueFilter(
        topic=params.get("topic") if params.get("topic") in TOPICS else None,
        band=params.get("band") if params.get("band") in ("unsure", "confident") else None,
        source_id=bounded_int(params.get("source")),
        lang=params.get("lang") if params.get("lang") in LANGS else None,
        since=_day(params.get("since")),
        until=until + timedelta(days=1) if until else None,
        reviewed=_reviewed(params),
        q=params.get("q", "")[:200],
    )
    sort = params.get("sort") if params.get("sort") in SORTS else "useful"
    return filters, sort, bounded_int(params.get("page"), low=1, high=10_000) or 1


def cards(request: Request, session: Session, ids: list[int]) -> list[dict]:
    """What each item's card shows, in the order of `ids`."""
    rows = reviews.load_items(session, ids=ids)
    others = reviews.story_others(session, items=[item for item, _ in rows])
    reports = feedback.counts(session, item_ids=ids)
    thresholds = request.app.state.model.thresholds()
    policy = hold.HoldPolicy.of(request.app.state.settings)
    judged = judgements.per_source(session) if policy.holds and rows else {}
    waiting = policy.held_before_issue([item for item, _ in rows], judged, utcnow())
    return [
        {
            "item": item,
            "source": source,
            "others": others.get(item.id, []),
            "labels": effective_labels(item),
            "thresholds": thresholds,
            "reports": reports.get(item.id, 0),
            "held": item.id in waiting,
        }
        for item, source in rows
    ]


@router.get("/review")
def queue(request: Request) -> Response:
    params = dict(request.query_params)
    filters, sort, page = parse_query(params)
    state = request.app.state
    with session_scope(state.engine) as s:
        # The bare queue is counted exactly (an index count); a filtered one only so far.
        bare = filters == reviews.QueueFilter(reviewed=filters.reviewed)
        total = reviews.count_items(s, filters=filters, limit=None if bare else COUNT_CAP + 1)
        start = (page - 1) * PAGE
        if sort == "useful":
            reported = feedback.reported_unreviewed(s) if filters.reviewed != "yes" else {}
            rows = reviews.candidates(s, filters=filters, limit=CANDIDATES, also=list(reported))
            policy = hold.HoldPolicy.of(state.settings)
            judged = judgements.per_source(s) if policy.holds else {}
            filed = judgements.filed(s, ids=[r.id for r in rows]) if policy.holds else set()
            waiting = policy.held_before_issue(rows, judged, utcnow(), filed)
            ranked = state.model.review_order(
                [(r.id, r.scores, r.source_id) for r in rows], reported, held=waiting
            )
            ids, more = ranked[start : start + PAGE], len(ranked) > start + PAGE
        else:
            ids = reviews.page_ids(
                s, filters=filters, newest=sort == "newest", offset=start, limit=PAGE + 1
            )
            ids, more = ids[:PAGE], len(ids) > PAGE
        shown = cards(request, s, ids)
        sources = reviews.sources_for_filter(s)
    keep = {k: v for k, v in params.items() if k != "page" and v}
    filtered = sum(
        1
        for k in ("topic", "band", "source", "lang", "since", "until", "reviewed")
        if params.get(k)
    )
    return renderer(request).page(
        request,
        "review.html",
        cards=shown,
        total=total,
        page=page,
        more=more,
        sort=sort,
        params=params,
        keep=keep,
        filtered=filtered,
        sources=sources,
        langs=LANGS,
        reviewed=filters.reviewed,
        ranked_max=CANDIDATES,
        count_cap=COUNT_CAP,
        exact=bare,
    )


def _item_or_404(session: Session, item_id: int) -> Item:
    item = items.get_item(session, item_id=item_id)
    if item is None:
        raise HTTPException(status_code=404)
    return item


@router.get("/review/items/{item_id:id}")
def item_page(request: Request, item_id: int) -> Response:
    with session_scope(request.app.state.engine) as s:
        item = _item_or_404(s, item_id)
        card = cards(request, s, [item_id])[0]
        past = reviews.history(s, item_id=item_id)
    why, judged = _why(request, item)
    return renderer(request).page(
        request, "item.html", card=card, why=why, why_judged=judged, history=past
    )


@router.get("/review/items/{item_id:id}/why")
def item_why(request: Request, item_id: int) -> Response:
    with session_scope(request.app.state.engine) as s:
        item = _item_or_404(s, item_id)
    why, judged = _why(request, item)
    html = renderer(request).html(request, "_why.html", why=why, why_judged=judged)
    return HTMLResponse(html)


def _why(request: Request, item: Item) -> tuple[Explanation | None, int]:
    """The item's explanation by the current model, with its source's offset as the pull
    gave it: from the judgements made up to the item's classification by that model (up
    to now when another model scored it), so the terms add up to the score stored."""
    source_id, version, at = item.source_id, item.model_version, item.classified_at

    def offset_of(model: Model) -> SourceOffset | None:
        until = at if at is not None and version == model.version else None
        with session_scope(request.app.state.engine) as s:
            return source_offset(s, model, source_id, until=until)

    # Scored by this model: the offset is fixed by the item's classification time, cached;
    # by another: today's judgements count, computed each time.
    current = request.app.state.model.current()
    stamp = (at, version) if current is not None and version == current.version else None
    return request.app.state.model.explain(
        int(item.id or 0), doc_of(item), offset_of=offset_of, stamp=stamp
    )


def _answer(request: Request, item_id: int, next: str | None) -> Response:
    """The fresh card for the page's script, or a redirect back for a plain form post."""
    if request.headers.get("x-requested-with") != "fetch":
        return RedirectResponse(local_path(next, f"/review/items/{item_id}"), status_code=303)
    with session_scope(request.app.state.engine) as s:
        card = cards(request, s, [item_id])[0]
    html = renderer(request).html(request, "_card.html", card=card, next_url=local_path(next))
    return HTMLResponse(html, headers={"X-Item-Id": str(item_id)})


@router.post("/review/items/{item_id:id}/{action}")
def act(
    request: Request,
    item_id: int,
    action: str,
    user: Annotated[Curator, Depends(require_curator)],
    topic: Annotated[str | None, Form(max_length=64)] = None,
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    if action not in reviews.ACTIONS or (action == "toggle" and topic not in TOPICS):
        raise HTTPException(status_code=400)
    with session_scope(request.app.state.engine) as s:
        item = reviews.apply_action(
            s, item_id=item_id, action=action, topic=topic, user=user.name, now=utcnow()
        )
        if item is None:
            raise HTTPException(status_code=404)
    log.info("review", extra={"item": item_id, "user": user.name, "action": action})
    return _answer(request, item_id, next)


@router.post("/review/undo")
def undo(
    request: Request,
    user: Annotated[Curator, Depends(require_curator)],
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    with session_scope(request.app.state.engine) as s:
        item = reviews.undo_last(s, user=user.name, now=utcnow())
    if item is None or item.id is None:
        if request.headers.get("x-requested-with") == "fetch":
            return Response(status_code=204)
        return RedirectResponse(local_path(next), status_code=303)
    log.info("review undone", extra={"item": item.id, "user": user.name})
    return _answer(request, item.id, next)
