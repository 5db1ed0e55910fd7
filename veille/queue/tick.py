"""What is due, by veille's own plan, turned into jobs: the body of the `tick` task.

Every decision is keyed so that two ticks (two machines, a retried job) defer the same work
once: a queueing lock per host / issue lane / job lets one waiting job exist at a time, and
the job history says which digest and retrain occurrences were served.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from procrastinate.tasks import Task
from sqlmodel import Session

from veille.digest.select import local_day
from veille.errors import ConfigError
from veille.queue import tasks
from veille.queue.app import LANES, defer
from veille.scheduler.plan import DIGEST, PUBLISH, RETRAIN, Plan, occurrence, triggers
from veille.settings import Settings
from veille.sources import load_sources
from veille.store import jobs as store_jobs
from veille.store import queue as q
from veille.store.sources import sync_sources

log = logging.getLogger(__name__)
SOURCES_PER_JOB = 50  # a host with more due sources gets the rest at the next tick
SEND_LOOKBACK = timedelta(days=2)  # issues whose open deliveries a tick still sends


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower().rstrip(".") or "?"


def group_by_host(
    due: list[tuple[int, str]], per_job: int = SOURCES_PER_JOB
) -> dict[str, list[int]]:
    """Source ids by host, most overdue first, at most `per_job` a host."""
    out: dict[str, list[int]] = {}
    for sid, url in due:
        ids = out.setdefault(host_of(url), [])
        if len(ids) < per_job:
            ids.append(sid)
    return out


def tick_once(
    session: Session, settings: Settings, *, now: datetime | None = None
) -> dict[str, int]:
    """Defer, in the session's transaction, every job that is due; returns counts by task."""
    now = now or q.db_now(session)
    figures = {"fetch_host": 0, "build_digest": 0, "send_batch": 0, "publish": 0, "retrain": 0}
    sync_file(session, settings, now=now)
    figures["fetch_host"] = defer_fetches(session, now=now)
    figures |= defer_planned(session, settings, now=now)
    figures["send_batch"] = defer_stranded(session, settings, now=now)
    if any(figures.values()):
        log.info("jobs deferred", extra={"job": "tick", "counts": figures})
    return figures


def sync_file(session: Session, settings: Settings, *, now: datetime) -> None:
    """The sources file into the source rows, read at every tick as the scheduler's pull
    reads it at every run: an edit takes effect without a restart. A broken file is one
    error line, and the sources already known keep being fetched."""
    try:
        specs = load_sources(settings.sources)
    except ConfigError as exc:
        log.error("sources file not read: %s", exc, extra={"job": "tick"})
        return
    with session.begin_nested():
        sync_sources(session, specs=specs, now=now)


def defer_fetches(session: Session, *, now: datetime) -> int:
    """One fetch_host job per host with due sources (none while one waits for that host)."""
    deferred = 0
    for host, ids in group_by_host(q.due_source_urls(session, now=now)).items():
        job = defer(
            session,
            tasks.fetch_host,
            lock=f"host:{host}",
            queueing_lock=f"fetch:{host}",
            host=host,
            source_ids=ids,
        )
        deferred += job is not None
    return deferred


def defer_planned(session: Session, settings: Settings, *, now: datetime) -> dict[str, int]:
    """The digest, publish and retrain jobs whose occurrence (veille's plan) is not served."""
    plan = Plan.from_settings(settings)
    fire = triggers(plan, now=now)
    once: list[tuple[Task, str, dict[str, str]]] = []  # (task, its lock, its arguments)
    when = occurrence(fire[DIGEST], now, plan.digest_grace)
    if when is not None and not store_jobs.done_since(session, job=DIGEST, since=when):
        day = local_day(when, settings.timezone).isoformat()
        once.append((tasks.build_digest, "digest", {"day": day, "since": when.isoformat()}))
    elif when is not None and not store_jobs.done_since(session, job=PUBLISH, since=when):
        # The issue was built but its publish job was lost (failed, or its worker died).
        once.append((tasks.publish, "publish", {"since": when.isoformat()}))
    when = occurrence(fire[RETRAIN], now, plan.retrain_grace)
    if when is not None and not store_jobs.done_since(session, job=RETRAIN, since=when):
        once.append((tasks.retrain, "retrain", {"since": when.isoformat()}))
    figures: dict[str, int] = {}
    for task, lock, kwargs in once:
        if defer(session, task, lock=lock, queueing_lock=lock, **kwargs) is not None:
            name = task.name.removeprefix("veille.")
            figures[name] = figures.get(name, 0) + 1
    return figures


def defer_stranded(session: Session, settings: Settings, *, now: datetime) -> int:
    """Send lanes of recent issues with deliveries still open: their job failed (server
    down) or their worker died."""
    since_day = local_day(now - SEND_LOOKBACK, settings.timezone).isoformat()
    return sum(
        defer_send(session, digest_id, lane) is not None
        for digest_id, lane in q.open_lanes(session, since_day=since_day, lanes=LANES)
    )


def defer_send(session: Session, digest_id: int, lane: int) -> int | None:
    key = f"send:{digest_id}:{lane}"
    return defer(
        session, tasks.send_batch, lock=key, queueing_lock=key, digest_id=digest_id, lane=lane
    )
