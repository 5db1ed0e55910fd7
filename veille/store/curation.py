"""The curators' edits of the next digest: an entry's order and its summary.

Pin and exclude are review actions (`reviews.apply_action`); these two set a value rather than
toggle one. Each change writes a Review row holding the item's full curation state before and
after, so the history shows who changed what and `reviews.undo_last` can restore it.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from veille.store.models import Item, Review, Source
from veille.store.reviews import _snapshot

COLUMNS = {"rank": "digest_rank", "summary": "edited_summary"}


def set_value(
    session: Session,
    *,
    item_id: int,
    action: str,
    value: int | str | None,
    user: str,
    now: datetime,
) -> Item | None:
    """Set the item's rank or summary (None clears it) and record it; None: no such item.

    Nothing is recorded when the value does not change."""
    column = COLUMNS[action]
    item = session.get(Item, item_id)
    if item is None:
        return None
    if getattr(item, column) == value:
        return item
    before = _snapshot(item)
    setattr(item, column, value)
    session.add(item)
    session.add(
        Review(
            item_id=item_id, user=user, at=now, action=action, before=before, after=_snapshot(item)
        )
    )
    session.flush()
    return item


def excluded_items(
    session: Session, *, since: datetime | None, until: datetime, limit: int = 100
) -> list[tuple[Item, Source]]:
    """Items first stored in (since, until] that a curator excluded, newest first: what the
    digest preview lists so an exclusion can be undone."""
    query = (
        select(Item, Source)
        .join(Source, col(Item.source_id) == Source.id)
        .where(col(Item.excluded).is_(True), col(Item.first_seen_at) <= until)
    )
    if since is not None:
        query = query.where(col(Item.first_seen_at) > since)
    query = query.order_by(col(Item.first_seen_at).desc(), col(Item.id).desc()).limit(limit)
    return [(item, source) for item, source in session.exec(query).all()]
