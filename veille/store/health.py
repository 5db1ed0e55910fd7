"""The queries behind `veille doctor`, /health and /healthz: is the database there, is the
watch being fed and read. `probe` is the one database health check they all call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, literal
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from veille.store.db import session_scope
from veille.store.models import Source, Subscriber


@dataclass(frozen=True, slots=True)
class Probe:
    """What one probe of the database found."""

    error: str | None = None  # the driver's first line when the database did not answer
    last_pull: datetime | None = None  # last_pull_success, when asked for
    enabled_sources: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


def probe(engine: Engine, *, pulls: bool = True) -> Probe:
    """Ask the database one question (`SELECT 1`), then, with `pulls`, when the watch was
    last fed, in the same session. Never raises: any error means "unreachable" here, and
    its first line says why. `pulls=False` before the tables are known to exist (doctor)."""
    try:
        with session_scope(engine) as session:
            session.exec(select(literal(1))).one()
            if not pulls:
                return Probe()
            return Probe(
                last_pull=last_pull_success(session),
                enabled_sources=enabled_source_count(session),
            )
    except Exception as exc:  # a health check reports, it does not raise
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return Probe(error=(reason[0] if reason else type(exc).__name__)[:200])


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
