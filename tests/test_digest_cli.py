"""`veille digest` and `veille publish` through the CLI runner, with the outbox as the mail."""

from __future__ import annotations

import email
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.fixtures.digest.seed import seed_items, seed_subscribers
from veille.cli import _register, app
from veille.digest import issue as issues
from veille.store import open_store, utcnow

_register()


@pytest.fixture
def data(settings, monkeypatch: pytest.MonkeyPatch) -> Path:  # noqa: ANN001
    monkeypatch.setenv("VEILLE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("VEILLE_BASE_URL", "https://veille.example.org")
    monkeypatch.setenv("VEILLE_DIGEST_CAP", "2")
    return settings.data_dir


def test_dry_run_then_send_to_the_outbox_then_publish(data: Path) -> None:
    engine = open_store(f"sqlite:///{data / 'veille.db'}")
    now = utcnow() - timedelta(minutes=1)
    seed_items(engine, now)
    seed_subscribers(engine, now, 2)
    seed_subscribers(engine, now, 1, lang="en", topics=["open_collaboration"], prefix="en")
    runner = CliRunner()
    dry = runner.invoke(app, ["digest", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "(not saved yet): 10 stories" in dry.output
    assert "would go to 3 of 3 confirmed subscribers (1 en, 2 fr)" in dry.output
    assert "… 2 more on the web" in dry.output  # collaborative consumption: 4, cap 2
    previews = sorted(p.name for p in (data / "outbox" / "preview").iterdir())
    assert len(previews) == 4 and previews[0].endswith(".en.html")
    assert not (data / "digests").exists()  # a dry run saves and writes nothing else

    sent = runner.invoke(app, ["digest", "--send"])
    assert sent.exit_code == 0, sent.output
    assert "10 stories" in sent.output and "delivered 3 messages to the outbox" in sent.output
    mails = sorted((data / "outbox").glob("20*/*.eml"))
    assert len(mails) == 3
    first = email.message_from_bytes(mails[0].read_bytes(), policy=policy.default)
    html = first.get_body(("html",)).get_content()
    assert "2 autres sur le web" in html and first["Subject"].endswith(": 10 articles")
    assert (data / "digests" / "index.html").exists()
    again = runner.invoke(app, ["digest", "--send"])
    assert "delivered 0 messages" in again.output and "3 sent before" in again.output
    assert len(sorted((data / "outbox").glob("20*/*.eml"))) == 3

    (data / "digests" / "index.html").unlink()
    published = runner.invoke(app, ["publish"])
    assert published.exit_code == 0, published.output
    assert "1 issues" in published.output and "1 files written" in published.output
    engine.dispose()


def test_a_day_with_nothing_new_sends_nothing(data: Path, settings) -> None:  # noqa: ANN001
    engine = open_store(f"sqlite:///{data / 'veille.db'}")
    seed_items(engine, utcnow(), only={"offtopic"})
    seed_subscribers(engine, utcnow(), 1)
    out = CliRunner().invoke(app, ["digest", "--send"])
    assert out.exit_code == 0 and "nothing new since the last issue" in out.output
    assert not (data / "outbox").exists()
    done = issues.run(engine, settings=settings, now=utcnow())
    assert done.issue is None and done.figures() == {"stories": 0}
    engine.dispose()
