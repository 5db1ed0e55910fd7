"""The distributed engine measured: items/s end to end for the local executor and for 1, 2
and 4 `veille worker`s on the same synthetic web, the queue's own jobs/s, and the cost of a
PostgreSQL commit on this machine.

    python -m bench.queue [--per-feed 30] [--workers 1,2,4]

Each configuration gets a fresh database (127.0.0.1:5432, user postgres). The web is
tests/faults/cluster.py's: 8 loopback hosts, 2 feeds each, distinct articles to extract.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import text

from tests.conftest import ROOT, _pg_admin
from tests.faults import cluster
from veille.settings import Settings
from veille.store import open_store, session_scope, utcnow

HOSTS = tuple(f"127.0.0.{i}" for i in range(1, 9))


def _db() -> str:
    name = f"veille_bench_{uuid.uuid4().hex[:8]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    return name


def _drop(name: str) -> None:
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_local(web: cluster.Web, folder: Path) -> dict:
    name = _db()
    db = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        open_store(db).dispose()
        env = cluster.environment(folder, db, web, "smtp://127.0.0.1:9", interval="1h")
        env["VEILLE_EXECUTOR"] = "local"
        env["VEILLE_EXTRACT_WORKERS"] = "0"
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "veille", "pull"], cwd=ROOT, env=env, capture_output=True
        )
        seconds = time.monotonic() - started
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        engine = open_store(db)
        items = cluster.state(engine, []).items
        engine.dispose()
        return {
            "config": "local",
            "items": items,
            "seconds": round(seconds, 1),
            "items_per_s": round(items / seconds, 1),
        }
    finally:
        _drop(name)


def run_workers(web: cluster.Web, folder: Path, workers: int, pool: int) -> dict:
    from veille.queue.tick import defer_fetches, sync_file

    name = _db()
    db = f"postgresql://postgres@127.0.0.1:5432/{name}"
    engine = open_store(db)
    procs = []
    try:
        env = cluster.environment(folder, db, web, "smtp://127.0.0.1:9", interval="1h")
        env["VEILLE_EXTRACT_WORKERS"] = str(pool)
        settings = Settings(
            database_url=db,
            executor="procrastinate",
            sources=Path(env["VEILLE_SOURCES"]),
            _env_file=None,
        )
        procs = [cluster.start_worker(env, folder / f"w{i}.log") for i in range(workers)]
        time.sleep(3)  # the workers are up (imports), as a running cluster would be
        started = time.monotonic()
        with session_scope(engine) as s:
            sync_file(s, settings, now=utcnow())
            defer_fetches(s, now=utcnow())
        while True:
            state = cluster.state(engine, [])
            if state.items_done(web.entries) and not cluster.open_jobs(engine):
                break
            time.sleep(0.2)
        seconds = time.monotonic() - started
        with engine.connect() as conn:
            jobs = conn.execute(
                text("SELECT count(*) FROM procrastinate_jobs WHERE queue_name <> 'clock'")
            ).one()[0]
        return {
            "config": f"{workers} worker(s), pool {pool or 'per core'}",
            "items": state.items,
            "seconds": round(seconds, 1),
            "items_per_s": round(state.items / seconds, 1),
            "jobs": int(jobs),
        }
    finally:
        for proc in procs:
            cluster.kill_group(proc, sig=15)
        engine.dispose()
        _drop(name)


def queue_jobs_per_second(folder: Path, workers: int = 2, jobs: int = 400) -> dict:
    """No-op jobs (fetch_host of a source that does not exist) through `workers` workers:
    what the machinery costs per job (fetch, lock, run, finish)."""
    from veille.queue import defer, tasks

    name = _db()
    db = f"postgresql://postgres@127.0.0.1:5432/{name}"
    engine = open_store(db)
    procs = []
    try:
        env = cluster.environment(
            folder, db, cluster.Web(hosts=("127.0.0.1",)), "smtp://127.0.0.1:9", interval="1h"
        )
        env["VEILLE_LOG_LEVEL"] = "ERROR"
        procs = [cluster.start_worker(env, folder / f"q{i}.log") for i in range(workers)]
        time.sleep(3)
        started = time.monotonic()
        with session_scope(engine) as s:
            for i in range(jobs):
                defer(
                    s,
                    tasks.fetch_host,
                    lock=f"host:h{i % 50}",
                    host=f"h{i % 50}",
                    source_ids=[10_000_000 + i],
                )
        while cluster.open_jobs(engine):
            time.sleep(0.1)
        seconds = time.monotonic() - started
        return {
            "workers": workers,
            "jobs": jobs,
            "seconds": round(seconds, 1),
            "jobs_per_s": round(jobs / seconds, 1),
        }
    finally:
        for proc in procs:
            cluster.kill_group(proc, sig=15)
        engine.dispose()
        _drop(name)


def commit_cost(rounds: int = 500) -> dict:
    """Milliseconds per small committed transaction (one UPDATE), as every job pays a few."""
    name = _db()
    engine = open_store(f"postgresql://postgres@127.0.0.1:5432/{name}")
    try:
        with engine.connect() as conn:
            conn.execute(text("CREATE TABLE t (id int primary key, n int)"))
            conn.execute(text("INSERT INTO t VALUES (1, 0)"))
            conn.commit()
            started = time.perf_counter()
            for _ in range(rounds):
                conn.execute(text("UPDATE t SET n = n + 1 WHERE id = 1"))
                conn.commit()
            seconds = time.perf_counter() - started
        return {"commits": rounds, "ms_per_commit": round(1000 * seconds / rounds, 3)}
    finally:
        engine.dispose()
        _drop(name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-feed", type=int, default=30)
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    web = cluster.Web(hosts=HOSTS, distinct=True)
    web.size = args.per_feed
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp)
            for i, step in enumerate(["local", *args.workers.split(","), "2x1"]):
                folder = base / f"run{i}"
                folder.mkdir()
                if step == "local":
                    rows.append(run_local(web, folder))
                elif step == "2x1":  # two workers, one extraction process each
                    rows.append(run_workers(web, folder, 2, pool=1))
                else:
                    rows.append(run_workers(web, folder, int(step), pool=0))
                print(rows[-1], flush=True)
            folder = base / "jobs"
            folder.mkdir()
            print(queue_jobs_per_second(folder), flush=True)
    finally:
        web.close()
    print(commit_cost(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
