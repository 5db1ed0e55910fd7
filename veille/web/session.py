"""What the signed session cookie holds: the curator's id, a fingerprint of their password
hash (so changing a password or removing an account ends its sessions), a CSRF token, and the
id of a session row kept in the database (so logging out ends the session for every copy of
the cookie, and each login starts a new one).

The cookie itself is Starlette's SessionMiddleware: signed with the settings' secret,
HttpOnly, SameSite=Lax, Secure when the public URL is https, valid for `MAX_AGE` seconds.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.engine import Engine

from veille.store import session_scope, utcnow
from veille.store import sessions as server_sessions
from veille.store.models import User
from veille.store.users import user_by_id

MAX_AGE = 12 * 3600


@dataclass(frozen=True, slots=True)
class Curator:
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def csrf_token(request: Request) -> str:
    """This session's CSRF token, created on first use (also before login)."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def _fingerprint(secret: str, password_hash: str) -> str:
    return hmac.new(secret.encode(), password_hash.encode(), hashlib.sha256).hexdigest()[:32]


def start(request: Request, user: User, secret: str, engine: Engine) -> None:
    """A fresh session for a curator who just logged in: a new server-side row (the one the
    browser had is revoked) and a new CSRF token, so old forms and old cookies die."""
    old = request.session.get("sid")
    with session_scope(engine) as s:
        if isinstance(old, str):
            server_sessions.revoke(s, session_id=old)
        sid = server_sessions.create(s, user_id=user.id or 0, now=utcnow(), lifetime=MAX_AGE)
    request.session.clear()
    request.session.update(
        uid=user.id,
        sid=sid,
        auth=_fingerprint(secret, user.password_hash),
        csrf=secrets.token_urlsafe(32),
    )


def end(request: Request, engine: Engine) -> None:
    """Log out: the server forgets the session, whoever still holds a copy of the cookie."""
    sid = request.session.get("sid")
    if isinstance(sid, str):
        with session_scope(engine) as s:
            server_sessions.revoke(s, session_id=sid)
    request.session.clear()


def load_curator(request: Request, engine: Engine, secret: str) -> Curator | None:
    """The logged-in curator, or None (no session, logged out, expired, account gone,
    password changed)."""
    uid, sid = request.session.get("uid"), request.session.get("sid")
    if not isinstance(uid, int) or not isinstance(sid, str):
        return None
    with session_scope(engine) as s:
        if server_sessions.user_of(s, session_id=sid, now=utcnow()) != uid:
            return None
        user = user_by_id(s, user_id=uid)
        if user is None:
            return None
        if not hmac.compare_digest(
            str(request.session.get("auth", "")), _fingerprint(secret, user.password_hash)
        ):
            return None
        return Curator(name=user.name, role=user.role)


def session_user(request: Request) -> Curator | None:
    """The curator the auth dependency found for this request, if any."""
    return getattr(request.state, "user", None)
