"""The queries behind `veille doctor` and /healthz: is the watch being fed and read."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from veille.store.models import Source, Subscriber


def last_pull_success(session: Session) -> datetime | None:
    """When an enabled source was last fetched successfully (a 304 counts), aware UTC."""
    last = session.exec(
        select(func.max(Source.last_success_at)).where(col(Source.enabled).is_(True))
    ).one()
    if last is not None and last.tzinfo is None:  # SQLite hands back naive UTC
        last = last.replace(tzinfo=UTC)
    return last


def enabled_source_count(session: Session) -> int:
    return session.exec(
        select(func.count(col(Source.id))).where(col(Source.enabled).is_(True))
    ).one()


def confirmed_subscriber_count(session: Session) -> int:
    return session.exec(
        select(func.count(col(Subscriber.id))).where(Subscriber.status == "confirmed")
    ).one()
