"""Curator accounts: creation, password checks (argon2) and listing.

Passwords are hashed with argon2id (argon2-cffi's defaults, rehashed on login when those
defaults change). A failed lookup still spends the cost of one verification so response time
does not tell which account names exist.
"""

from __future__ import annotations

from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from veille.errors import VeilleError
from veille.store.models import User

ROLES: tuple[str, ...] = ("curator", "admin")
MIN_PASSWORD = 8
_hasher = PasswordHasher()
_dummy: dict[int, str] = {}  # one throwaway hash per hasher, made on first failed lookup


class UserError(VeilleError):
    """A bad account name, role or password, or an unknown or duplicate account."""


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password too short: at least {MIN_PASSWORD} characters")


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 64 or any(c.isspace() or not c.isprintable() for c in name):
        raise UserError(f"account name {name!r}: 1 to 64 printable characters, no spaces")
    return name


def user_by_id(session: Session, *, user_id: int) -> User | None:
    return session.get(User, user_id)


def get_user(session: Session, *, name: str) -> User | None:
    return session.exec(select(User).where(User.name == name)).first()


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(User.name)).all())


def create_user(
    session: Session, *, name: str, password: str, role: str = "curator", now: datetime
) -> User:
    name = _check_name(name)
    if role not in ROLES:
        raise UserError(f"role {role!r}: use one of {', '.join(ROLES)}")
    check_password(password)
    if get_user(session, name=name) is not None:
        raise UserError(f"account {name!r} already exists")
    user = User(name=name, password_hash=_hasher.hash(password), role=role, created_at=now)
    session.add(user)
    session.flush()
    return user


def remove_user(session: Session, *, name: str) -> None:
    user = get_user(session, name=name)
    if user is None:
        raise UserError(f"no account named {name!r}")
    session.delete(user)


def set_password(session: Session, *, name: str, password: str) -> User:
    user = get_user(session, name=name)
    if user is None:
        raise UserError(f"no account named {name!r}")
    check_password(password)
    user.password_hash = _hasher.hash(password)
    session.add(user)
    return user


def authenticate(session: Session, *, name: str, password: str, now: datetime) -> User | None:
    """The account when name and password match (and its login time is recorded), else None."""
    user = get_user(session, name=name)
    if user is None:
        key = id(_hasher)
        if key not in _dummy:
            _dummy[key] = _hasher.hash("not a real password: spends the time of a real check")
    try:
        _hasher.verify(user.password_hash if user else _dummy[id(_hasher)], password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = now
    session.add(user)
    return user
