"""The tasks a `veille worker` runs. Each is a thin shell over a unit function of the
pipeline, the digest or the publisher, made safe to run twice:

- fetch_host refreshes only the sources still due (a second copy finds none);
- build_digest, publish and retrain are skipped when the job history shows their occurrence
  served (`since`), and run under one lock each;
- send_batch claims each delivery (pending → sending) before releasing its message.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

from procrastinate import JobContext
from procrastinate.exceptions import ConnectorException, UniqueViolation
from procrastinate.jobs import Status
from sqlalchemy.engine import Engine

from veille import pipeline
from veille import publish as publisher
from veille.digest import issue as issues
from veille.digest import select as digest_select
from veille.digest import send as sending
from veille.digest.weekly import is_weekly_day
from veille.pipeline.retrain import corrections_since_training, retrain_job
from veille.queue.app import LANES, STALLED, app, defer
from veille.scheduler.plan import DIGEST, PUBLISH, RETRAIN
from veille.settings import Settings
from veille.store import digests as stored_digests
from veille.store import jobs as store_jobs
from veille.store import queue as q
from veille.store import session_scope

log = logging.getLogger(__name__)
CLOCK = "clock"  # the periodic tasks' queue; `drain` leaves it alone


def _runtime(context: JobContext) -> tuple[Engine, Settings]:
    extra = context.additional_context
    return extra["engine"], extra["settings"]


def _now(engine: Engine) -> datetime:
    with session_scope(engine) as session:
        return q.db_now(session)


def _done(engine: Engine, job: str, since: str | None) -> bool:
    if since is None:
        return False
    with session_scope(engine) as session:
        return (
            store_jobs.done_since(session, job=job, since=datetime.fromisoformat(since)) is not None
        )


def _start_of(day: str, tz: str) -> str:
    """Midnight of `day` where the digest is read, as an ISO instant."""
    from datetime import time as clock
    from zoneinfo import ZoneInfo

    return datetime.combine(date.fromisoformat(day), clock(), ZoneInfo(tz)).isoformat()


def _record(engine: Engine, job: str, started: datetime, counts: dict[str, int]) -> None:
    with session_scope(engine) as session:
        store_jobs.record_run(
            session, job=job, started_at=started, ended_at=_now(engine), outcome="ok", counts=counts
        )


@app.periodic(cron="* * * * *")
@app.task(name="veille.tick", queue=CLOCK, queueing_lock="veille.tick", pass_context=True)
def tick(context: JobContext, timestamp: int) -> dict[str, int]:
    """Every minute, once for the cluster (Procrastinate keeps one defer per minute)."""
    from veille.queue.tick import tick_once

    engine, settings = _runtime(context)
    with session_scope(engine) as session:
        return tick_once(session, settings)


@app.periodic(cron="* * * * * */5")  # every 5 seconds (6th column)
# No lock: a reap killed with its worker would hold it, and only a reap frees a dead job's
# lock. Two reaps at once are harmless: a job one of them moved is skipped by the other.
@app.task(name="veille.reap", queue=CLOCK, queueing_lock="veille.reap", pass_context=True)
async def reap(context: JobContext, timestamp: int) -> int:
    """Jobs of a worker silent for STALLED seconds (killed, machine gone) go back to todo,
    which also frees the locks they held."""
    manager = context.app.job_manager
    stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED)
    for job in stalled:
        extra = {"job": job.task_name, "job_id": job.id, "lock": job.lock}
        try:
            try:
                await manager.retry_job(job)
            except UniqueViolation:
                # A copy of it already waits (its queueing lock is taken): that copy does the
                # work, this one is closed. Its effect cannot be half-done: every write of a
                # task is conditional or keyed.
                await manager.finish_job(job, status=Status.ABORTED, delete_job=False)
        except ConnectorException:  # it left `doing` meanwhile: not stalled any more
            log.info("stalled job already moved on", extra=extra)
            continue
        log.warning("job of a dead worker retried", extra=extra)
    return len(stalled)


@app.task(name="veille.fetch_host", pass_context=True)
def fetch_host(context: JobContext, host: str, source_ids: list[int]) -> dict[str, int]:
    """Refresh the due sources of one host (the job's lock `host:H` keeps one at a time per
    host across the cluster). Sources deleted or fetched since the job was deferred are
    skipped, the deleted ones with one log line."""
    engine, settings = _runtime(context)
    with session_scope(engine) as session:
        now = q.db_now(session)
        due, gone = q.still_due(session, ids=source_ids, now=now)
    if gone:
        log.warning(
            "sources no longer exist; skipped",
            extra={"job": "fetch_host", "host": host, "source_ids": gone},
        )
    if not due:
        return {"sources": 0, "gone": len(gone)}
    report = pipeline.refresh_ids(engine, settings, due, now=now)
    return {"sources": report.sources, "new_items": report.new_items, "gone": len(gone)}


@app.task(name="veille.build_digest", pass_context=True)
def build_digest(context: JobContext, day: str, since: str | None = None) -> dict[str, int]:
    """Save the issue of `day` (and the weekly one on its day), add its deliveries and defer
    its send lanes and the publish job, all in one transaction."""
    engine, settings = _runtime(context)
    # Without an occurrence (a job deferred by hand), the issue of `day` is served once.
    since = since or _start_of(day, settings.timezone)
    if _done(engine, DIGEST, since):
        return {"stories": 0}
    started = _now(engine)
    when = datetime.fromisoformat(day).date()
    counts = {"stories": 0, "lanes": 0}
    with session_scope(engine) as session:
        plans = [issues.next_plan(session, settings=settings, now=started, day=when)]
        if is_weekly_day(when, settings.weekly_weekday):
            plans.append(issues.next_week(session, settings=settings, now=started, day=when))
        for plan in plans:
            if plan.digest_id is None and not plan.entries and not settings.send_empty:
                continue
            saved = digest_select.freeze(session, plan, now=started)
            counts["stories"] += saved.count()
            wanted = sending.wanted_subscribers(session, saved, settings=settings)
            stored_digests.add_deliveries(
                session, digest_id=saved.digest_id, subscriber_ids=wanted, now=started
            )
            for lane in sorted({sid % LANES for sid in wanted}):
                key = f"send:{saved.digest_id}:{lane}"
                defer(
                    session,
                    send_batch,
                    lock=key,
                    queueing_lock=key,
                    digest_id=saved.digest_id,
                    lane=lane,
                )
                counts["lanes"] += 1
        defer(session, publish, lock="publish", queueing_lock="publish", since=since)
    _record(engine, DIGEST, started, counts)
    return counts


@app.task(name="veille.send_batch", pass_context=True)
def send_batch(context: JobContext, digest_id: int, lane: int) -> dict[str, int]:
    """Send lane `lane` of an issue: subscribers whose id is `lane` modulo LANES, over one
    SMTP connection, at VEILLE_SEND_RATE / LANES a second (the lanes share the rate)."""
    engine, settings = _runtime(context)
    with session_scope(engine) as session:
        ref = q.digest_ref(session, digest_id=digest_id)
        row = stored_digests.digest_on(session, day=ref[0], kind=ref[1]) if ref else None
        if row is None:
            log.warning(
                "issue no longer exists; nothing sent",
                extra={"job": "send_batch", "digest_id": digest_id},
            )
            return {"sent": 0}
        plan = digest_select.from_digest(row)
    lane_settings = settings.model_copy(update={"send_rate": settings.send_rate / LANES})
    report = sending.send_issue(
        engine,
        plan,
        settings=lane_settings,
        transport=issues.transport(settings),
        now=_now(engine),
        lane=(lane, LANES),
    )
    return {"sent": report.sent, "failed": report.failed, "recovered": report.recovered}


@app.task(name="veille.publish", pass_context=True)
def publish(context: JobContext, since: str | None = None) -> dict[str, int]:
    """The archive and the feeds, once per issue."""
    engine, settings = _runtime(context)
    # Publishing is needed once per new issue: not again since the latest one was saved.
    with session_scope(engine) as session:
        latest = stored_digests.recent_digests(session, limit=1)
    if latest:
        made = latest[0].created_at
        made = made if made.tzinfo else made.replace(tzinfo=UTC)
        since = max(datetime.fromisoformat(since), made).isoformat() if since else made.isoformat()
    if _done(engine, PUBLISH, since):
        return {}
    started = _now(engine)
    figures = publisher.publish_all(engine, settings=settings, now=started).figures()
    _record(engine, PUBLISH, started, figures)
    return figures


@app.task(name="veille.retrain", pass_context=True)
def retrain(context: JobContext, since: str | None = None) -> dict[str, int]:
    """The weekly retraining, when curators corrected something since the last one."""
    engine, settings = _runtime(context)
    if _done(engine, RETRAIN, since):
        return {}
    started = _now(engine)
    if corrections_since_training(engine, settings.models_dir) == 0:
        with session_scope(engine) as session:
            store_jobs.record_run(
                session,
                job=RETRAIN,
                started_at=started,
                ended_at=started,
                outcome="skipped",
                error="no new corrections since the last training",
            )
        return {}
    figures = retrain_job(engine, settings.models_dir)(started)
    _record(engine, RETRAIN, started, figures)
    return figures
