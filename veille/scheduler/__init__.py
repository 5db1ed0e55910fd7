"""The scheduler: when the jobs run, never twice, never two at once, with a history.

The work is passed in (`Jobs`: plain callables taking `now`), so this package only knows *when*:

- pull: every `Plan.pull_every` (with jitter) and once at start; each run pulls the sources
  that are due by their own interval.
- digest, then publish right after it: daily at VEILLE_DIGEST_TIME in VEILLE_TIMEZONE. Late by
  less than `Plan.digest_grace` (machine asleep, restart at 08:00), it runs once, at once.
- retrain: weekly, only when `Jobs.retrain_due()` says there are new corrections.

APScheduler gives coalescing and one instance per job within a process; the database lease
(`veille.store.jobs`) and the job history extend that to every process sharing the database:
a digest occurrence that one process served is skipped by the others.

    scheduler = build_scheduler(engine, jobs, Plan.from_settings(settings))
    scheduler.start()                  # web app keeps serving in the main thread
    scheduler.shutdown(wait=True)      # on SIGTERM: running jobs finish their writes

`run_due()` is the same cycle once, for cron users (`veille run`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine

from veille.scheduler.plan import (
    DIGEST,
    JOB_NAMES,
    PUBLISH,
    PULL,
    RETRAIN,
    Plan,
    occurrence,
    triggers,
    upcoming,
)
from veille.scheduler.runner import Clock, JobFunc, JobRunner, new_owner
from veille.store import utcnow

__all__ = [
    "JOB_NAMES",
    "Jobs",
    "Plan",
    "build_scheduler",
    "is_alive",
    "new_owner",
    "next_runs",
    "run_due",
    "upcoming",
]


def _always() -> bool:
    return True


@dataclass(frozen=True)
class Jobs:
    """The work of each job; each returns figures (e.g. {"items": 12}) for its history row."""

    pull: JobFunc
    digest: JobFunc
    publish: JobFunc
    retrain: JobFunc
    retrain_due: Callable[[], bool] = _always  # e.g. "corrections since the last training"


class _Cycle:
    """The three scheduled callables, shared by the scheduler and `run_due`."""

    def __init__(self, runner: JobRunner, jobs: Jobs, plan: Plan) -> None:
        self.runner, self.jobs, self.plan = runner, jobs, plan
        self.triggers = triggers(plan, now=runner.clock())

    def pull(self) -> dict[str, str]:
        return {PULL: self.runner.run(PULL, self.jobs.pull)}

    def digest_and_publish(self) -> dict[str, str]:
        when = occurrence(self.triggers[DIGEST], self.runner.clock(), self.plan.digest_grace)
        if when is None:
            return {DIGEST: "not due"}
        out = {DIGEST: self.runner.run(DIGEST, self.jobs.digest, occurrence=when)}
        if out[DIGEST] == "ok":  # the archive and feeds follow the issue that was just built
            out[PUBLISH] = self.runner.run(PUBLISH, self.jobs.publish, occurrence=when)
        return out

    def retrain(self) -> dict[str, str]:
        when = occurrence(self.triggers[RETRAIN], self.runner.clock(), self.plan.retrain_grace)
        if when is None:
            return {RETRAIN: "not due"}
        outcome = self.runner.run(
            RETRAIN,
            self.jobs.retrain,
            occurrence=when,
            should_run=self.jobs.retrain_due,
            skip_reason="no new corrections since the last training",
        )
        return {RETRAIN: outcome}


def _runner(engine: Engine, plan: Plan, clock: Clock, owner: str | None) -> JobRunner:
    return JobRunner(
        engine, clock=clock, owner=owner, lease=plan.lease, keep_history=plan.keep_history
    )


def build_scheduler(
    engine: Engine, jobs: Jobs, plan: Plan, *, clock: Clock = utcnow, owner: str | None = None
) -> BackgroundScheduler:
    """A scheduler with the pull, digest(+publish) and retrain jobs, not yet started.

    `clock` dates the history and decides which occurrence a run serves (tests inject it);
    APScheduler itself fires on the wall clock.
    """
    cycle = _Cycle(_runner(engine, plan, clock, owner), jobs, plan)
    scheduler = BackgroundScheduler(timezone=plan.timezone)
    at_start = datetime.now(plan.timezone)
    now = clock()
    grace = {PULL: plan.pull_every, DIGEST: plan.digest_grace, RETRAIN: plan.retrain_grace}
    funcs = {PULL: cycle.pull, DIGEST: cycle.digest_and_publish, RETRAIN: cycle.retrain}
    for name, trigger in cycle.triggers.items():
        # Pull at once; catch up a digest or retrain whose time passed less than grace ago.
        late = name == PULL or occurrence(trigger, now, grace[name]) is not None
        scheduler.add_job(
            funcs[name],
            trigger,
            id=name,
            name=name,
            # Missed fires within grace run once (coalesced); a job never overlaps itself.
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(grace[name].total_seconds()),
            **({"next_run_time": at_start} if late else {}),
        )
    return scheduler


def next_runs(scheduler: BackgroundScheduler) -> dict[str, datetime]:
    """Next fire time of each job (publish follows the digest), started or not."""
    out: dict[str, datetime] = {}
    now = datetime.now(scheduler.timezone)
    for job in scheduler.get_jobs():
        when = getattr(job, "next_run_time", None) or job.trigger.get_next_fire_time(None, now)
        if when is not None:
            out[job.id] = when
    if DIGEST in out:
        out[PUBLISH] = out[DIGEST]
    return {name: out[name] for name in JOB_NAMES if name in out}


def is_alive(scheduler: BackgroundScheduler | None) -> bool:
    """For /healthz: started, not shut down, and its thread still there."""
    if scheduler is None or not scheduler.running:
        return False
    thread = getattr(scheduler, "_thread", None)
    return thread is None or thread.is_alive()


def run_due(
    engine: Engine, jobs: Jobs, plan: Plan, *, clock: Clock = utcnow, owner: str | None = None
) -> dict[str, str]:
    """One cycle for cron users: pull, then digest + publish and retrain when they are due.

    Due means their time passed less than the plan's grace ago and no process served that
    occurrence yet; so cron should call `veille run` at or after the digest time.
    """
    cycle = _Cycle(_runner(engine, plan, clock, owner), jobs, plan)
    return cycle.pull() | cycle.digest_and_publish() | cycle.retrain()
