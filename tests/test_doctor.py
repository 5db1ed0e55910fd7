"""`veille doctor` and the admin's Checks page: one line per check with the fix, exit code by
severity, on a fresh setup and on each thing that can go wrong."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.conftest import ROOT
from tests.e2e.seed import add_source, login, seed, use_light_hashing
from veille import doctor
from veille.cli import _register, app
from veille.settings import Settings
from veille.store import open_store, utcnow
from veille.store.db import make_engine, upgrade
from veille.web.app import create_app

_register()


@pytest.fixture
def fresh(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """What compose starts with when .env is left as it is: localhost, no SMTP, no pulls."""
    shutil.copy(ROOT / "feeds.yaml", settings.sources)
    for key, value in {
        "VEILLE_DATA_DIR": settings.data_dir,
        "VEILLE_SOURCES": settings.sources,
        "VEILLE_MODELS_DIR": settings.models_dir,
    }.items():
        monkeypatch.setenv(key, str(value))
    open_store(settings.db_url).dispose()
    yield settings


def _doctor(*args: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, ["doctor", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout.splitlines()


def _by_check(lines: list[str]) -> dict[str, str]:
    return {line[8:].split(":")[0]: line for line in lines[:-1]}


def test_fresh_setup_lists_what_is_left_to_configure(fresh: Settings) -> None:
    code, lines = _doctor()
    assert code == 1
    checks = _by_check(lines)
    problems = {name for name, line in checks.items() if not line.startswith("ok ")}
    assert problems == {"base URL", "sender", "SMTP", "subscribers", "pulls"}
    assert checks["base URL"] == (
        "warning base URL: VEILLE_BASE_URL is http://localhost:8000: links in emails, "
        "unsubscribe included, point at it → fix: set VEILLE_BASE_URL to the public address, "
        "e.g. https://veille.example.org"
    )
    assert checks["sender"].startswith("warning sender: VEILLE_MAIL_FROM is veille@localhost")
    assert checks["SMTP"].endswith("→ fix: set VEILLE_SMTP_URL=smtp://user:password@host:587")
    assert checks["subscribers"].startswith("warning subscribers: no confirmed subscriber")
    for name in ("database", "migrations", "sources file", "model", "disk"):
        assert checks[name].startswith(f"ok      {name}: "), checks[name]
    assert lines[-1] == f"{len(checks)} checks: 0 errors, 5 warnings"


def test_a_configured_setup_is_all_ok(fresh: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEILLE_BASE_URL", "https://veille.example.net")
    monkeypatch.setenv("VEILLE_MAIL_FROM", "veille@asso-du-val.fr")
    monkeypatch.setenv("VEILLE_SMTP_URL", "smtp://u:p@127.0.0.1:2525")
    engine = open_store(fresh.db_url)
    add_source(engine, "Réseau", "https://reseau.example.net/feed", last_success_at=utcnow())
    from veille.store import Subscriber, session_scope

    with session_scope(engine) as s:
        s.add(Subscriber(email="a@b.fr", status="confirmed", created_at=utcnow()))
    engine.dispose()
    code, lines = _doctor()
    assert code == 0, lines
    assert all(line.startswith("ok ") for line in lines[:-1])


@pytest.mark.parametrize(
    ("change", "check", "line"),
    [
        (
            {"database_url": "postgresql://postgres@127.0.0.1:9/nowhere"},
            "database",
            "error   database: postgresql://postgres@127.0.0.1:9/nowhere is unreachable (",
        ),
        ({"sources": "MISSING"}, "sources file", "error   sources file: "),
    ],
)
def test_each_error_is_one_line_and_exit_2(
    fresh: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    change: dict[str, str],
    check: str,
    line: str,
) -> None:
    for key, value in change.items():
        if value == "EMPTY":
            (tmp_path / "empty").mkdir()
            value = str(tmp_path / "empty")
        if value == "MISSING":
            value = str(tmp_path / "missing.yaml")
        monkeypatch.setenv(f"VEILLE_{key.upper()}", value)
    code, lines = _doctor()
    assert code == 2
    assert _by_check(lines)[check].startswith(line), lines
    assert "→ fix: " in _by_check(lines)[check]


def test_pending_migrations_and_stale_pulls_are_errors(settings: Settings) -> None:
    engine = make_engine(settings.db_url)
    upgrade(engine, "0002")
    findings = {f.check: f for f in doctor.run_checks(settings, engine=engine, now=utcnow())}
    assert findings["migrations"].severity == "error"
    assert (
        findings["migrations"]
        .line()
        .startswith(
            f"migrations: the database schema is {_after_0002()} migration(s) behind this "
            "version → fix: run veille db upgrade"
        )
    )
    upgrade(engine)
    add_source(
        engine,
        "Vieux",
        "https://vieux.example.net/feed",
        last_success_at=utcnow() - timedelta(hours=10),
    )
    findings = {f.check: f for f in doctor.run_checks(settings, engine=engine, now=utcnow())}
    assert findings["pulls"].severity == "error"
    assert (
        findings["pulls"]
        .line()
        .startswith("pulls: no successful pull for 10 hours (limit VEILLE_PULL_STALE_HOURS=6)")
    )
    engine.dispose()


def test_stale_is_counted_from_the_start_before_any_success() -> None:
    now = utcnow()
    assert not doctor.stale_since(None, now - timedelta(hours=5), now, 6)
    assert doctor.stale_since(None, now - timedelta(hours=7), now, 6)
    assert not doctor.stale_since(now - timedelta(hours=1), now - timedelta(days=9), now, 6)


def test_admins_see_the_same_list_in_french(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_light_hashing(monkeypatch)
    shutil.copy(ROOT / "feeds.yaml", settings.sources)
    web = create_app(settings)
    seed(web.state.engine)
    with TestClient(web, follow_redirects=False) as client:
        login(client)  # a curator
        assert client.get("/checks").status_code == 403
        client.post("/logout", data={})
        client.cookies.clear()
        login(client, "root")
        page = client.get("/checks")
    assert page.status_code == 200
    text = page.text
    assert "Vérifications" in text
    assert "pas de serveur SMTP\u00a0: les courriels sont écrits dans" in text
    assert "solution\u00a0: régler VEILLE_SMTP_URL=" in text
    assert "adresse publique\u00a0: VEILLE_BASE_URL vaut http://localhost:8000" in text


def test_healthz_fails_when_pulls_are_stale(settings: Settings) -> None:
    web = create_app(settings)
    with TestClient(web) as client:
        fresh = client.get("/healthz")
        assert fresh.status_code == 200 and fresh.json()["status"] == "ok"  # nothing to pull
        add_source(web.state.engine, "Neuve", "https://neuve.example.net/feed")
        assert client.get("/healthz").status_code == 200  # a fresh start has 6 hours
        web.state.started_at = utcnow() - timedelta(hours=7)
        never = client.get("/healthz")
        assert never.status_code == 503 and never.json()["status"] == "stale"
        add_source(
            web.state.engine,
            "Vieille",
            "https://vieille.example.net/feed",
            last_success_at=utcnow() - timedelta(hours=7),
        )
        old = client.get("/healthz")
        assert old.status_code == 503
        assert old.json() | {"last_pull_age_seconds": 0} == {
            "status": "stale",
            "database": "ok",
            "scheduler": "off",
            "last_pull_age_seconds": 0,
            "stale_after_hours": 6,
        }
        add_source(
            web.state.engine, "Active", "https://active.example.net/feed", last_success_at=utcnow()
        )
        assert client.get("/healthz").status_code == 200


def test_every_doctor_message_has_a_french_translation() -> None:
    import ast

    from veille import i18n

    tree = ast.parse((ROOT / "veille" / "doctor.py").read_text())
    msgids = {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", "") == "N_"
        and isinstance(node.args[0], ast.Constant)
    }
    fr = i18n.translations("fr", "web")
    same = {"SMTP", "migrations", "{url}", "{sender}", "{reason}", "version {version}"}
    missing = sorted(m for m in msgids - same if fr.gettext(m) == m)
    assert not missing, missing
    assert len(msgids) > 40


def test_a_damaged_model_is_a_warning_and_an_empty_folder_serves_the_seed(
    fresh: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("VEILLE_MODELS_DIR", str(tmp_path / "empty"))
    code, lines = _doctor()
    assert _by_check(lines)["model"].startswith("ok      model: version "), lines
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "registry.json").write_text('{"current": "20260101-000000", "versions": []}')
    monkeypatch.setenv("VEILLE_MODELS_DIR", str(damaged))
    code, lines = _doctor()
    assert code >= 1
    assert _by_check(lines)["model"].startswith(
        "warning model: the current classifier model cannot be loaded, the shipped seed serves"
    ), lines


def _after_0002() -> int:
    """Migrations shipped after 0002: what a database left at 0002 lacks."""
    versions = Path(doctor.__file__).parent / "store" / "migrations" / "versions"
    return sum(1 for p in versions.glob("0*.py") if p.name[:4] not in ("0001", "0002"))


def test_a_folder_never_used_says_to_create_the_schema_and_nothing_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`veille doctor` as a new user's first command: no database file yet. One line says
    to create the schema; no check reads a table that does not exist (no traceback)."""
    for var in [v for v in os.environ if v.startswith("VEILLE_")]:
        monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "veille", "doctor"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2 and "Traceback" not in done.stdout + done.stderr
    assert (
        "migrations: the database schema is" in done.stdout and "veille db upgrade" in done.stdout
    )
