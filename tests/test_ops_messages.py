"""Step 3 of issue 16: every user error is one line naming the culprit and the fix (run as a
user would, through `python -m veille`), and every bug keeps its traceback in the logs."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from veille.cli.common import JsonFormatter, TextFormatter

CASES = [
    (["--log-level", "LOUD"], {}, "--log-level 'LOUD': use DEBUG, INFO, WARNING or ERROR"),
    (
        [],
        {"VEILLE_LOG_LEVEL": "verbose"},
        "VEILLE_LOG_LEVEL='verbose': use DEBUG, INFO, WARNING or ERROR",
    ),
    (
        [],
        {"VEILLE_DATABASE_URL": "postgres://veille:s3cret@db:5432/veille"},
        "VEILLE_DATABASE_URL='postgres://veille:***@db:5432/veille': write postgresql:// "
        "instead of postgres://",
    ),
    (
        [],
        {"VEILLE_DATABASE_URL": "not-a-url"},
        "VEILLE_DATABASE_URL='not-a-url': not a database URL; use sqlite:///path/veille.db or "
        "postgresql://user:password@host:5432/veille",
    ),
    (
        [],
        {"VEILLE_DATABASE_URL": "mysql://root:pw@localhost/veille"},
        "VEILLE_DATABASE_URL='mysql://root:***@localhost/veille': mysql is not supported; use "
        "sqlite:///path/veille.db or postgresql://…",
    ),
    (
        [],
        {"VEILLE_SMTP_URL": "smtp:/broken"},
        "VEILLE_SMTP_URL='smtp:/broken': use smtp://user:password@host:587 (STARTTLS) or "
        "smtps://user:password@host:465",
    ),
    (
        [],
        {"VEILLE_BASE_URL": "example.org"},
        "VEILLE_BASE_URL='example.org': use the full public address, e.g. "
        "https://veille.example.org",
    ),
    (
        [],
        {"VEILLE_DIGEST_TIME": "25:99"},
        "VEILLE_DIGEST_TIME='25:99': use a time of day HH:MM between 00:00 and 23:59, e.g. 07:00",
    ),
]


def _veille(args: list[str], env: dict[str, str], cwd: Path, code: str | None = None):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VEILLE_")}
    clean.update(env)
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "veille"]
    return subprocess.run(
        command if code else [*command, *args],
        env=clean,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(("args", "env", "line"), CASES, ids=[c[2][:24] for c in CASES])
def test_a_bad_setting_is_one_line(
    args: list[str], env: dict[str, str], line: str, tmp_path: Path
) -> None:
    done = _veille([*args, "config"], env, tmp_path)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"veille: error: {line}"], done.stderr
    assert "s3cret" not in done.stderr and "Traceback" not in done.stderr


def test_postgresql_without_its_driver_says_what_to_install(tmp_path: Path) -> None:
    # `sys.modules[name] = None` is how Python spells "this module cannot be imported".
    code = (
        "import sys; sys.modules['psycopg'] = None; sys.argv = ['veille', *sys.argv[1:]]; "
        "from veille.cli import main; main()"
    )
    env = {"VEILLE_DATABASE_URL": "postgresql://veille@127.0.0.1:5432/veille"}
    done = _veille(["config"], env, tmp_path, code=code)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "veille: error: VEILLE_DATABASE_URL='postgresql://veille@127.0.0.1:5432/veille': "
        "PostgreSQL needs its driver, which is not installed: pip install 'veille[postgres]'"
    ]


def _record() -> logging.LogRecord:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        return logging.LogRecord(
            "veille.t", logging.ERROR, __file__, 1, "stage crashed", None, sys.exc_info()
        )


def test_both_log_formats_keep_the_traceback() -> None:
    record = _record()
    record.stage = "t"
    text = TextFormatter().format(record)
    assert text.splitlines()[0].endswith("ERROR   stage crashed stage=t")
    assert "Traceback (most recent call last)" in text and "RuntimeError: boom" in text
    data = json.loads(JsonFormatter().format(_record()))
    assert data["msg"] == "stage crashed" and data["exception"] == "RuntimeError: boom"
    assert "Traceback (most recent call last)" in data["traceback"]
    assert "raise RuntimeError" in data["traceback"]


def test_a_web_500_logs_its_traceback(settings, caplog: pytest.LogCaptureFixture) -> None:  # noqa: ANN001
    from fastapi.testclient import TestClient

    from veille.web.app import create_app

    web = create_app(settings)

    @web.get("/boom")
    def boom() -> None:
        raise RuntimeError("kaboom")

    with caplog.at_level(logging.ERROR), TestClient(web, raise_server_exceptions=False) as client:
        assert client.get("/boom").status_code == 500
    [record] = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    for formatter in (TextFormatter(), JsonFormatter()):
        out = formatter.format(record)
        assert "Traceback (most recent call last)" in out and "kaboom" in out


def test_blank_secret_key_means_generated_not_empty(settings, monkeypatch) -> None:  # noqa: ANN001
    from veille.settings import load_settings

    monkeypatch.setenv("VEILLE_SECRET_KEY", "")
    monkeypatch.setenv("VEILLE_SMTP_URL", " ")
    loaded = load_settings(_env_file=None, data_dir=settings.data_dir)
    assert loaded.secret_key is None and loaded.smtp_url is None
    assert len(loaded.secret()) > 30  # generated into the data folder
