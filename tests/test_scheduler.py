"""The scheduler: triggers computed for an injected `now`, once-only across processes, history."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from sqlalchemy.engine import Engine
from sqlmodel import select

from veille.errors import ConfigError
from veille.scheduler import Jobs, Plan, build_scheduler, is_alive, next_runs, run_due, upcoming
from veille.scheduler.plan import occurrence, triggers
from veille.scheduler.runner import JobRunner
from veille.settings import load_settings
from veille.store import JobRun, session_scope
from veille.store.db import make_engine

PARIS = ZoneInfo("Europe/Paris")
PLAN = Plan(timezone=PARIS)


def at(*args: int) -> Callable[[], datetime]:
    """A clock stopped at a Paris wall time."""
    fixed = datetime(*args, tzinfo=PARIS)
    return lambda: fixed


class Calls:
    """Jobs that count their calls (thread-safe), with optional failure and delay."""

    def __init__(self, fail: set[str] = frozenset(), delay: float = 0.0) -> None:
        self.counts: Counter[str] = Counter()
        self.fail, self.delay = fail, delay
        self._lock = threading.Lock()

    def job(self, name: str) -> Callable[[datetime], dict[str, int]]:
        def run(now: datetime) -> dict[str, int]:
            with self._lock:
                self.counts[name] += 1
            time.sleep(self.delay)
            if name in self.fail:
                raise ValueError(f"{name} broke")
            return {"items": 3}

        return run

    def jobs(self, retrain_due: bool = True) -> Jobs:
        return Jobs(
            pull=self.job("pull"),
            digest=self.job("digest"),
            publish=self.job("publish"),
            retrain=self.job("retrain"),
            retrain_due=lambda: retrain_due,
        )


def _runs(engine: Engine, job: str) -> list[JobRun]:
    with session_scope(engine) as s:
        return list(s.exec(select(JobRun).where(JobRun.job == job).order_by(JobRun.id)).all())


def _executed(scheduler, want: Counter[str]) -> threading.Event:  # noqa: ANN001
    """An event set once the scheduler has executed (or errored) the wanted jobs."""
    seen: Counter[str] = Counter()
    done = threading.Event()

    def listen(event) -> None:  # noqa: ANN001
        seen[event.job_id] += 1
        if all(seen[k] >= n for k, n in want.items()):
            done.set()

    scheduler.add_listener(listen, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    return done


@pytest.mark.parametrize(
    ("now", "expected_utc"),
    [
        # Saturday before the spring change: Sunday 07:00 is CEST, 05:00 UTC.
        (datetime(2026, 3, 28, 8, 0, tzinfo=PARIS), datetime(2026, 3, 29, 5, 0, tzinfo=UTC)),
        (datetime(2026, 3, 28, 6, 59, tzinfo=PARIS), datetime(2026, 3, 28, 6, 0, tzinfo=UTC)),
        # Autumn change: Sunday 07:00 is CET again, 06:00 UTC.
        (datetime(2026, 10, 24, 9, 0, tzinfo=PARIS), datetime(2026, 10, 25, 6, 0, tzinfo=UTC)),
    ],
)
def test_digest_fires_at_local_seven_across_dst(now: datetime, expected_utc: datetime) -> None:
    nxt = upcoming(PLAN, now=now)
    assert nxt["digest"] == expected_utc
    assert nxt["digest"].astimezone(PARIS).hour == 7
    assert nxt["publish"] == nxt["digest"]


def test_pull_and_retrain_triggers() -> None:
    now = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)  # a Wednesday
    nxt = upcoming(PLAN, now=now)
    assert now + PLAN.pull_every <= nxt["pull"] <= now + PLAN.pull_every + timedelta(seconds=60)
    assert nxt["retrain"] == datetime(2026, 11, 29, 3, 30, tzinfo=PARIS)  # the next Sunday
    later = triggers(PLAN, now=now)["pull"].get_next_fire_time(nxt["pull"], nxt["pull"])
    assert later - nxt["pull"] >= PLAN.pull_every


def test_occurrence_is_the_latest_fire_time_within_grace() -> None:
    digest = triggers(PLAN, now=datetime(2026, 6, 1, tzinfo=PARIS))["digest"]
    day = datetime(2026, 6, 2, tzinfo=PARIS)
    seven = day.replace(hour=7)
    assert occurrence(digest, day.replace(hour=7, minute=30), timedelta(hours=4)) == seven
    assert occurrence(digest, seven, timedelta(hours=4)) == seven
    assert occurrence(digest, day.replace(hour=11, minute=1), timedelta(hours=4)) is None
    assert occurrence(digest, day.replace(hour=6, minute=59), timedelta(hours=4)) is None


def test_jobs_are_registered_coalesced_single_instance(sqlite_engine: Engine) -> None:
    scheduler = build_scheduler(sqlite_engine, Calls().jobs(), PLAN, clock=at(2026, 6, 2, 12))
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"pull", "digest", "retrain"}
    assert all(j.coalesce and j.max_instances == 1 for j in jobs.values())
    assert jobs["digest"].misfire_grace_time == 4 * 3600
    assert str(jobs["digest"].trigger) == "cron[hour='7', minute='0']"
    assert list(next_runs(scheduler)) == ["pull", "digest", "publish", "retrain"]


def test_start_catches_up_a_digest_missed_within_grace(sqlite_engine: Engine) -> None:
    def first_digest(clock: Callable[[], datetime]) -> datetime:
        scheduler = build_scheduler(sqlite_engine, Calls().jobs(), PLAN, clock=clock)
        return next_runs(scheduler)["digest"]

    wall = datetime.now(PARIS)
    assert first_digest(at(2026, 6, 2, 9, 30)) - wall < timedelta(minutes=1)
    assert first_digest(at(2026, 6, 2, 11, 30)).astimezone(PARIS).hour == 7


def test_two_schedulers_on_one_database_send_the_digest_once(engine: Engine, db_url: str) -> None:
    calls = Calls(delay=0.3)  # long enough for the two runs to overlap
    second = make_engine(db_url)
    clock = at(2026, 3, 29, 7, 0, 5)  # both start just after 07:00: both fire the digest now
    schedulers = [build_scheduler(e, calls.jobs(), PLAN, clock=clock) for e in (engine, second)]
    finished = [_executed(s, Counter(digest=1, pull=1)) for s in schedulers]
    try:
        for s in schedulers:
            s.start()
        assert all(f.wait(30) for f in finished)
    finally:
        for s in schedulers:
            s.shutdown(wait=True)
        second.dispose()
    assert calls.counts["digest"] == 1 and calls.counts["publish"] == 1
    assert [r.outcome for r in _runs(engine, "digest")] == ["ok"]
    assert [r.counts for r in _runs(engine, "publish")] == [{"items": 3}]


def test_a_failing_job_is_recorded_and_the_scheduler_goes_on(sqlite_engine: Engine) -> None:
    calls = Calls(fail={"pull"})
    scheduler = build_scheduler(sqlite_engine, calls.jobs(), PLAN, clock=at(2026, 6, 2, 7, 1))
    finished = _executed(scheduler, Counter(pull=1, digest=1))
    scheduler.start()
    try:
        assert finished.wait(30)
        again = _executed(scheduler, Counter(pull=1))
        scheduler.modify_job("pull", next_run_time=datetime.now(PARIS))
        assert again.wait(30)
        assert is_alive(scheduler)
    finally:
        scheduler.shutdown(wait=True)
    assert not is_alive(scheduler)
    pulls = _runs(sqlite_engine, "pull")
    assert [(r.outcome, r.error) for r in pulls] == [("failed", "ValueError: pull broke")] * 2
    assert [r.outcome for r in _runs(sqlite_engine, "digest")] == ["ok"]


def test_run_due_is_one_cron_cycle(engine: Engine) -> None:
    calls = Calls()
    before = run_due(engine, calls.jobs(), PLAN, clock=at(2026, 6, 2, 6, 0))
    assert before == {"pull": "ok", "digest": "not due", "retrain": "not due"}
    due = run_due(engine, calls.jobs(), PLAN, clock=at(2026, 6, 2, 7, 10))
    assert due == {"pull": "ok", "digest": "ok", "publish": "ok", "retrain": "not due"}
    again = run_due(engine, calls.jobs(), PLAN, clock=at(2026, 6, 2, 8, 0))
    assert again["digest"] == "done" and "publish" not in again
    assert calls.counts == Counter(pull=3, digest=1, publish=1)


def test_retrain_without_new_corrections_is_skipped_once(sqlite_engine: Engine) -> None:
    calls = Calls()
    sunday = at(2026, 6, 7, 3, 40)
    out = run_due(sqlite_engine, calls.jobs(retrain_due=False), PLAN, clock=sunday)
    assert out["retrain"] == "skipped"
    assert run_due(sqlite_engine, calls.jobs(), PLAN, clock=sunday)["retrain"] == "done"
    runs = _runs(sqlite_engine, "retrain")
    assert [(r.outcome, r.error) for r in runs] == [
        ("skipped", "no new corrections since the last training")
    ]
    assert calls.counts["retrain"] == 0


def test_busy_lease_and_interrupted_runs(sqlite_engine: Engine) -> None:
    clock = at(2026, 6, 2, 12)
    holder, waiter = JobRunner(sqlite_engine, clock=clock), JobRunner(sqlite_engine, clock=clock)
    inner: list[str] = []
    outer = holder.run("pull", lambda now: inner.append(waiter.run("pull", lambda n: None)))
    assert (outer, inner) == ("ok", ["busy"])
    with session_scope(sqlite_engine) as s:  # a process died mid-run
        s.add(JobRun(job="pull", started_at=clock(), outcome="running"))
    assert waiter.run("pull", lambda now: {"items": 1}) == "ok"
    assert [r.outcome for r in _runs(sqlite_engine, "pull")] == ["ok", "failed", "ok"]


def test_database_down_skips_the_run_without_raising(tmp_path) -> None:  # noqa: ANN001
    unmigrated = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # no job_lock table
    calls = Calls()
    try:
        runner = JobRunner(unmigrated, clock=at(2026, 6, 2, 12))
        assert runner.run("pull", calls.job("pull")) == "unavailable"
    finally:
        unmigrated.dispose()
    assert calls.counts["pull"] == 0


@pytest.mark.parametrize(
    ("field", "value", "variable"),
    [
        ("timezone", "Mars/Olympus", "VEILLE_TIMEZONE"),
        ("digest_time", "25:00", "VEILLE_DIGEST_TIME"),
    ],
)
def test_bad_schedule_settings_are_one_line(field: str, value: str, variable: str) -> None:
    # Caught when the settings load, before any schedule is built.
    with pytest.raises(ConfigError, match=f"^{variable}=") as err:
        load_settings(_env_file=None, **{field: value})
    assert value in str(err.value) and "\n" not in str(err.value)


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    leaked = [t for t in set(threading.enumerate()) - before if t.name.startswith("lease-")]
    assert not leaked, leaked
