"""Curator accounts: the store functions on both databases and the `veille users` commands."""

from __future__ import annotations

import subprocess
import sys

import pytest
from argon2 import PasswordHasher
from typer.testing import CliRunner

from veille.cli import _register, app
from veille.store import session_scope, utcnow
from veille.store import users as accounts
from veille.store.db import open_store

_register()


@pytest.fixture(autouse=True)
def light_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id with small costs: the default (64 MiB, 3 passes) takes ~0.4 s a hash here."""
    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def test_create_authenticate_and_change_password(engine) -> None:  # noqa: ANN001
    with session_scope(engine) as s:
        user = accounts.create_user(s, name="ana", password="correct horse", now=utcnow())
        assert user.password_hash.startswith("$argon2id$")
        assert "correct horse" not in user.password_hash
    with session_scope(engine) as s:
        assert accounts.authenticate(s, name="ana", password="wrong horse", now=utcnow()) is None
        assert accounts.authenticate(s, name="bob", password="correct horse", now=utcnow()) is None
        ok = accounts.authenticate(s, name="ana", password="correct horse", now=utcnow())
        assert ok is not None and ok.last_login_at is not None
        accounts.set_password(s, name="ana", password="battery staple")
    with session_scope(engine) as s:
        assert accounts.authenticate(s, name="ana", password="correct horse", now=utcnow()) is None
        assert accounts.authenticate(s, name="ana", password="battery staple", now=utcnow())


@pytest.mark.parametrize(
    ("name", "password", "role", "message"),
    [
        ("ana", "short", "curator", "too short"),
        ("two words", "long enough", "curator", "no spaces"),
        ("", "long enough", "curator", "1 to 64"),
        ("ana", "long enough", "owner", "role 'owner'"),
    ],
)
def test_bad_accounts_are_refused_with_the_culprit(
    sqlite_engine,
    name: str,
    password: str,
    role: str,
    message: str,  # noqa: ANN001
) -> None:
    with pytest.raises(accounts.UserError, match=message), session_scope(sqlite_engine) as s:
        accounts.create_user(s, name=name, password=password, role=role, now=utcnow())


def test_duplicate_and_unknown_accounts(sqlite_engine) -> None:  # noqa: ANN001
    with session_scope(sqlite_engine) as s:
        accounts.create_user(s, name="ana", password="long enough", now=utcnow())
    with pytest.raises(accounts.UserError, match="already exists"):  # noqa: SIM117
        with session_scope(sqlite_engine) as s:
            accounts.create_user(s, name="ana", password="long enough", now=utcnow())
    with pytest.raises(accounts.UserError, match="no account named 'zoe'"):  # noqa: SIM117
        with session_scope(sqlite_engine) as s:
            accounts.remove_user(s, name="zoe")


@pytest.fixture
def cli_env(settings, monkeypatch: pytest.MonkeyPatch) -> str:  # noqa: ANN001
    url = f"sqlite:///{settings.data_dir / 'veille.db'}"
    monkeypatch.setenv("VEILLE_DATABASE_URL", url)
    monkeypatch.setenv("VEILLE_DATA_DIR", str(settings.data_dir))
    return url


def test_users_commands_round_trip(cli_env: str) -> None:
    runner = CliRunner()
    out = runner.invoke(
        app,
        ["users", "add", "ana", "--role", "admin", "--password-stdin"],
        input="a long password\n",
    )
    assert out.exit_code == 0, out.output
    assert "account 'ana' created (admin)" in out.output
    out = runner.invoke(app, ["users", "add", "bob"], input="bobs password\nbobs password\n")
    assert out.exit_code == 0, out.output
    listed = runner.invoke(app, ["users", "list"]).output
    assert "ana" in listed and "admin" in listed and "bob" in listed and "never" in listed
    out = runner.invoke(app, ["users", "passwd", "bob", "--password-stdin"], input="new password\n")
    assert out.exit_code == 0, out.output
    engine = open_store(cli_env)
    with session_scope(engine) as s:
        assert accounts.authenticate(s, name="bob", password="new password", now=utcnow())
    assert runner.invoke(app, ["users", "remove", "bob"]).exit_code == 0
    with session_scope(engine) as s:
        assert [u.name for u in accounts.list_users(s)] == ["ana"]
    engine.dispose()


def test_users_errors_are_one_line(cli_env: str) -> None:
    def veille(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "veille", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )

    short = veille("users", "add", "zoe", "--password-stdin", stdin="abc\n")
    assert short.returncode == 1
    assert short.stderr.strip() == "veille: error: password too short: at least 8 characters"
    runner = CliRunner()
    assert (
        runner.invoke(
            app, ["users", "add", "ana", "--password-stdin"], input="long enough\n"
        ).exit_code
        == 0
    )
    dup = runner.invoke(app, ["users", "add", "ana", "--password-stdin"], input="long enough\n")
    assert isinstance(dup.exception, accounts.UserError)
    assert str(dup.exception) == "account 'ana' already exists"
    gone = runner.invoke(app, ["users", "passwd", "zoe", "--password-stdin"], input="whatever1\n")
    assert str(gone.exception) == "no account named 'zoe'"
