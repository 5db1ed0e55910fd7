"""Shared fixtures: settings in a temporary folder, real SQLite and PostgreSQL, a local web."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.localweb import LocalWeb
from veille.settings import Settings
from veille.store.db import make_engine, open_store

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def shared_path(*parts: str) -> Path:
    """A path inside ../shared, or skip the test with a message when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"../shared/{'/'.join(parts)} is absent: test needs the shared corpora")
    return path


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings isolated in tmp_path, loopback allowed, no .env read from the checkout."""
    for var in list(__import__("os").environ):
        if var.startswith("VEILLE_"):
            monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VEILLE_DIGEST_POLICY", "send")  # for the CLI: see digest_policy below
    return Settings(
        data_dir=tmp_path / "data",
        sources=tmp_path / "feeds.yaml",
        models_dir=tmp_path / "data" / "models",  # empty: the shipped seed model serves
        allow_networks=["127.0.0.0/8"],
        # Feeds in tests link to pages on hosts that do not exist here; tests that follow
        # links to the local web turn this on.
        fetch_articles=False,
        # Today's digest behaviour; tests/test_digest_hold.py covers the default `hold`, under
        # which every item of these brand-new test sources would wait for a curator.
        digest_policy="send",
        retries=1,
        connect_timeout=2,
        read_timeout=2,
        total_timeout=5,
        allowed_hosts=["testserver"],  # TestClient's Host
        _env_file=None,
    )


def _pg_admin(sql: str) -> None:
    admin = make_engine(PG_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(sql))
    finally:
        admin.dispose()


def _pg_reachable() -> bool:
    try:
        _pg_admin("SELECT 1")
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL template database; each test clones it (fast)."""
    if not _pg_reachable():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    name = f"veille_tmpl_{uuid.uuid4().hex[:8]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    open_store(f"postgresql://postgres@127.0.0.1:5432/{name}").dispose()
    yield name
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    template = request.getfixturevalue("pg_template")
    name = f"veille_test_{uuid.uuid4().hex[:10]}"
    _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Run the test once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'veille.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = open_store(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """SQLite only, for tests that do not depend on the database kind."""
    eng = open_store(f"sqlite:///{tmp_path / 'veille.db'}")
    yield eng
    eng.dispose()


@pytest.fixture
def web() -> Iterator[LocalWeb]:
    server = LocalWeb()
    yield server
    server.close()


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's headless Chromium driven by Playwright, one per test module: Playwright's sync
    API keeps an event loop running in this thread until it stops, and the other tests'
    asyncio.run would refuse to start beside it."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: browser tests need Debian's chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()
