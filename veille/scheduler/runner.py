"""Run one job under its database lease and keep its history: the part every job shares.

    lease taken?  no  -> another process runs it: nothing to do, nothing recorded
    occurrence already done by someone?  yes -> nothing to do
    should_run() false -> a `skipped` row with the reason
    else -> a `running` row, the job, then `ok` with its counts or `failed` with the error

A job that raises never takes the scheduler down: the error is recorded and logged.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from veille import metrics
from veille.errors import VeilleError
from veille.store import jobs as store_jobs
from veille.store import session_scope, utcnow

log = logging.getLogger(__name__)

# A job is called with the clock's `now` and returns figures for its history row.
JobFunc = Callable[[datetime], Mapping[str, int] | None]
Clock = Callable[[], datetime]


def _first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


def _dead_here(owner: str) -> bool:
    """The owner is a process of this machine that no longer exists (killed, crashed).
    Owners of other machines are never judged: their lease expires by itself."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    return False


def _reclaim_from_the_dead(session: Session, name: str, now: datetime) -> None:
    """A lease left by a killed process of this machine is released at once, so a `veille
    pull` run after a kill does not wait for the lease to expire."""
    holder = store_jobs.lock_holder(session, name=name, now=now)
    if holder is not None and _dead_here(holder.owner):
        store_jobs.release_lock(session, name=name, owner=holder.owner)
        log.warning("job lease of a dead process released", extra={"job": name})


def new_owner() -> str:
    """A lease owner id that tells which machine and process holds a job."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class JobRunner:
    """Runs jobs for one owner (one scheduler or one `veille run`) against one database."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock = utcnow,
        owner: str | None = None,
        lease: timedelta = timedelta(minutes=15),
        keep_history: timedelta = timedelta(days=90),
    ) -> None:
        self.engine, self.clock, self.lease = engine, clock, lease
        self.owner = owner or new_owner()
        self.keep_history = keep_history
        self.error: Exception | None = None  # what the last failed job raised

    def run(
        self,
        name: str,
        func: JobFunc,
        *,
        occurrence: datetime | None = None,
        should_run: Callable[[], bool] | None = None,
        skip_reason: str = "not due",
    ) -> str:
        """Run `func` unless another process is running it or did this occurrence.

        Returns the recorded outcome (ok, failed, skipped), or `busy` (lease held elsewhere),
        `done` (occurrence already served) or `unavailable` (database down), which leave no row.
        """
        now = self.clock()
        try:
            with session_scope(self.engine) as s:
                _reclaim_from_the_dead(s, name, now)
                taken = store_jobs.acquire_lock(
                    s, name=name, owner=self.owner, now=now, ttl=self.lease
                )
        except SQLAlchemyError as exc:  # the next tick tries again; months unattended
            log.warning(
                "job not started: database unavailable",
                extra={"job": name, "error": _first_line(exc)},
            )
            return "unavailable"
        if not taken:
            log.info("job already running elsewhere", extra={"job": name})
            return "busy"
        try:
            return self._run_held(name, func, now, occurrence, should_run, skip_reason)
        except SQLAlchemyError as exc:
            log.warning(
                "job history not written: database unavailable",
                extra={"job": name, "error": _first_line(exc)},
            )
            return "unavailable"
        finally:
            try:
                with session_scope(self.engine) as s:
                    store_jobs.release_lock(s, name=name, owner=self.owner)
            except SQLAlchemyError:
                log.warning("job lease not released; it expires by itself", extra={"job": name})

    def _run_held(
        self,
        name: str,
        func: JobFunc,
        now: datetime,
        occurrence: datetime | None,
        should_run: Callable[[], bool] | None,
        skip_reason: str,
    ) -> str:
        with session_scope(self.engine) as s:
            # We hold the lease, so `running` rows of this job are leftovers of a dead process.
            store_jobs.close_interrupted(s, job=name, now=now)
            if occurrence is not None and store_jobs.done_since(s, job=name, since=occurrence):
                log.info("job already done", extra={"job": name, "occurrence": occurrence})
                return "done"
            if should_run is not None and not should_run():
                store_jobs.record_run(
                    s, job=name, started_at=now, ended_at=now, outcome="skipped", error=skip_reason
                )
                log.info("job skipped", extra={"job": name, "reason": skip_reason})
                return "skipped"
            run_id = store_jobs.start_run(s, job=name, now=now)
        started = time.monotonic()
        outcome, counts, error = "ok", {}, None
        with self._heartbeat(name):
            try:
                counts = dict(func(now) or {})
            except VeilleError as exc:  # a user's error: one line, no traceback
                outcome, error, self.error = "failed", str(exc), exc
                log.error("job failed", extra={"job": name, "error": str(exc)})
            except Exception as exc:  # a failing job is recorded; the scheduler goes on
                outcome, error, self.error = "failed", f"{type(exc).__name__}: {exc}", exc
                log.exception("job failed", extra={"job": name})
        seconds = time.monotonic() - started
        metrics.JOB_DURATION.labels(job=name).observe(seconds)
        ended = self.clock()
        with session_scope(self.engine) as s:
            store_jobs.finish_run(
                s, run_id=run_id, now=ended, outcome=outcome, counts=counts, error=error
            )
            store_jobs.prune_runs(s, job=name, before=ended - self.keep_history)
        log.info(
            "job finished",
            extra={"job": name, "outcome": outcome, "seconds": round(seconds, 3), "counts": counts},
        )
        return outcome

    @contextmanager
    def _heartbeat(self, name: str) -> Iterator[None]:
        """Renew the lease while the job runs, so only a dead owner's lease expires."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.lease.total_seconds() / 3):
                try:
                    with session_scope(self.engine) as s:
                        kept = store_jobs.renew_lock(
                            s, name=name, owner=self.owner, now=self.clock(), ttl=self.lease
                        )
                    if not kept:
                        log.warning("job lease lost to another process", extra={"job": name})
                except Exception:  # the database may blink; the next beat retries
                    log.warning("job lease renewal failed", extra={"job": name}, exc_info=True)

        thread = threading.Thread(target=beat, name=f"lease-{name}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
