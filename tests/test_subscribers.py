"""Subscribers: checked addresses, double opt-in, signed links, CSV import/export, the commands."""

from __future__ import annotations

import email
import io
import subprocess
import sys
from datetime import UTC, datetime
from email import policy
from pathlib import Path
from urllib.parse import unquote

import pytest
from typer.testing import CliRunner

from veille.cli import _register, app
from veille.digest import subscribers as subs
from veille.digest import tokens
from veille.store import open_store, session_scope
from veille.store import subscribers as subs_q
from veille.types import TOPICS

_register()
NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
SECRET = "a test secret"


def test_addresses_languages_and_topics_are_checked(engine) -> None:  # noqa: ANN001
    with session_scope(engine) as s:
        sub, mail = subs.add(s, email="  Ana.Martin@Example.ORG ", now=NOW)
        assert (sub.email, sub.lang, sub.topics, sub.status, mail) == (
            "ana.martin@example.org",
            "fr",
            list(TOPICS),
            "pending",
            True,
        )
        en, _ = subs.add(
            s,
            email="bob@example.org",
            lang="EN",
            topics="open_collaboration, social_innovation",
            now=NOW,
        )
        assert en.lang == "en" and en.topics == ["social_innovation", "open_collaboration"]
    for bad, message in [
        ("ana@", "'ana@' is not a valid email address: There must be something after the @-sign."),
        ("no-at-sign", "'no-at-sign' is not a valid email address"),
        ("x@localhost", "'x@localhost' is not a valid email address"),
        ("a b@example.org", "'a b@example.org' is not a valid email address"),
    ]:
        with pytest.raises(subs.SubscriberError, match="^" + message.replace(".", r"\.")):
            subs.normalise_email(bad)
    with pytest.raises(subs.SubscriberError, match="language 'de' is not offered"):
        subs.parse_lang("de")
    with pytest.raises(subs.SubscriberError, match="unknown topic 'sport'"):
        subs.parse_topics("sport,open_collaboration")


def test_double_opt_in_and_one_click_unsubscribe(engine) -> None:  # noqa: ANN001
    with session_scope(engine) as s:
        sub, _ = subs.add(s, email="ana@example.org", now=NOW)
        sid = sub.id
    confirm = tokens.confirm_token(SECRET, subscriber_id=sid, email="ana@example.org")
    leave = tokens.unsubscribe_token(SECRET, subscriber_id=sid, email="ana@example.org")
    with pytest.raises(tokens.LinkError, match="not valid"):  # one purpose per token
        tokens.read_confirm(SECRET, leave)
    with pytest.raises(tokens.LinkError, match="not valid"):
        tokens.read_unsubscribe(SECRET, confirm)
    with pytest.raises(tokens.LinkError, match="not valid"):
        tokens.read_confirm("another secret", confirm)
    with pytest.raises(tokens.LinkError, match="expired"):
        tokens.read_confirm(SECRET, confirm, max_age=-1)
    with session_scope(engine) as s:
        done = subs.confirm(s, secret=SECRET, token=confirm, now=NOW)
        assert done.status == "confirmed" and done.confirmed_at == NOW
        assert subs.confirm(s, secret=SECRET, token=confirm, now=NOW).status == "confirmed"
    with session_scope(engine) as s:
        gone = subs.unsubscribe(s, secret=SECRET, token=leave, now=NOW)
        assert gone.status == "unsubscribed" and gone.unsubscribed_at == NOW
        assert subs.unsubscribe(s, secret=SECRET, token=leave, now=NOW).status == "unsubscribed"
    with session_scope(engine) as s, pytest.raises(tokens.LinkError, match="left the list"):
        subs.confirm(s, secret=SECRET, token=confirm, now=NOW)  # no rejoining by an old link
    with session_scope(engine) as s:  # subscribing again re-opens as pending
        again, mail = subs.add(s, email="ana@example.org", lang="en", now=NOW)
        assert (again.id, again.status, again.lang, mail) == (sid, "pending", "en", True)
        subs.remove(s, email="ana@example.org")
    with session_scope(engine) as s:  # a deleted address: the link does nothing
        assert subs.unsubscribe(s, secret=SECRET, token=leave, now=NOW) is None
        with pytest.raises(tokens.LinkError, match="no longer subscribed"):
            subs.confirm(s, secret=SECRET, token=confirm, now=NOW)


def test_csv_import_is_all_or_nothing_and_export_reads_back(sqlite_engine, tmp_path) -> None:  # noqa: ANN001
    good = tmp_path / "list.csv"
    good.write_text(
        "email,lang,topics,status\n"
        "Ana@Example.org,fr,,\n"
        "bob@example.org,en,open_collaboration social_innovation,confirmed\n"
        "carol@example.org,,,unsubscribed\n",
        encoding="utf-8",
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("email,lang\ndan@example.org,fr\neve@,fr\n", encoding="utf-8")
    with (
        session_scope(sqlite_engine) as s,
        pytest.raises(
            subs.SubscriberError, match=r"bad\.csv line 3: 'eve@' is not a valid email address"
        ),
    ):
        subs.import_csv(s, path=bad, now=NOW)
    with session_scope(sqlite_engine) as s:
        assert subs_q.all_subscribers(s) == []  # nothing from the bad file
        report = subs.import_csv(s, path=good, now=NOW)
        assert (report.added, report.skipped) == (3, 0)
        assert subs.import_csv(s, path=good, now=NOW).skipped == 3
    with session_scope(sqlite_engine) as s:
        rows = {r.email: r for r in subs_q.all_subscribers(s)}
        assert rows["ana@example.org"].status == "confirmed"  # an admin's list: confirmed
        assert rows["bob@example.org"].topics == ["social_innovation", "open_collaboration"]
        assert rows["carol@example.org"].status == "unsubscribed"
        out = io.StringIO()
        assert subs.export_csv(s, out) == 3
    exported = tmp_path / "exported.csv"
    exported.write_text(out.getvalue(), encoding="utf-8")
    other = open_store(f"sqlite:///{tmp_path / 'other.db'}")
    with session_scope(other) as s:
        assert subs.import_csv(s, path=exported, now=datetime.now(UTC)).added == 3
    with session_scope(other) as s:
        again = {
            r.email: (r.lang, r.topics, r.status, r.created_at) for r in subs_q.all_subscribers(s)
        }
        assert again == {e: (r.lang, r.topics, r.status, r.created_at) for e, r in rows.items()}
    other.dispose()
    no_header = tmp_path / "plain.csv"
    no_header.write_text("ana@example.org\n", encoding="utf-8")
    with session_scope(sqlite_engine) as s, pytest.raises(subs.SubscriberError, match="'email'"):
        subs.import_csv(s, path=no_header, now=NOW)


@pytest.fixture
def cli_env(settings, monkeypatch: pytest.MonkeyPatch) -> Path:  # noqa: ANN001
    monkeypatch.setenv("VEILLE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("VEILLE_BASE_URL", "https://veille.example.org")
    monkeypatch.setenv("VEILLE_SECRET_KEY", SECRET)
    return settings.data_dir


def test_subscribers_commands(cli_env: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(app, ["subscribers", "add", "Ana@Example.org"])
    assert out.exit_code == 0, out.output
    assert "ana@example.org added (pending): confirmation email sent to" in out.output
    [eml] = (cli_env / "outbox" / "confirm").glob("*.eml")
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert msg["Subject"] == "Confirmez votre abonnement à la veille"
    link = next(
        w
        for w in msg.get_body(("plain",)).get_content().split()
        if w.startswith("https://veille.example.org/subscribe/confirm/")
    )
    engine = open_store(f"sqlite:///{cli_env / 'veille.db'}")
    with session_scope(engine) as s:
        subs.confirm(s, secret=SECRET, token=unquote(link.rsplit("/", 1)[1]), now=NOW)
    out = runner.invoke(
        app,
        [
            "subscribers",
            "add",
            "bob@example.org",
            "--lang",
            "en",
            "--topics",
            "open_collaboration",
            "--confirmed",
        ],
    )
    assert out.output.strip() == "bob@example.org is subscribed (confirmed)"
    listed = runner.invoke(app, ["subscribers", "list", "--status", "confirmed"]).output
    assert "ana@example.org" in listed and "open_collaboration" in listed
    assert "2 subscribers" in listed
    csv_out = runner.invoke(app, ["subscribers", "export"]).stdout
    assert csv_out.splitlines()[0] == ",".join(subs.CSV_FIELDS)
    assert len(csv_out.splitlines()) == 3
    path = tmp_path / "more.csv"
    path.write_text("email\ncarol@example.org\n", encoding="utf-8")
    assert (
        "1 added, 0 already there"
        in runner.invoke(app, ["subscribers", "import", str(path)]).output
    )
    assert runner.invoke(app, ["subscribers", "remove", "carol@example.org"]).exit_code == 0
    with session_scope(engine) as s:
        assert [r.email for r in subs_q.all_subscribers(s)] == [
            "ana@example.org",
            "bob@example.org",
        ]
    engine.dispose()


def test_bad_input_is_one_line(cli_env: Path) -> None:
    def veille(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "veille", *args], capture_output=True, text=True, timeout=60
        )

    bad = veille("subscribers", "add", "ana@")
    assert bad.returncode == 1
    assert bad.stderr.strip() == (
        "veille: error: 'ana@' is not a valid email address: "
        "There must be something after the @-sign."
    )
    missing = CliRunner().invoke(app, ["subscribers", "import", "/nonexistent/list.csv"])
    assert str(missing.exception).startswith("/nonexistent/list.csv: cannot read:")
    assert isinstance(missing.exception, subs.SubscriberError)  # main() prints it on one line
    date = veille("digest", "--date", "2026-13-01", "--dry-run")
    assert (
        date.stderr.strip() == "veille: error: --date '2026-13-01' is not a date such as 2026-11-25"
    )
