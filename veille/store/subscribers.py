"""Queries on subscribers. Addresses are stored lower-cased so uniqueness ignores case."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from veille.store.models import Delivery, Subscriber

STATUSES = ("pending", "confirmed", "unsubscribed", "bounced")


def by_email(session: Session, *, email: str) -> Subscriber | None:
    return session.exec(select(Subscriber).where(Subscriber.email == email.lower())).first()


def by_id(session: Session, *, subscriber_id: int) -> Subscriber | None:
    return session.get(Subscriber, subscriber_id)


def all_subscribers(session: Session, *, status: str | None = None) -> list[Subscriber]:
    query = select(Subscriber).order_by(col(Subscriber.created_at), col(Subscriber.id))
    if status is not None:
        query = query.where(Subscriber.status == status)
    return list(session.exec(query))


def search(
    session: Session, *, text: str = "", status: str | None = None, limit: int = 200
) -> list[Subscriber]:
    """Subscribers whose address contains `text`, newest first."""
    query = select(Subscriber).order_by(col(Subscriber.created_at).desc(), col(Subscriber.id))
    if text.strip():
        query = query.where(col(Subscriber.email).contains(text.strip().lower()))
    if status is not None:
        query = query.where(Subscriber.status == status)
    return list(session.exec(query.limit(limit)))


def status_counts(session: Session) -> dict[str, int]:
    """Subscribers per status (every status listed, zero included)."""
    rows = session.exec(select(Subscriber.status, func.count()).group_by(Subscriber.status))
    found = {str(s): int(n) for s, n in rows.all()}
    return {s: found.get(s, 0) for s in (*STATUSES, *sorted(set(found) - set(STATUSES)))}


def confirmed(session: Session) -> list[Subscriber]:
    return all_subscribers(session, status="confirmed")


def delete(session: Session, *, subscriber: Subscriber) -> None:
    """Forget a subscriber and their delivery history (the address is personal data)."""
    for delivery in session.exec(select(Delivery).where(Delivery.subscriber_id == subscriber.id)):
        session.delete(delivery)
    session.flush()
    session.delete(subscriber)


def record_bounce(
    session: Session, *, email: str, hard: bool, note: str, now: datetime, limit: int
) -> bool | None:
    """A bounce report for `email`: None when no such subscriber, else whether the address
    is now suspended (`bounced`): at once for a hard bounce, after `limit` soft ones."""
    sub = by_email(session, email=email)
    if sub is None:
        return None
    sub.bounce_note, sub.bounced_at = note, now
    if not hard:
        sub.soft_bounces += 1
    suspend = hard or sub.soft_bounces >= limit
    if suspend and sub.status in ("confirmed", "pending"):
        sub.status = "bounced"
    session.add(sub)
    return suspend


def save(session: Session, *, subscriber: Subscriber) -> Subscriber:
    """Store a new or changed subscriber (its id is set when this returns)."""
    session.add(subscriber)
    session.flush()
    return subscriber


def confirm(session: Session, *, subscriber_id: int, now: datetime) -> bool:
    """pending → confirmed, conditionally: False when the address was not pending (a second
    click on the link, or the address left the list meanwhile)."""
    result = session.execute(
        update(Subscriber)
        .where(col(Subscriber.id) == subscriber_id, col(Subscriber.status) == "pending")
        .values(status="confirmed", confirmed_at=now)
    )
    return result.rowcount == 1


def unsubscribe(session: Session, *, subscriber_id: int, now: datetime) -> bool:
    """Any status → unsubscribed, conditionally: False when it was unsubscribed already (the
    first time, and its date, stand)."""
    result = session.execute(
        update(Subscriber)
        .where(col(Subscriber.id) == subscriber_id, col(Subscriber.status) != "unsubscribed")
        .values(status="unsubscribed", unsubscribed_at=now)
    )
    return result.rowcount == 1
