"""`veille demo`: the README's first command, end to end with no network."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from veille.cli import _register, app
from veille.demo import expected_topics
from veille.store import Item, Source, open_store, session_scope


def test_demo_pulls_classifies_sends_and_publishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("VEILLE_SMTP_URL", "VEILLE_DATABASE_URL", "VEILLE_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("VEILLE_MODELS_DIR", raising=False)  # the shipped seed model serves
    monkeypatch.chdir(tmp_path)
    _register()
    result = CliRunner().invoke(app, ["demo", "--data-dir", "demo"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "pulled 7 sources: 40 new items (40 article)" in out
    data = tmp_path / "demo"
    assert f"archive: {data / 'digests' / 'index.html'}" in out

    mails = sorted((data / "outbox").rglob("*.eml"))
    assert len(mails) == 2 and all(str(m) in out for m in mails), out
    parsed = [email.message_from_bytes(m.read_bytes(), policy=policy.default) for m in mails]
    subjects = sorted(m["Subject"] for m in parsed)
    assert any(s.startswith("Veille du") for s in subjects), subjects
    assert all(m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" for m in parsed)
    assert (data / "digests" / "index.html").is_file()
    assert len(list((data / "digests" / "feeds").glob("*.atom"))) == 5

    # The committed seed model files the demo's articles as they were written.
    expected = expected_topics()
    engine = open_store(f"sqlite:///{data / 'veille.db'}")
    with session_scope(engine) as s:
        rows = s.exec(select(Item.url, Item.labels, Item.story_id)).all()
        assert s.exec(select(Source)).all()
    engine.dispose()
    exact = off_in = 0
    for url, labels, _ in rows:
        want = set(expected["/" + url.split("/", 3)[3]])
        exact += want == set(labels)
        off_in += not want and bool(labels)
    assert exact >= 32, f"{exact}/40 items filed as written"
    assert off_in <= 1  # off-topic news stays out of the digest
    assert len({story for *_, story in rows}) <= 38  # syndicated copies share a story
