"""Job leases and history on SQLite and PostgreSQL, with two engines as two processes would."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from veille.store import JobRun, session_scope
from veille.store import jobs as store_jobs
from veille.store.db import make_engine

T0 = datetime(2026, 3, 29, 5, 0, tzinfo=UTC)
TTL = timedelta(minutes=15)


@pytest.fixture
def other(engine: Engine, db_url: str) -> Iterator[Engine]:
    """A second engine on the same database: another process's connection pool."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def _acquire(engine: Engine, owner: str, now: datetime, name: str = "digest") -> bool:
    with session_scope(engine) as s:
        return store_jobs.acquire_lock(s, name=name, owner=owner, now=now, ttl=TTL)


def test_lease_is_exclusive_until_it_expires(engine: Engine, other: Engine) -> None:
    assert _acquire(engine, "a", T0)
    assert not _acquire(other, "b", T0 + timedelta(minutes=1))
    assert _acquire(other, "b", T0, name="pull")  # leases are per job
    assert _acquire(engine, "a", T0 + timedelta(minutes=5))  # the owner extends its own
    assert not _acquire(other, "b", T0 + timedelta(minutes=19))  # extended to 5 + 15
    with session_scope(engine) as s:
        assert store_jobs.renew_lock(s, name="digest", owner="a", now=T0 + TTL, ttl=TTL)
    with session_scope(other) as s:
        assert store_jobs.lock_holder(s, name="digest", now=T0 + TTL).owner == "a"


def test_expired_lease_is_taken_over_and_not_released_by_its_old_owner(
    engine: Engine, other: Engine
) -> None:
    assert _acquire(engine, "a", T0)  # "a" dies without releasing
    later = T0 + TTL + timedelta(seconds=1)
    assert _acquire(other, "b", later)
    with session_scope(engine) as s:
        assert not store_jobs.renew_lock(s, name="digest", owner="a", now=later, ttl=TTL)
        store_jobs.release_lock(s, name="digest", owner="a")  # must not drop b's lease
    with session_scope(other) as s:
        assert store_jobs.lock_holder(s, name="digest", now=later).owner == "b"
        store_jobs.release_lock(s, name="digest", owner="b")
        assert store_jobs.lock_holder(s, name="digest", now=later) is None
    assert _acquire(engine, "a", later)


def test_one_winner_when_many_grab_at_once(engine: Engine, other: Engine) -> None:
    engines = [engine, other] * 3
    start = threading.Barrier(len(engines))
    won: list[str] = []

    def grab(i: int, eng: Engine) -> None:
        start.wait()
        if _acquire(eng, f"owner{i}", T0):
            won.append(f"owner{i}")

    threads = [threading.Thread(target=grab, args=(i, e)) for i, e in enumerate(engines)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(won) == 1
    with session_scope(engine) as s:
        assert store_jobs.lock_holder(s, name="digest", now=T0).owner == won[0]


def test_history_rows_and_queries(engine: Engine) -> None:
    with session_scope(engine) as s:
        first = store_jobs.start_run(s, job="pull", now=T0)
        store_jobs.finish_run(
            s, run_id=first, now=T0 + timedelta(seconds=3), outcome="ok", counts={"items": 4}
        )
        store_jobs.record_run(
            s,
            job="pull",
            started_at=T0 + timedelta(hours=1),
            ended_at=T0 + timedelta(hours=1),
            outcome="failed",
            error="boom",
        )
        store_jobs.start_run(s, job="digest", now=T0 + timedelta(hours=2))
        with pytest.raises(ValueError, match="outcome"):
            store_jobs.finish_run(s, run_id=first, now=T0, outcome="great")
    with session_scope(engine) as s:
        last = store_jobs.last_runs(s)
        assert {k: v.outcome for k, v in last.items()} == {"pull": "failed", "digest": "running"}
        ok = store_jobs.last_success(s, job="pull")
        assert ok.counts == {"items": 4} and ok.ended_at - ok.started_at == timedelta(seconds=3)
        assert store_jobs.done_since(s, job="pull", since=T0).id == first
        assert store_jobs.done_since(s, job="pull", since=T0 + timedelta(minutes=1)) is None
        assert store_jobs.close_interrupted(s, job="digest", now=T0) == 1
        assert [r.job for r in store_jobs.recent_runs(s)] == ["digest", "pull", "pull"]
        assert store_jobs.prune_runs(s, job="pull", before=T0 + timedelta(minutes=30)) == 1
        rows = s.exec(select(JobRun).where(JobRun.job == "digest")).all()
        assert [(r.outcome, r.error) for r in rows] == [
            ("failed", "interrupted: the process stopped")
        ]
