"""Queries on subscribers. Addresses are stored lower-cased so uniqueness ignores case."""

from __future__ import annotations

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


def confirmed(session: Session) -> list[Subscriber]:
    return all_subscribers(session, status="confirmed")


def delete(session: Session, *, subscriber: Subscriber) -> None:
    """Forget a subscriber and their delivery history (the address is personal data)."""
    for delivery in session.exec(select(Delivery).where(Delivery.subscriber_id == subscriber.id)):
        session.delete(delivery)
    session.flush()
    session.delete(subscriber)
