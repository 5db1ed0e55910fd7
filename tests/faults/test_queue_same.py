"""`veille worker` × 3 and the single process give the same stored items, stories and
deliveries on the same synthetic web (tests/faults/cluster.py), each on its own PostgreSQL
database: one run with VEILLE_EXECUTOR=local (`veille pull`, then `veille digest --send`),
one with three workers (the test plays the tick's part so as not to wait for a minute).
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from tests.conftest import ROOT, _pg_admin
from tests.faults import cluster
from tests.faults.test_queue_kills import far_digest_time
from tests.fixtures.digest.mailserver import MailServer
from tests.fixtures.digest.seed import seed_subscribers
from veille.settings import Settings
from veille.store import Digest, Item, Source, open_store, session_scope, utcnow

SUBSCRIBERS = 12


@pytest.fixture
def two_dbs(pg_template: str) -> Iterator[tuple[str, str]]:
    names = [f"veille_same_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for name in names:
        _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    yield tuple(f"postgresql://postgres@127.0.0.1:5432/{n}" for n in names)  # type: ignore[misc]
    for name in names:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _snapshot(db: str, mail: MailServer) -> dict:
    engine = open_store(db)
    try:
        with session_scope(engine) as s:
            names = {src.id: src.name for src in s.exec(select(Source)).all()}
            items = s.exec(select(Item)).all()
            digests = s.exec(select(Digest)).all()
            members: dict[int, set[tuple[str, str]]] = {}
            for i in items:
                members.setdefault(i.story_id or -1, set()).add((names[i.source_id], i.guid))
            return {
                "items": sorted(
                    (names[i.source_id], i.guid, i.title, i.extraction, len(i.text or ""))
                    for i in items
                ),
                "stories": sorted(sorted(m) for m in members.values()),
                "labels": sorted((i.guid, tuple(i.labels)) for i in items),
                "digest_entries": sorted(len(d.entries) for d in digests),
                "recipients": sorted(r for r, _ in mail.messages()),
            }
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.slow
def test_three_workers_store_and_send_what_one_process_does(
    tmp_path: Path, two_dbs: tuple[str, str]
) -> None:
    from veille.digest.select import local_day
    from veille.queue import defer, tasks
    from veille.queue.tick import defer_fetches, sync_file

    local_db, queue_db = two_dbs
    web = cluster.Web(distinct=True)
    web.size = 6
    out = {}
    try:
        for name, db in (("local", local_db), ("queue", queue_db)):
            folder = tmp_path / name
            folder.mkdir()
            mail = MailServer()
            engine = open_store(db)
            seed_subscribers(engine, utcnow(), SUBSCRIBERS)
            env = cluster.environment(folder, db, web, mail.url, interval="1h")
            env["VEILLE_DIGEST_TIME"] = far_digest_time("Europe/Paris")
            day = local_day(utcnow(), "Europe/Paris").isoformat()
            try:
                if name == "local":
                    env["VEILLE_EXECUTOR"] = "local"
                    for command in (["pull"], ["digest", "--send", "--date", day]):
                        done = subprocess.run(
                            [sys.executable, "-m", "veille", *command],
                            cwd=ROOT,
                            env=env,
                            capture_output=True,
                            timeout=300,
                        )
                        assert done.returncode == 0, done.stderr.decode()[-2000:]
                else:
                    settings = Settings(
                        database_url=db,
                        executor="procrastinate",
                        sources=Path(env["VEILLE_SOURCES"]),
                        _env_file=None,
                    )
                    procs = [cluster.start_worker(env, folder / f"worker{i}.log") for i in range(3)]
                    try:
                        with session_scope(engine) as s:
                            sync_file(s, settings, now=utcnow())
                            defer_fetches(s, now=utcnow())
                        _wait(engine, lambda e=engine: cluster.state(e, []).items_done(web.entries))
                        _wait(engine, lambda: True)  # and the queue empty
                        with session_scope(engine) as s:
                            defer(s, tasks.build_digest, lock="digest", day=day)
                        _wait(engine, lambda m=mail: m.count() >= SUBSCRIBERS)
                    finally:
                        for proc in procs:
                            cluster.kill_group(proc, sig=15)
                out[name] = _snapshot(db, mail)
            finally:
                engine.dispose()
                mail.close()
    finally:
        web.close()
    local, queue = out["local"], out["queue"]
    assert len(local["items"]) == web.entries
    for key in ("items", "stories", "labels", "digest_entries", "recipients"):
        assert queue[key] == local[key], key


def _wait(engine, ready, timeout: float = 120) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready() and not cluster.open_jobs(engine):
            return
        time.sleep(0.3)
    raise AssertionError("the workers did not finish in time")
