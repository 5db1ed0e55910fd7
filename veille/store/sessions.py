"""Curator sessions kept on the server: the cookie holds a random id, this table its hash.

Logging in creates a row (and drops the one the browser had: rotation); logging out deletes
it, so a copy of the cookie saved before is worth nothing. Expired rows are pruned on login.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session

from veille.store.models import WebSession


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "replace")).hexdigest()


def create(session: Session, *, user_id: int, now: datetime, lifetime: float) -> str:
    """A new session for `user_id`; returns the id for the cookie (only its hash is stored)."""
    session_id = secrets.token_urlsafe(32)
    session.exec(delete(WebSession).where(WebSession.expires_at < now))  # type: ignore[call-overload]
    session.add(
        WebSession(
            id=_hash(session_id),
            user_id=user_id,
            created_at=now,
            expires_at=now + timedelta(seconds=lifetime),
        )
    )
    return session_id


def user_of(session: Session, *, session_id: str, now: datetime) -> int | None:
    """The user id of a live session, None when it is unknown, revoked or expired."""
    row = session.get(WebSession, _hash(session_id))
    if row is None or row.expires_at <= now:
        return None
    return row.user_id


def revoke(session: Session, *, session_id: str) -> None:
    session.exec(delete(WebSession).where(WebSession.id == _hash(session_id)))  # type: ignore[call-overload]


def revoke_user(session: Session, *, user_id: int) -> None:
    session.exec(delete(WebSession).where(WebSession.user_id == user_id))  # type: ignore[call-overload]
