"""Statistics page: items per day per topic, top sources, share of items reviewed.

The queries group in the database (by day and by stored label list) so the page stays cheap
on a large store; a topic is the curator's labels once judged, else the classifier's.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, time, timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import String, case, cast, func
from sqlmodel import Session, col, select

from veille import i18n
from veille.store import session_scope, utcnow
from veille.store.models import Item, Source
from veille.types import TOPICS
from veille.web import charts
from veille.web.auth import require_curator
from veille.web.render import renderer

router = APIRouter(dependencies=[Depends(require_curator)])
DAYS = 30
PHONE_DAYS = 14


def _labels(predicted: str | None, judged: str | None) -> list[str]:
    # An unjudged item's curator_labels is SQL NULL or JSON null ("null") depending on the writer.
    found = json.loads(judged) if judged else None
    return found if found is not None else json.loads(predicted or "[]")


def per_day(session: Session, *, since: datetime) -> dict[str, Counter[str]]:
    """day (YYYY-MM-DD) -> topic -> items first seen that day; key "" counts all items."""
    day = func.date(Item.first_seen_at)
    query = (
        select(day, cast(Item.labels, String), cast(Item.curator_labels, String), func.count())
        .where(col(Item.first_seen_at) >= since)
        .group_by(day, cast(Item.labels, String), cast(Item.curator_labels, String))
    )
    out: dict[str, Counter[str]] = {}
    for when, predicted, judged, n in session.exec(query).all():
        counts = out.setdefault(str(when)[:10], Counter())
        counts[""] += n
        for topic in _labels(predicted, judged):
            counts[topic] += n
    return out


def top_sources(session: Session, *, since: datetime, limit: int = 10) -> list[tuple[str, int]]:
    query = (
        select(Source.name, func.count(col(Item.id)))
        .join(Item, col(Item.source_id) == Source.id)
        .where(col(Item.first_seen_at) >= since)
        .group_by(Source.name)
        .order_by(func.count(col(Item.id)).desc(), Source.name)
        .limit(limit)
    )
    return [(name, int(n)) for name, n in session.exec(query).all()]


def reviewed_share(session: Session) -> dict[str, tuple[int, int]]:
    """topic (or "" for all, "none" for off-topic) -> (items, of which reviewed)."""
    reviewed = func.sum(case((col(Item.reviewed_at).is_not(None), 1), else_=0))
    query = select(
        cast(Item.labels, String), cast(Item.curator_labels, String), func.count(), reviewed
    ).group_by(cast(Item.labels, String), cast(Item.curator_labels, String))
    out: dict[str, list[int]] = {key: [0, 0] for key in ("", *TOPICS, "none")}
    for predicted, judged, n, done in session.exec(query).all():
        # A stray stored label (not a topic of the taxonomy) counts as none.
        known = [t for t in _labels(predicted, judged) if t in out]
        for key in ["", *(known or ["none"])]:
            out[key][0] += int(n)
            out[key][1] += int(done or 0)
    return {key: (n, done) for key, (n, done) in out.items()}


@router.get("/stats")
def stats_page(request: Request) -> Response:
    render = renderer(request)
    lang = render.lang(request)
    tr = render.gettext
    today = utcnow().date()
    since = datetime.combine(today - timedelta(days=DAYS - 1), time(), tzinfo=UTC)
    with session_scope(request.app.state.engine) as s:
        days = per_day(s, since=since)
        sources = top_sources(s, since=since)
        shares = reviewed_share(s)
    env = render.envs[lang]
    topic_name = env.filters["topic"]
    columns = [today - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    keys = [d.isoformat() for d in columns]
    series = [(topic_name(t), [days.get(k, Counter())[t] for k in keys]) for t in TOPICS]
    labels = [i18n.format_date(d, lang, "d MMM") for d in columns]
    title = tr(request, "Items per day per topic")
    per_day_svg = charts.stacked_columns(title, labels, series)
    # A phone gets the last two weeks at its own width rather than a month scaled down.
    recent = [(name, values[-PHONE_DAYS:]) for name, values in series]
    per_day_phone = charts.stacked_columns(title, labels[-PHONE_DAYS:], recent, width=charts.NARROW)
    sources_svg = charts.bars(
        tr(request, "Top sources"), [(name, n, env.filters["number"](n)) for name, n in sources]
    )
    share_rows = []
    for key in ("", *TOPICS, "none"):
        n, done = shares[key]
        name = {"": tr(request, "All items"), "none": tr(request, "Off-topic")}.get(
            key
        ) or topic_name(key)
        share_rows.append(
            (name, done / n if n else 0.0, env.filters["percent"](done / n) if n else "–")
        )
    share_svg = charts.bars(tr(request, "Share of items reviewed"), share_rows, maximum=1.0)
    total = sum(c[""] for c in days.values())
    return render.page(
        request,
        "stats.html",
        per_day_svg=per_day_svg,
        per_day_phone=per_day_phone,
        phone_days=PHONE_DAYS,
        sources_svg=sources_svg,
        share_svg=share_svg,
        days=DAYS,
        total=total,
        series=series,
        labels=labels,
        sources=sources,
        shares=shares,
    )
