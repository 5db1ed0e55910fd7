"""Queries behind the digest policy `hold`: who has taught which source, what is waiting.

An item that an issue left out to wait for a curator carries `held_since`; the next issue
takes it again (once judged, it goes out), and building that issue clears the mark of what
went out or was judged. The rule itself (which item waits) is the digest's
(veille/digest/hold.py); these are only the reads and writes it needs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from veille.store.models import Item


def judged_per_source(session: Session) -> dict[int, int]:
    """Curator-judged items per source id (sources nobody judged are absent)."""
    # curator_labels=None is stored as JSON null, not SQL NULL: judged means reviewed_at set.
    query = (
        select(Item.source_id, func.count())
        .where(col(Item.reviewed_at).is_not(None))
        .group_by(Item.source_id)
    )
    return {int(source): int(n) for source, n in session.exec(query).all()}


def waiting(session: Session, *, since: datetime, until: datetime) -> list[Item]:
    """Items an issue held back, first stored in [since, until], newest first."""
    query = (
        select(Item)
        .where(
            col(Item.held_since).is_not(None),
            col(Item.excluded).is_(False),
            Item.first_seen_at >= since,
            Item.first_seen_at <= until,
        )
        .order_by(col(Item.first_seen_at).desc(), col(Item.id).desc())
    )
    return list(session.exec(query))


def mark(session: Session, *, held: Iterable[int], released: Iterable[int], now: datetime) -> None:
    """`held` items wait from `now` on (an earlier mark is kept); `released` ones no longer."""
    table = Item.__table__  # type: ignore[attr-defined]
    if ids := sorted(set(held)):
        session.execute(
            update(table)
            .where(table.c.id.in_(ids), table.c.held_since.is_(None))
            .values(held_since=now)
        )
    if ids := sorted(set(released) - set(held)):
        session.execute(update(table).where(table.c.id.in_(ids)).values(held_since=None))
