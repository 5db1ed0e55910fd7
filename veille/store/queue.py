"""Queries of the distributed engine (VEILLE_EXECUTOR=procrastinate): what is due, what is
left open, and how full Procrastinate's own queue is (its tables live in the same database).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import or_, text
from sqlalchemy.exc import ProgrammingError
from sqlmodel import Session, col, select

from veille.store.models import Delivery, Digest, Source

JOB_STATUSES = ("todo", "doing", "succeeded", "failed", "cancelled", "aborted")


def due_source_urls(session: Session, *, now: datetime) -> list[tuple[int, str]]:
    """(id, url) of every enabled source whose next fetch time has come, most overdue first."""
    query = (
        select(Source.id, Source.url)
        .where(col(Source.enabled).is_(True))
        .where(or_(col(Source.next_fetch_at).is_(None), col(Source.next_fetch_at) <= now))
        .order_by(col(Source.next_fetch_at).asc().nulls_first(), col(Source.id))
    )
    # The source's own address names the host: a page's discovered feed lives in the reader's
    # opaque state, and sits on the same site in practice.
    return [(sid, url) for sid, url in session.exec(query)]  # type: ignore[misc]


def still_due(
    session: Session, *, ids: Iterable[int], now: datetime
) -> tuple[list[int], list[int]]:
    """Of `ids`: the enabled sources still due, and the ids that name no source any more."""
    wanted = sorted(set(ids))
    if not wanted:
        return [], []
    rows = session.exec(
        select(Source.id, Source.enabled, Source.next_fetch_at).where(col(Source.id).in_(wanted))
    ).all()
    found = {sid for sid, _, _ in rows}
    due = [sid for sid, enabled, at in rows if enabled and (at is None or _aware(at) <= now)]
    return sorted(due), [sid for sid in wanted if sid not in found]


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def open_lanes(session: Session, *, since_day: str, lanes: int) -> list[tuple[int, int]]:
    """(digest id, lane) of every issue dated `since_day` or later with deliveries still open
    or left in `sending` (a lane is subscriber id modulo `lanes`)."""
    lane = col(Delivery.subscriber_id) % lanes
    query = (
        select(Delivery.digest_id, lane)
        .join(Digest, col(Digest.id) == Delivery.digest_id)
        .where(col(Digest.date) >= since_day)
        .where(col(Delivery.status).in_(("pending", "failed", "sending")))
        .group_by(Delivery.digest_id, lane)
        .order_by(Delivery.digest_id, lane)
    )
    return [(int(d), int(n)) for d, n in session.exec(query)]  # type: ignore[misc]


def digest_ref(session: Session, *, digest_id: int) -> tuple[str, str] | None:
    """(date, kind) of a saved issue, or None when it does not exist."""
    row = session.exec(select(Digest.date, Digest.kind).where(Digest.id == digest_id)).first()
    return (row[0], row[1]) if row else None


def job_counts(session: Session) -> dict[str, int] | None:
    """Procrastinate's jobs by status (todo, doing, failed…), or None when its schema is not
    in this database (SQLite, or migrations not applied)."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    try:
        with session.begin_nested():
            rows = session.execute(
                text("SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY status")
            ).all()
    except ProgrammingError:
        return None
    counts = dict.fromkeys(JOB_STATUSES, 0)
    counts.update({status: int(n) for status, n in rows})
    return counts


def stalled_job_count(session: Session, *, seconds: float) -> int:
    """Jobs in `doing` whose worker sent no heartbeat for `seconds` (killed machines)."""
    row = session.execute(
        text(
            "SELECT count(*) FROM procrastinate_jobs j "
            "LEFT JOIN procrastinate_workers w ON w.id = j.worker_id "
            "WHERE j.status = 'doing' AND (w.id IS NULL OR "
            "w.last_heartbeat < now() - make_interval(secs => :secs))"
        ),
        {"secs": seconds},
    ).one()
    return int(row[0])


__all__ = [
    "JOB_STATUSES",
    "digest_ref",
    "due_source_urls",
    "job_counts",
    "open_lanes",
    "stalled_job_count",
    "still_due",
]


def db_now(session: Session) -> datetime:
    """The database's clock: every worker decides by it, so a machine whose clock is off
    neither sends the digest early nor fetches sources before their time."""
    value = session.execute(text("SELECT now()")).scalar_one()
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def open_job_count(session: Session, *, queue: str | None = None) -> int:
    """Jobs to do or running (of one queue)."""
    row = session.execute(
        text(
            "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing') "
            "AND (CAST(:queue AS text) IS NULL OR queue_name = :queue)"
        ),
        {"queue": queue},
    ).one()
    return int(row[0])
