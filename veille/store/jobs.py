"""Job leases and job history: what lets several processes share one database safely.

A lease (`job_lock` row) says "owner X runs job N until T". Taking it is one conditional UPDATE
(free or expired or already ours), else one INSERT that the primary key lets only one process
win: plain SQL that is atomic on SQLite (writers are serialised) and on PostgreSQL (the second
UPDATE waits for the first and re-checks its WHERE; the second INSERT fails on the key). A
process that dies leaves a lease that simply expires and is taken over.

Every function that changes a lease commits, because a lease only means something once the
other processes can see it; callers pass a fresh session (`session_scope(engine)`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from veille.store.models import JobRun, Lock

log = logging.getLogger(__name__)

OUTCOMES = ("running", "ok", "failed", "skipped")


def acquire_lock(session: Session, *, name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
    """Take or extend the lease `name` for `owner` until now + ttl; False when someone holds it."""
    taken = session.exec(
        update(Lock)
        .where(Lock.name == name, or_(Lock.expires_at <= now, Lock.owner == owner))
        .values(owner=owner, acquired_at=now, expires_at=now + ttl)
    ).rowcount
    if taken:
        session.commit()
        return True
    session.add(Lock(name=name, owner=owner, acquired_at=now, expires_at=now + ttl))
    try:
        session.commit()
    except IntegrityError:  # another process inserted the row first: it holds the lease
        session.rollback()
        return False
    return True


def renew_lock(session: Session, *, name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
    """Push our lease's expiry to now + ttl; False when it was lost (expired and taken over)."""
    kept = session.exec(
        update(Lock).where(Lock.name == name, Lock.owner == owner).values(expires_at=now + ttl)
    ).rowcount
    session.commit()
    return bool(kept)


def release_lock(session: Session, *, name: str, owner: str) -> None:
    """Drop our lease (never someone else's that took over an expired one)."""
    session.exec(delete(Lock).where(Lock.name == name, Lock.owner == owner))
    session.commit()


def lock_holder(session: Session, *, name: str, now: datetime) -> Lock | None:
    """The live lease on `name`, if any."""
    return session.exec(select(Lock).where(Lock.name == name, Lock.expires_at > now)).first()


def start_run(session: Session, *, job: str, now: datetime) -> int:
    """A `running` history row; returns its id for `finish_run`."""
    run = JobRun(job=job, started_at=now, outcome="running")
    session.add(run)
    session.commit()
    assert run.id is not None
    return run.id


def finish_run(
    session: Session,
    *,
    run_id: int,
    now: datetime,
    outcome: str,
    counts: Mapping[str, int] | None = None,
    error: str | None = None,
) -> JobRun:
    """Close a history row with its outcome, figures and error (or skip reason)."""
    if outcome not in OUTCOMES[1:]:
        raise ValueError(f"outcome must be one of {OUTCOMES[1:]}, not {outcome!r}")
    run = session.get(JobRun, run_id)
    if run is None:
        raise LookupError(f"no job run {run_id}")
    run.ended_at, run.outcome, run.counts, run.error = now, outcome, dict(counts or {}), error
    session.add(run)
    session.commit()
    return run


def record_run(
    session: Session,
    *,
    job: str,
    started_at: datetime,
    ended_at: datetime,
    outcome: str,
    counts: Mapping[str, int] | None = None,
    error: str | None = None,
) -> JobRun:
    """A finished history row in one go (a skip, or a run timed by someone else)."""
    run_id = start_run(session, job=job, now=started_at)
    return finish_run(
        session, run_id=run_id, now=ended_at, outcome=outcome, counts=counts, error=error
    )


def close_interrupted(session: Session, *, job: str, now: datetime) -> int:
    """Mark `running` rows of `job` failed: call it only while holding the job's lease."""
    closed = session.exec(
        update(JobRun)
        .where(JobRun.job == job, JobRun.outcome == "running")
        .values(outcome="failed", ended_at=now, error="interrupted: the process stopped")
    ).rowcount
    session.commit()
    return closed


def prune_runs(session: Session, *, job: str, before: datetime) -> int:
    """Forget history of `job` older than `before` (the pull runs every few minutes)."""
    gone = session.exec(
        delete(JobRun).where(JobRun.job == job, JobRun.started_at < before)
    ).rowcount
    session.commit()
    return gone


def done_since(session: Session, *, job: str, since: datetime) -> JobRun | None:
    """The first run of `job` that served its occurrence (ok, or skipped as not needed)
    started at or after `since`; a failed run leaves the occurrence to be retried."""
    return session.exec(
        select(JobRun)
        .where(
            JobRun.job == job,
            JobRun.outcome.in_(("ok", "skipped")),  # type: ignore[attr-defined]
            JobRun.started_at >= since,
        )
        .order_by(JobRun.started_at)
    ).first()


def last_runs(session: Session) -> dict[str, JobRun]:
    """The latest run of each job, by job name (for `veille status` and /healthz)."""
    latest = select(JobRun.job, func.max(JobRun.id).label("id")).group_by(JobRun.job).subquery()
    rows = session.exec(select(JobRun).join(latest, JobRun.id == latest.c.id)).all()
    return {run.job: run for run in rows}


def last_success(session: Session, *, job: str) -> JobRun | None:
    """The latest successful run of `job` (e.g. the last pull's age for /healthz)."""
    return session.exec(
        select(JobRun)
        .where(JobRun.job == job, JobRun.outcome == "ok")
        .order_by(JobRun.started_at.desc())  # type: ignore[union-attr]
    ).first()


def recent_runs(session: Session, *, job: str | None = None, limit: int = 50) -> list[JobRun]:
    """Job history, newest first, optionally for one job."""
    query = select(JobRun).order_by(JobRun.id.desc()).limit(limit)  # type: ignore[union-attr]
    if job is not None:
        query = query.where(JobRun.job == job)
    return list(session.exec(query).all())
