"""Three `veille worker`s SIGKILLed (with their extraction processes) at least 20 times at
seeded random moments, during fetching, extraction, filing and sending; each one restarted
at once. Then the cluster drains, and:

- every entry of the synthetic web is one item, extracted, in one story;
- every confirmed subscriber got one email, and none got two (a message in flight at a kill
  is counted as sent, never resent: such readers are named, as in test_digest_kills.py);
- no job is left to do or running.

QUEUE_KILL_SEED reruns one seed; `python -m bench.killtest --runs 10` runs it ten times.
"""

from __future__ import annotations

import os
import random
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from tests.faults import cluster
from tests.fixtures.digest.mailserver import MailServer
from tests.fixtures.digest.seed import seed_subscribers
from veille.settings import Settings
from veille.store import open_store, session_scope, utcnow

KILLS = 20
WORKERS = 3
SUBSCRIBERS = 40
BUDGET = 90.0  # seconds a run takes here; the drain gives up 60 s later (speed: bench/killtest.py)


def far_digest_time(tz: str) -> str:
    """A digest time eight hours away: the workers' own tick never builds one here."""
    later = datetime.now(ZoneInfo(tz)) + timedelta(hours=8)
    return f"{later.hour:02d}:{later.minute:02d}"


def run_cluster(tmp_path: Path, db: str, *, kills: int, seed: int, workers: int = WORKERS) -> dict:
    """The whole scenario; returns its figures (asserted by the callers)."""
    from veille.digest.select import local_day
    from veille.queue import defer, tasks
    from veille.queue.tick import defer_fetches, defer_stranded, sync_file

    rng = random.Random(seed)
    started = time.monotonic()
    web = cluster.Web(slow=0.02)
    mail = MailServer()
    engine = open_store(db)
    procs: list = []
    landed: dict[str, int] = {}
    try:
        env = cluster.environment(tmp_path, db, web, mail.url, interval="1h")
        env["VEILLE_DIGEST_TIME"] = far_digest_time("Europe/Paris")
        settings = Settings(
            database_url=db,
            executor="procrastinate",
            digest_time=env["VEILLE_DIGEST_TIME"],
            sources=Path(env["VEILLE_SOURCES"]),
            _env_file=None,
        )
        seed_subscribers(engine, utcnow(), SUBSCRIBERS)
        with session_scope(engine) as s:
            sync_file(s, settings, now=utcnow())
        web.size = 4
        logs = [tmp_path / f"worker{i}.log" for i in range(workers)]
        procs = [cluster.start_worker(env, log) for log in logs]

        def tick(fetch: bool = True) -> None:
            with session_scope(engine) as s:
                if fetch:  # time passes: every source is due
                    defer_fetches(s, now=utcnow() + timedelta(hours=2))
                defer_stranded(s, settings, now=utcnow())

        def grow() -> None:
            web.size += 2
            with engine.begin() as conn:  # the sources come due again
                conn.execute(text("UPDATE source SET next_fetch_at = NULL"))

        digest_deferred = False
        for k in range(kills):
            sending = k >= kills * 0.6
            if not sending:
                grow()
                tick()
                wait_until = time.monotonic() + rng.uniform(0.3, 1.5)
                while time.monotonic() < wait_until:
                    time.sleep(0.1)
            else:
                if not digest_deferred:
                    day = local_day(utcnow(), settings.timezone).isoformat()
                    with session_scope(engine) as s:
                        defer(s, tasks.build_digest, lock="digest", queueing_lock="digest", day=day)
                    digest_deferred = True
                tick()
                target, deadline = mail.count() + rng.randint(1, 3), time.monotonic() + 4
                while mail.count() < target and time.monotonic() < deadline:
                    time.sleep(0.005)
                time.sleep(rng.uniform(0, 0.02))
            for task in cluster.doing(engine):
                landed[task] = landed.get(task, 0) + 1
            victim = rng.randrange(workers)
            cluster.kill_group(procs[victim])
            procs[victim] = cluster.start_worker(env, logs[victim])
        killing = time.monotonic() - started
        # Drain: ticks defer what is still due (stranded lanes, items a kill left without
        # text are taken by the next fetch of any source) until everything is done.
        done = False
        while time.monotonic() - started < BUDGET + 60:
            now_state = cluster.state(engine, [r for r, _ in mail.messages()])
            items_ok = now_state.items_done(web.entries)
            if not items_ok:  # a fetch of any source takes the items left unextracted
                with engine.begin() as conn:
                    conn.execute(text("UPDATE source SET next_fetch_at = NULL"))
            tick(fetch=not items_ok)
            if items_ok and not now_state.deliveries_open and not cluster.open_jobs(engine):
                done = True
                break
            time.sleep(0.3)
        seconds = time.monotonic() - started
        # (when the drain ends)
        final = cluster.state(engine, [r for r, _ in mail.messages()])
        confirmed = cluster.confirmed_emails(engine)
        flight = cluster.in_flight(engine)
        with engine.connect() as conn:
            stuck = conn.execute(
                text(
                    "SELECT count(*) FROM procrastinate_jobs "
                    "WHERE status IN ('todo', 'doing') AND queue_name <> 'clock'"
                )
            ).one()[0]
            failed = conn.execute(
                text("SELECT task_name FROM procrastinate_jobs WHERE status = 'failed'")
            ).all()
    finally:
        for proc in procs:
            cluster.kill_group(proc)
        mail.close()
        web.close()
        engine.dispose()
    missing = sorted(confirmed - set(final.copies))
    return {
        "seed": seed,
        "seconds": round(seconds, 1),
        "kill_phase": round(killing, 1),
        "drained": done,
        "kills": kills,
        "landed_in": landed,
        "entries": web.entries,
        "items": final.items,
        "distinct": final.distinct,
        "unextracted": final.unextracted,
        "storyless": final.storyless,
        "subscribers": len(confirmed),
        "one_email": sum(1 for e in confirmed if final.copies.get(e) == 1),
        "two_or_more": sum(1 for n in final.copies.values() if n > 1),
        "none": len(missing),
        "none_all_in_flight": set(missing) <= flight,
        "open_deliveries": final.deliveries_open,
        "jobs_left": int(stuck),
        "jobs_failed": sorted(r[0] for r in failed),
    }


def check(figures: dict) -> None:
    f = figures
    assert f["drained"], f
    assert f["items"] == f["distinct"] == f["entries"], f
    assert f["unextracted"] == 0 and f["storyless"] == 0, f
    assert f["two_or_more"] == 0, f
    assert f["none_all_in_flight"] and f["one_email"] + f["none"] == f["subscribers"], f
    assert f["open_deliveries"] == 0 and f["jobs_left"] == 0, f
    assert f["jobs_failed"] == [], f  # a job of a killed worker is retried, never failed


@pytest.mark.postgres
@pytest.mark.slow
def test_three_workers_killed_20_times_lose_nothing_and_do_nothing_twice(
    tmp_path: Path, pg_url: str
) -> None:
    seed = int(os.environ.get("QUEUE_KILL_SEED", time.time()))
    figures = run_cluster(tmp_path, pg_url, kills=KILLS, seed=seed)
    print(figures)
    for log in sorted(tmp_path.glob("worker*.log")):  # what the workers said, on failure
        print(log.name, log.read_text()[-3000:])
    check(figures)
