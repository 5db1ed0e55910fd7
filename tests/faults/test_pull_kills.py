"""`veille pull` killed with SIGKILL (its whole process group: workers too) at random moments,
the first time while it creates the schema of a new store; the feeds grow between runs. Then
clean runs finish the work, and the store must hold every entry once, each extracted and in
exactly one story, pass an integrity check, and keep no process or lock of the dead runs.

The seed is printed (PULL_KILL_SEED reruns one); the figures are in the assertion messages.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from tests.conftest import ROOT, _pg_admin, _pg_reachable
from tests.faults import zoo as z
from veille.store import Item, Story, open_store, session_scope
from veille.store.db import make_engine

FEEDS = 3
PER_KILL = 4  # entries each feed gains before every run
ARTICLE = (
    "<html><head><title>{t}</title></head><body><article><h1>{t}</h1>"
    + "".join(
        f"<p>Paragraphe {i} : une association de quartier ouvre un atelier de réparation "
        "de vélos, partage ses outils et forme des bénévoles chaque samedi matin.</p>"
        for i in range(8)
    )
    + "</article></body></html>"
)


class GrowingSite:
    """Feeds whose entries grow between runs, with an article page for each entry."""

    def __init__(self) -> None:
        self.zoo = z.Zoo("127.0.0.1")
        self.size = 0
        for f in range(FEEDS):
            self.zoo.add(f"/feed{f}.xml", lambda sock, f=f: self._feed(sock, f))
        self.zoo.add("/robots.txt", z.not_found)

    def _feed(self, sock, f: int) -> None:  # noqa: ANN001
        for i in range(self.size):  # article routes exist before the feed names them
            self.zoo.routes.setdefault(
                f"/a/{f}/{i}",
                z.response(
                    ARTICLE.format(t=f"Atelier {f}-{i}").encode(),
                    headers={"Content-Type": "text/html"},
                ),
            )
        items = "".join(
            f"<item><title>Atelier {f}-{i}</title><link>{self.zoo.url(f'/a/{f}/{i}')}</link>"
            f"<guid>{f}-{i}</guid><description>Atelier numéro {i} du flux {f}</description></item>"
            for i in range(self.size)
        )
        z.response(
            f"<rss version='2.0'><channel><title>f{f}</title>{items}</channel></rss>".encode()
        )(sock)

    def sources(self) -> str:
        return "sources:\n" + "".join(
            f"  - name: flux {f}\n    url: {self.zoo.url(f'/feed{f}.xml')}\n" for f in range(FEEDS)
        )


def _env(tmp_path: Path, db: str, site: GrowingSite) -> dict[str, str]:
    (tmp_path / "feeds.yaml").write_text(site.sources())
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEILLE_")}
    env.update(
        VEILLE_DATABASE_URL=db,
        VEILLE_DATA_DIR=str(tmp_path / "data"),
        VEILLE_SOURCES=str(tmp_path / "feeds.yaml"),
        VEILLE_ALLOW_NETWORKS="127.0.0.1/32",
        VEILLE_EXTRACT_WORKERS="1",
        VEILLE_RETRIES="0",
        VEILLE_LOG_LEVEL="ERROR",
        VEILLE_MODELS_DIR=str(ROOT / "models"),
    )
    return env


def _start(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "veille", "pull", "--force"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill takes the workers too
    )


def _kill_group(proc: subprocess.Popen) -> bool:
    """SIGKILL the run and its workers; True when nothing of the group survives."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    for _ in range(50):
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def _orphans(tmp_path: Path) -> list[int]:
    """Processes still running with this test's folder in their environment."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if str(tmp_path).encode() in environ and int(pid) != os.getpid():
            found.append(int(pid))
    return found


def _torture(tmp_path: Path, db: str, kills: int, wait_for_file: Path | None) -> str:
    seed = int(os.environ.get("PULL_KILL_SEED", time.time()))
    rng = random.Random(seed)
    site = GrowingSite()
    env = _env(tmp_path, db, site)
    log = []
    try:
        # 1. A new store, killed while its schema is being created.
        site.size += PER_KILL
        proc = _start(env)
        if wait_for_file is not None:
            while not wait_for_file.exists() and proc.poll() is None:
                time.sleep(0.002)
            time.sleep(rng.uniform(0, 0.05))
        else:
            time.sleep(rng.uniform(1.0, 2.5))
        assert _kill_group(proc), "a worker survived the kill"
        log.append("schema")
        # 2. Killed at random moments of later runs, the feeds growing each time.
        for _ in range(kills - 1):
            site.size += PER_KILL
            proc = _start(env)
            time.sleep(rng.uniform(0.3, 3.0))
            survived = proc.poll() is not None
            assert _kill_group(proc), "a worker survived the kill"
            log.append("done" if survived else "killed")
        # 3. A clean run finishes the work (forced: the feeds have grown since the last run
        # that got as far as fetching, and their hourly interval has not passed).
        for _ in range(1):
            final = subprocess.run(
                [sys.executable, "-m", "veille", "pull", "--force"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                timeout=300,
            )
            assert final.returncode == 0, final.stderr.decode()[-2000:]
    finally:
        site.zoo.close()
    assert _orphans(tmp_path) == [], "processes of the killed runs are still alive"
    expected = FEEDS * site.size
    engine = open_store(db)
    try:
        with session_scope(engine) as s:
            items = s.exec(select(Item)).all()
            stories = {st.id for st in s.exec(select(Story)).all()}
            if engine.dialect.name == "sqlite":
                assert s.exec(text("PRAGMA integrity_check")).one()[0] == "ok"
                assert s.exec(text("PRAGMA foreign_key_check")).all() == []
            locks = s.exec(text("SELECT count(*) FROM job_lock")).one()[0]
        with engine.connect() as conn:  # nobody holds the database: a write starts at once
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA busy_timeout=0")
            conn.execute(text("UPDATE source SET warning = warning"))
            conn.commit()
    finally:
        engine.dispose()
    keys = [(i.source_id, i.guid) for i in items]
    killed = log.count("killed") + 1
    figures = (
        f"seed={seed}: {len(log)} runs SIGKILLed ({killed} mid-run, "
        f"{log.count('done')} had ended), "
        f"{expected} entries served, {len(items)} items stored, "
        f"{len(keys) - len(set(keys))} duplicates, "
        f"{sum(1 for i in items if not i.extraction)} not extracted, "
        f"{sum(1 for i in items if i.story_id not in stories)} without a story, {locks} locks"
    )
    print(figures)
    assert len(items) == expected and len(set(keys)) == expected, figures
    assert all(i.extraction for i in items), figures
    assert all(i.story_id in stories for i in items), figures
    assert locks == 0, figures
    assert killed >= kills // 2, f"too few kills landed mid-run: {figures}"
    return figures


def test_pull_killed_30_times_on_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "kill.db"
    _torture(tmp_path, f"sqlite:///{path}", kills=30, wait_for_file=path)


@pytest.fixture
def blank_pg() -> Iterator[str]:
    if not _pg_reachable():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    name = f"veille_kill_{uuid.uuid4().hex[:10]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
def test_pull_killed_10_times_on_postgresql(tmp_path: Path, blank_pg: str) -> None:
    _torture(tmp_path, blank_pg, kills=10, wait_for_file=None)
    engine = make_engine(blank_pg)  # the dead runs' sessions are gone from the server
    with engine.connect() as conn:
        others = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).one()[0]
    engine.dispose()
    assert others == 0, f"{others} sessions of killed runs still open"
