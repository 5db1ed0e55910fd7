"""The distributed engine on a real PostgreSQL: every task run twice at once has its effect
once, a rolled-back transaction leaves no job, a deleted source is one log line, and the lock
of a killed worker goes back to the living.

Jobs run in real Procrastinate workers: in this process (`drain`, until the queue is empty)
or as `veille worker` subprocesses.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlmodel import select

from tests.conftest import ROOT
from tests.fixtures.digest.mailserver import MailServer
from tests.fixtures.digest.seed import seed_items, seed_subscribers
from tests.localweb import LocalWeb
from veille.errors import ConfigError
from veille.settings import Settings, load_settings
from veille.store import Delivery, Digest, Item, JobRun, Source, open_store, session_scope, utcnow

RSS = "<?xml version='1.0'?><rss version='2.0'><channel><title>T</title>{items}</channel></rss>"
ITEM = "<item><title>Atelier {g}</title><link>{base}/a/{g}</link><guid>{g}</guid></item>"


def test_executor_setting_is_checked_in_one_line() -> None:
    with pytest.raises(ConfigError, match=r"^VEILLE_EXECUTOR='threads': use local"):
        load_settings(_env_file=None, executor="threads")
    with pytest.raises(ConfigError, match=r"needs PostgreSQL|lives in PostgreSQL") as caught:
        load_settings(_env_file=None, executor="procrastinate", database_url="sqlite:///x.db")
    assert "\n" not in str(caught.value) and "VEILLE_DATABASE_URL=postgresql://" in str(
        caught.value
    )
    assert load_settings(_env_file=None).executor == "local"


def test_worker_refuses_the_local_executor(settings: Settings) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEILLE_")}
    env["VEILLE_DATA_DIR"] = str(settings.data_dir)
    done = subprocess.run(
        [sys.executable, "-m", "veille", "worker"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
    )
    lines = done.stderr.decode().strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert "VEILLE_EXECUTOR=procrastinate" in lines[0]


@pytest.fixture
def qsettings(settings: Settings, pg_url: str) -> Settings:
    return settings.model_copy(
        update={"database_url": pg_url, "executor": "procrastinate", "secret_key": None}
    )


@pytest.fixture
def qengine(pg_url: str):  # noqa: ANN201
    engine = open_store(pg_url)
    yield engine
    engine.dispose()


def _jobs(engine, status: str | None = None) -> list[tuple[str, str]]:  # noqa: ANN001
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT task_name, status::text FROM procrastinate_jobs "
                "WHERE queue_name <> 'clock' ORDER BY id"
            )
        ).all()
    return [(t, s) for t, s in rows if status is None or s == status]


@pytest.mark.postgres
def test_a_rolled_back_transaction_leaves_no_job(qengine, qsettings) -> None:  # noqa: ANN001
    from veille.queue import defer, tasks

    with pytest.raises(RuntimeError), session_scope(qengine) as session:
        defer(session, tasks.publish, lock="publish")
        session.add(JobRun(job="x", started_at=utcnow(), outcome="ok"))
        raise RuntimeError("the data write failed")
    assert _jobs(qengine) == []
    with session_scope(qengine) as session:
        assert session.exec(select(JobRun).where(JobRun.job == "x")).all() == []
        defer(session, tasks.publish, lock="publish")
    assert _jobs(qengine) == [("veille.publish", "todo")]


@pytest.mark.postgres
def test_a_taken_queueing_lock_keeps_the_caller_transaction(qengine) -> None:  # noqa: ANN001
    from veille.queue import defer, tasks

    with session_scope(qengine) as session:
        assert defer(session, tasks.publish, lock="p", queueing_lock="publish") is not None
        assert defer(session, tasks.publish, lock="p", queueing_lock="publish") is None
        session.add(JobRun(job="after", started_at=utcnow(), outcome="ok"))  # still usable
    with session_scope(qengine) as session:
        assert len(session.exec(select(JobRun).where(JobRun.job == "after")).all()) == 1
    assert _jobs(qengine) == [("veille.publish", "todo")]


def _feed_site(web: LocalWeb, count: int) -> str:
    items = "".join(ITEM.format(g=f"g{i}", base=web.base) for i in range(count))
    return web.route("/feed.xml", RSS.format(items=items), content_type="application/rss+xml")


@pytest.mark.postgres
def test_two_fetch_host_jobs_at_once_fetch_once(qengine, qsettings, web, tmp_path) -> None:  # noqa: ANN001
    from veille.queue import defer, tasks
    from veille.queue.worker import drain

    url = _feed_site(web, 5)
    qsettings.sources.write_text(f"sources:\n  - name: flux\n    url: {url}\n")
    from veille.sources import load_sources
    from veille.store.sources import sync_sources

    with session_scope(qengine) as session:
        sync_sources(session, specs=load_sources(qsettings.sources), now=utcnow())
        sid = session.exec(select(Source.id)).one()
    with session_scope(qengine) as session:  # two copies (a retry, a second tick) at once
        for _ in range(2):
            defer(
                session, tasks.fetch_host, lock="host:127.0.0.1", host="127.0.0.1", source_ids=[sid]
            )
    drain(qengine, qsettings, concurrency=2)
    assert len(web.hits("/feed.xml")) == 1
    with session_scope(qengine) as session:
        assert len(session.exec(select(Item)).all()) == 5
    assert _jobs(qengine, "todo") == _jobs(qengine, "doing") == []


@pytest.mark.postgres
def test_a_deleted_source_is_one_log_line(qengine, qsettings, caplog) -> None:  # noqa: ANN001
    from veille.queue import defer, tasks
    from veille.queue.worker import drain

    with session_scope(qengine) as session:
        defer(session, tasks.fetch_host, lock="host:gone", host="gone.example", source_ids=[4242])
    with caplog.at_level(logging.WARNING, logger="veille.queue.tasks"):
        drain(qengine, qsettings)
    lines = [r for r in caplog.records if r.name == "veille.queue.tasks"]
    assert [r.getMessage() for r in lines] == ["sources no longer exist; skipped"]
    assert lines[0].source_ids == [4242]
    assert _jobs(qengine, "failed") == [] and _jobs(qengine, "todo") == []


@pytest.mark.postgres
def test_digest_jobs_twice_at_once_send_each_copy_once(qengine, qsettings) -> None:  # noqa: ANN001
    from veille.digest.select import local_day
    from veille.queue import LANES, defer, tasks
    from veille.queue.worker import drain

    now = utcnow()
    seed_items(qengine, now)
    subscribers = seed_subscribers(qengine, now, 13)
    mail = MailServer()
    try:
        run = qsettings.model_copy(update={"smtp_url": SecretStr(mail.url), "send_rate": 500})
        day = local_day(now, run.timezone).isoformat()
        with session_scope(qengine) as session:  # two builds of the same issue
            for _ in range(2):
                defer(session, tasks.build_digest, lock="digest", day=day)
        drain(qengine, run, concurrency=3)
        with session_scope(qengine) as session:
            digest = session.exec(select(Digest)).one()
            # Two more copies of every lane at once, without their lane lock: the
            # conditional claim alone keeps each delivery to one message.
            for lane in range(LANES):
                for _ in range(2):
                    defer(session, tasks.send_batch, digest_id=digest.id, lane=lane)
            for _ in range(2):
                defer(session, tasks.publish)
        drain(qengine, run, concurrency=4)
        copies = [rcpt for rcpt, _ in mail.messages()]
    finally:
        mail.close()
    assert sorted(copies) == sorted(set(copies)) and len(copies) == len(subscribers)
    with session_scope(qengine) as session:
        statuses = {d.status for d in session.exec(select(Delivery)).all()}
        runs = session.exec(select(JobRun.job, JobRun.outcome)).all()
        assert len(session.exec(select(Digest)).all()) == 1
    assert statuses == {"sent"}
    assert runs.count(("digest", "ok")) == 1
    assert _jobs(qengine, "failed") == [] and _jobs(qengine, "todo") == []


@pytest.mark.postgres
def test_two_ticks_at_once_defer_the_work_once(qengine, qsettings, web) -> None:  # noqa: ANN001
    from veille.queue import tick_once

    url = _feed_site(web, 1)
    with session_scope(qengine) as session:
        for i in range(3):
            session.add(Source(name=f"s{i}", url=f"{url}?{i}", interval=3600, created_at=utcnow()))
    s1, s2 = session_scope(qengine), session_scope(qengine)
    a, b = s1.__enter__(), s2.__enter__()
    first = tick_once(a, qsettings)
    s1.__exit__(None, None, None)
    second = tick_once(b, qsettings)
    s2.__exit__(None, None, None)
    assert first["fetch_host"] == 1 and second["fetch_host"] == 0
    assert [t for t, _ in _jobs(qengine)].count("veille.fetch_host") == 1


def _worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "veille", "worker", "--concurrency", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _env(settings: Settings, pg_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEILLE_")}
    env.update(
        VEILLE_DATABASE_URL=pg_url,
        VEILLE_EXECUTOR="procrastinate",
        VEILLE_DATA_DIR=str(settings.data_dir),
        VEILLE_SOURCES=str(settings.sources),
        VEILLE_ALLOW_NETWORKS="127.0.0.0/8",
        VEILLE_EXTRACT_WORKERS="1",
        VEILLE_SECRET_KEY="shared",
        VEILLE_LOG_LEVEL="WARNING",
        VEILLE_FETCH_ARTICLES="false",
        VEILLE_RETRIES="0",
    )
    return env


@pytest.mark.postgres
@pytest.mark.slow
def test_the_lock_of_a_killed_worker_goes_to_the_living(qengine, qsettings, pg_url) -> None:  # noqa: ANN001
    from veille.queue import defer, tasks

    web = LocalWeb()
    released = []

    def slow(req):  # noqa: ANN001, ANN202
        from tests.localweb import Reply

        while not released:
            time.sleep(0.05)
        items = ITEM.format(g="g1", base=web.base)
        return Reply(
            status=200,
            body=RSS.format(items=items).encode(),
            headers={"Content-Type": "application/rss+xml"},
        )

    url = web.route("/slow.xml", handler=slow)
    qsettings.sources.write_text(f"sources:\n  - name: lent\n    url: {url}\n")
    from veille.sources import load_sources
    from veille.store.sources import sync_sources

    with session_scope(qengine) as session:
        sync_sources(session, specs=load_sources(qsettings.sources), now=utcnow())
        sid = session.exec(select(Source.id)).one()
        defer(session, tasks.fetch_host, lock="host:127.0.0.1", host="127.0.0.1", source_ids=[sid])
    env = _env(qsettings, pg_url)
    first = _worker(env)
    second = None
    try:
        deadline = time.monotonic() + 60
        while not web.hits("/slow.xml") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert web.hits("/slow.xml"), "the first worker never fetched"
        os.killpg(first.pid, signal.SIGKILL)  # dies holding the job and its host lock
        first.wait(timeout=30)
        assert _jobs(qengine, "doing") == [("veille.fetch_host", "doing")]
        released.append(True)
        second = _worker(env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the retried job, and any a tick added, done
            with session_scope(qengine) as session:
                stored = session.exec(select(Item)).all()
            if stored and not _jobs(qengine, "todo") + _jobs(qengine, "doing"):
                break
            time.sleep(0.3)
    finally:
        released.append(True)
        if second is not None:
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(timeout=60)
        web.close()
    with session_scope(qengine) as session:
        assert len(session.exec(select(Item)).all()) == 1
    left = [j for j in _jobs(qengine) if j[0] == "veille.fetch_host" and j[1] in ("todo", "doing")]
    assert left == []


def test_the_signing_key_comes_from_one_place() -> None:
    """Every signer asks Settings.secret(): VEILLE_SECRET_KEY, else DATA_DIR/secret.key. So
    one VEILLE_SECRET_KEY shared by every machine signs the same links everywhere."""
    package = ROOT / "veille"
    makers = [
        p.relative_to(package).as_posix()
        for p in package.rglob("*.py")
        if "secret.key" in p.read_text() and p.name != "doctor.py"
    ]
    assert makers == ["settings.py"]
    users = [
        p.relative_to(package).as_posix()
        for p in package.rglob("*.py")
        if "secret_key.get_secret_value" in p.read_text()
    ]
    assert users == ["settings.py"]


@pytest.mark.postgres
def test_doctor_and_db_upgrade_report_the_queue(
    qengine,
    qsettings,
    monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
) -> None:
    from typer.testing import CliRunner

    from veille.cli import _register, app
    from veille.queue import defer, tasks

    _register()
    with session_scope(qengine) as session:
        defer(session, tasks.publish, lock="publish")
    for key, value in {
        "VEILLE_DATABASE_URL": qsettings.database_url,
        "VEILLE_EXECUTOR": "procrastinate",
        "VEILLE_DATA_DIR": str(qsettings.data_dir),
    }.items():
        monkeypatch.setenv(key, value)
    upgraded = CliRunner().invoke(app, ["db", "upgrade"])
    assert upgraded.exit_code == 0 and "queue: todo 1, doing 0, failed 0" in upgraded.output
    doctor = CliRunner().invoke(app, ["doctor"])
    lines = {line[8:].split(":")[0]: line for line in doctor.output.splitlines()}
    assert lines["queue"].startswith("ok") and "1 job(s) to do, 0 running" in lines["queue"]
    assert lines["secret key"].startswith("warning") and "VEILLE_SECRET_KEY" in lines["secret key"]
    ran = CliRunner().invoke(app, ["run"])  # cron's `veille run`: the workers do the work
    assert ran.exit_code == 0 and "deferred for the workers: fetch_host=0" in ran.output, ran.output
    monkeypatch.setenv("VEILLE_SECRET_KEY", "one")
    doctor = CliRunner().invoke(app, ["doctor"])
    assert any(
        line.startswith("ok") and "secret key" in line for line in doctor.output.splitlines()
    )
