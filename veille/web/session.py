"""What the signed session cookie holds: the curator's id, a fingerprint of their password
hash (so changing a password or removing an account ends its sessions), and a CSRF token.

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

from veille.store import session_scope
from veille.store.models import User

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


def start(request: Request, user: User, secret: str) -> None:
    """A fresh session for a curator who just logged in (new CSRF token: old forms die)."""
    request.session.clear()
    request.session.update(
        uid=user.id, auth=_fingerprint(secret, user.password_hash), csrf=secrets.token_urlsafe(32)
    )


def end(request: Request) -> None:
    request.session.clear()


def load_curator(request: Request, engine: Engine, secret: str) -> Curator | None:
    """The logged-in curator, or None (no session, account gone, password changed)."""
    uid = request.session.get("uid")
    if not isinstance(uid, int):
        return None
    with session_scope(engine) as s:
        user = s.get(User, uid)
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
