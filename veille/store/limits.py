"""Counted events for rate limits (failed logins, subscription requests), in the database so
that every process sharing it sees the same counts. Keys are opaque strings chosen by callers
(`login:account:ana`, `subscribe:email:…`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, select

from veille.store.models import RateEvent

MAX_KEY = 300  # keys embed user input (a name, an address): cut, never refused


def _key(key: str) -> str:
    return key[:MAX_KEY]


def record(session: Session, *, keys: Iterable[str], now: datetime) -> None:
    session.add_all(RateEvent(key=_key(k), at=now) for k in keys)
    session.flush()


def counts(
    session: Session, *, keys: Iterable[str], since: datetime
) -> dict[str, tuple[int, datetime | None]]:
    """Per key: the events since `since` and the oldest of them (None when there are none)."""
    wanted = {_key(k): k for k in keys}
    out: dict[str, tuple[int, datetime | None]] = {k: (0, None) for k in wanted.values()}
    rows = session.exec(
        select(RateEvent.key, func.count(), func.min(RateEvent.at))
        .where(RateEvent.key.in_(list(wanted)), RateEvent.at > since)  # type: ignore[attr-defined]
        .group_by(RateEvent.key)
    ).all()
    for key, n, oldest in rows:
        out[wanted[key]] = (int(n), oldest)
    return out


def clear(session: Session, *, key: str) -> None:
    session.exec(delete(RateEvent).where(RateEvent.key == _key(key)))  # type: ignore[call-overload]


def prune(session: Session, *, before: datetime) -> int:
    """Forget events older than any window looks back (called now and then by writers)."""
    result = session.exec(delete(RateEvent).where(RateEvent.at < before))  # type: ignore[call-overload]
    return result.rowcount or 0


def window_start(now: datetime, seconds: float) -> datetime:
    return now - timedelta(seconds=seconds)
