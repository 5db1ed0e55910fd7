"""The queries behind the statistics page and `veille status`: items per day per topic, top
sources, share of items reviewed, and the counts of the status summary.

They group in the database (by day and by stored label list) so the page stays cheap on a
large store; a topic is an item's effective labels (store/labels.py's one rule).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import String, case, cast, func
from sqlmodel import Session, col, select

from veille.store.labels import effective
from veille.store.models import Item, Source
from veille.types import TOPICS


def _effective(predicted: str | None, judged: str | None) -> list[str]:
    # Label lists come as JSON text (grouping on a JSON column is not portable). An unjudged
    # item's curator_labels is SQL NULL or JSON null ("null") depending on the writer.
    return effective(json.loads(predicted or "[]"), json.loads(judged) if judged else None)


def per_day(session: Session, *, days: Sequence[tuple[str, datetime]]) -> dict[str, Counter[str]]:
    """Items first seen per day -> topic -> count; key "" counts all items.

    `days` are (key, the instant the day starts), oldest first: the caller cuts days in its
    own time zone, so a day runs from local midnight to local midnight whatever the offset
    (a CASE on the instants, the same on SQLite and PostgreSQL)."""
    if not days:
        return {}
    starts = [(key, start.astimezone(UTC)) for key, start in days]
    day = case(
        *[(col(Item.first_seen_at) >= start, key) for key, start in reversed(starts)],
        else_=None,
    )
    # Grouped over a subquery: PostgreSQL cannot tell that a CASE with bound parameters in
    # the select list and the same CASE in GROUP BY are one expression.
    rows = (
        select(
            day.label("day"),
            cast(Item.labels, String).label("predicted"),
            cast(Item.curator_labels, String).label("judged"),
        )
        .where(col(Item.first_seen_at) >= starts[0][1])
        .subquery()
    )
    keys = (rows.c.day, rows.c.predicted, rows.c.judged)
    query = select(*keys, func.count()).group_by(*keys)
    out: dict[str, Counter[str]] = {}
    for when, p, j, n in session.exec(query).all():
        counts = out.setdefault(str(when), Counter())
        counts[""] += n
        for topic in _effective(p, j):
            counts[topic] += n
    return out


def top_sources(session: Session, *, since: datetime, limit: int = 10) -> list[tuple[str, int]]:
    """(source name, items first seen since `since`), the busiest first."""
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
    predicted, judged = cast(Item.labels, String), cast(Item.curator_labels, String)
    query = select(predicted, judged, func.count(), reviewed).group_by(predicted, judged)
    out: dict[str, list[int]] = {key: [0, 0] for key in ("", *TOPICS, "none")}
    for p, j, n, done in session.exec(query).all():
        # A stray stored label (not a topic of the taxonomy) counts as none.
        known = [t for t in _effective(p, j) if t in out]
        for key in ["", *(known or ["none"])]:
            out[key][0] += int(n)
            out[key][1] += int(done or 0)
    return {key: (n, done) for key, (n, done) in out.items()}


def source_activity(session: Session, *, since: datetime) -> dict[int, tuple[int, int, int]]:
    """source id -> (items first seen since `since`, of which extracted, of which an article)."""
    extracted = func.sum(case((col(Item.extraction).is_not(None), 1), else_=0))
    articles = func.sum(case((col(Item.extraction) == "article", 1), else_=0))
    query = (
        select(Item.source_id, func.count(), extracted, articles)
        .where(col(Item.first_seen_at) >= since)
        .group_by(Item.source_id)
    )
    return {
        int(source_id): (int(n), int(done or 0), int(good or 0))
        for source_id, n, done, good in session.exec(query).all()
    }


def item_counts(session: Session) -> tuple[int, int]:
    """(items stored, of which no curator reviewed yet), for `veille status`."""
    unreviewed = func.sum(case((col(Item.reviewed_at).is_(None), 1), else_=0))
    total, waiting = session.exec(select(func.count(col(Item.id)), unreviewed)).one()
    return int(total), int(waiting or 0)


def failing_sources(session: Session) -> list[Source]:
    """Sources whose last fetches failed, by name, for `veille status`."""
    query = select(Source).where(Source.consecutive_failures > 0).order_by(col(Source.name))
    return list(session.exec(query).all())
