"""Rate limits kept in the database (so every process counts the same events) and the
client's address as limits see it.

A limit is a number of events under one key within a sliding window. The login throttle
counts failed logins per (address, account), per address, and per account whatever the
address (so rotating `X-Forwarded-For` or addresses buys nothing); subscribing counts requests
per email address (confirmation emails to one victim) and per client address.

`X-Forwarded-For` is read only when the connection comes from a proxy listed in
`VEILLE_TRUSTED_PROXIES`; otherwise anyone could claim any address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import Request
from sqlalchemy.engine import Engine

from veille.store import limits as events
from veille.store import session_scope

KEEP = timedelta(days=2)  # events older than the longest window are pruned


@dataclass(frozen=True, slots=True)
class Limit:
    key: str
    most: int  # events allowed in the window
    window: float  # seconds


def client_address(request: Request, trusted: Iterable[str] = ()) -> str:
    """The peer's address; behind a trusted proxy, the last address the proxies did not add."""
    peer = request.client.host if request.client else "unknown"
    networks = [ipaddress.ip_network(n, strict=False) for n in trusted]
    if not networks or not _within(peer, networks):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _within(hop, networks):
            return hop[:64]
    return peer


def _within(address: str, networks: list) -> bool:  # noqa: ANN001
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def wait(engine: Engine, limits: Iterable[Limit], now: datetime) -> float:
    """Seconds before every limit allows one more event; 0 when they all do now."""
    worst = 0.0
    with session_scope(engine) as s:
        for lim in limits:
            since = now - timedelta(seconds=lim.window)
            n, oldest = events.counts(s, keys=[lim.key], since=since)[lim.key]
            if n >= lim.most and oldest is not None:
                worst = max(worst, lim.window - (now - oldest).total_seconds())
    return max(worst, 0.0)


def hit(engine: Engine, keys: Iterable[str], now: datetime) -> None:
    """Count one event under each key (and forget events no window looks at any more)."""
    with session_scope(engine) as s:
        events.prune(s, before=now - KEEP)
        events.record(s, keys=keys, now=now)


def forget(engine: Engine, key: str) -> None:
    with session_scope(engine) as s:
        events.clear(s, key=key)


class LoginThrottle:
    """Failed logins allowed per (address, account), per address and per account."""

    def __init__(
        self,
        engine: Engine,
        per_pair: int = 5,
        per_address: int = 20,
        per_account: int = 10,
        window: float = 900.0,
    ) -> None:
        self.engine = engine
        self.most = {"pair": per_pair, "address": per_address, "account": per_account}
        self.window = window

    def _keys(self, address: str, name: str) -> dict[str, str]:
        account = name.strip().casefold()
        return {
            "pair": f"login:pair:{address}:{account}",
            "address": f"login:address:{address}",
            "account": f"login:account:{account}",
        }

    def wait(self, address: str, name: str, now: datetime) -> float:
        keys = self._keys(address, name)
        return wait(self.engine, (Limit(keys[k], self.most[k], self.window) for k in keys), now)

    def failed(self, address: str, name: str, now: datetime) -> None:
        hit(self.engine, self._keys(address, name).values(), now)

    def succeeded(self, address: str, name: str) -> None:
        forget(self.engine, self._keys(address, name)["pair"])


class SubscribeLimits:
    """Subscription requests allowed per email address (each may send a confirmation email to
    someone who never asked) and per client address (one client filling the list)."""

    def __init__(
        self,
        engine: Engine,
        per_email: int = 3,
        email_window: float = 86400.0,
        per_client: int = 10,
        client_window: float = 3600.0,
    ) -> None:
        self.engine = engine
        self.per_email, self.email_window = per_email, email_window
        self.per_client, self.client_window = per_client, client_window

    def client_wait(self, client: str, now: datetime) -> float:
        """Seconds before this client may subscribe anyone again (0: now)."""
        key = f"subscribe:client:{client}"
        return wait(self.engine, [Limit(key, self.per_client, self.client_window)], now)

    def allow_mail(self, client: str, email: str, now: datetime) -> bool:
        """Count this request; True when a confirmation email may go to `email`.

        Always one check and one write, whatever the address's state, so the time taken
        tells nothing about who is subscribed."""
        key = f"subscribe:email:{email}"
        allowed = wait(self.engine, [Limit(key, self.per_email, self.email_window)], now) == 0
        hit(self.engine, [key, f"subscribe:client:{client}"], now)
        return allowed
