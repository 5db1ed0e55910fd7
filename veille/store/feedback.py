"""Readers' "off topic?" reports: one per (item, reader), counted on the review queue."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from veille.store.models import Feedback, Item


def item_title(session: Session, *, item_id: int) -> str | None:
    """The title of the item a report link names ('' when it has none); None when the item
    is no longer stored."""
    found = session.exec(select(Item.title).where(Item.id == item_id)).first()
    return None if found is None else str(found or "")


def report(session: Session, *, item_id: int, reporter: str, now: datetime) -> bool | None:
    """Record a report; True when new, False when this reader had reported it already,
    None when the item does not exist (nothing is stored)."""
    if session.get(Item, item_id) is None:
        return None
    found = session.exec(
        select(Feedback.id).where(Feedback.item_id == item_id, Feedback.reporter == reporter)
    ).first()
    if found is not None:
        return False
    try:
        with session.begin_nested():
            session.add(Feedback(item_id=item_id, reporter=reporter, created_at=now))
    except IntegrityError:  # the same click twice at once: the other one stored it
        return False
    return True


def counts(session: Session, *, item_ids: Iterable[int]) -> dict[int, int]:
    """Reports per item, for the given items (items without reports are left out)."""
    ids = sorted(set(item_ids))
    if not ids:
        return {}
    rows = session.exec(
        select(Feedback.item_id, func.count())
        .where(col(Feedback.item_id).in_(ids))
        .group_by(col(Feedback.item_id))
    ).all()
    return {int(i): int(n) for i, n in rows}


def reported_unreviewed(session: Session, *, limit: int = 200) -> dict[int, int]:
    """Reports per item not yet reviewed, most reported first: the queue shows them first."""
    rows = session.exec(
        select(Feedback.item_id, func.count())
        .join(Item, col(Item.id) == Feedback.item_id)
        .where(col(Item.reviewed_at).is_(None))
        .group_by(col(Feedback.item_id))
        .order_by(func.count().desc(), col(Feedback.item_id).desc())
        .limit(limit)
    ).all()
    return {int(i): int(n) for i, n in rows}
