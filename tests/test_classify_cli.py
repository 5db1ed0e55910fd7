"""`veille train|classify|evaluate|reclassify|model` through the CLI runner and a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from typer.testing import CliRunner

from tests.classify_data import FIXTURES, records, tiny_result
from veille.classify import load_model, save_and_maybe_promote
from veille.cli import _register, app
from veille.errors import ModelError
from veille.store import Item, Source, open_store, session_scope, utcnow

_register()
runner = CliRunner()


@pytest.fixture
def env(settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:  # noqa: ANN001
    """A models folder holding the tiny model, and a SQLite store, both in tmp_path."""
    models = tmp_path / "models"
    save_and_maybe_promote(tiny_result(), models, datetime(2026, 11, 20, tzinfo=UTC), force=True)
    monkeypatch.setenv("VEILLE_MODELS_DIR", str(models))
    monkeypatch.setenv("VEILLE_DATA_DIR", str(settings.data_dir))
    return models


def store_items(tmp_path: Path, rows: list[dict]) -> Engine:
    """The CLI's SQLite store with one source holding `rows` (Item fields)."""
    engine = open_store(f"sqlite:///{tmp_path / 'data' / 'veille.db'}")
    now = utcnow()
    with session_scope(engine) as s:
        src = Source(name="Ville", url="https://ville.example/feed", created_at=now)
        s.add(src)
        s.flush()
        for row in rows:
            defaults = dict(url=row["guid"], canonical_url=row["guid"], first_seen_at=now)
            s.add(Item(source_id=src.id, updated_at=now, **(defaults | row)))
    return engine


def test_classify_writes_one_line_per_usable_input_line(env: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    result = runner.invoke(
        app, ["classify", "--input", str(FIXTURES / "bad.jsonl"), "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["id"] for line in lines] == ["ok1", "ok2", "7", "nulls"]
    assert lines[3]["labels"] == []  # nothing to read: off-topic
    assert set(lines[0]) == {"id", "labels", "scores", "unsure", "model_version"}
    assert set(lines[0]["scores"]) == {
        "social_innovation",
        "collaborative_consumption",
        "open_collaboration",
    }
    assert "collaborative_consumption" in lines[0]["labels"]  # a repair café
    assert "line 2: not JSON" in result.output and "line 7: missing `text`" in result.output
    assert "classified 4 items with model 20261120-000000" in result.output
    assert "5 unusable lines skipped" in result.output


def test_evaluate_prints_figures_and_json(env: Path) -> None:
    items = str(FIXTURES / "items.jsonl")
    shown = runner.invoke(app, ["evaluate", "--input", items])
    assert shown.exit_code == 0, shown.output
    assert "macro-F1" in shown.output and "off-topic precision" in shown.output
    figures = json.loads(runner.invoke(app, ["evaluate", "--input", items, "--json"]).output)
    assert figures["items"] == len(records()) and figures["model"] == "20261120-000000"
    assert set(figures["topics"]["open_collaboration"]) == {"precision", "recall", "f1", "support"}
    assert 0.8 < figures["macro_f1"] <= 1.0  # on its own training items
    assert 0 <= figures["off_topic"]["precision"] <= 1
    base = json.loads(
        runner.invoke(app, ["evaluate", "--input", items, "--json", "--baseline"]).output
    )
    assert base["model"] == "keywords" and base["macro_f1"] != figures["macro_f1"]


def test_train_history_and_rollback(env: Path, tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    labels.write_text(
        "".join(json.dumps({"id": r["id"], "labels": r["labels"]}) + "\n" for r in records())
    )
    now = utcnow()
    store_items(
        tmp_path,
        [
            dict(
                guid="t040",
                title="Match nul",
                text="Le club a perdu.",
                curator_labels=[],
                reviewed_at=now,
            )
        ],
    ).dispose()
    seed_args = ["train", "--labels", str(labels), "--corpus", str(FIXTURES / "items.jsonl")]
    kept = runner.invoke(app, seed_args)
    assert kept.exit_code == 0, kept.output
    assert f"trained on {len(records())} items" in kept.output
    assert "1 curator-labelled items (1 of them override a seed label)" in kept.output
    assert "5-fold whole-source cross-validation (keyword baseline)" in kept.output
    # Its one curator label is a seed item too: no fresh evidence to compare the models on.
    assert (
        "NOT promoted: too little evidence: 0 judged items that neither model trained on, "
        "30 needed" in kept.output
    )
    assert load_model(env).version == "20261120-000000"
    trained = runner.invoke(app, [*seed_args, "--force"])
    assert "now current: forced" in trained.output and "current 20261120-000000" in trained.output
    new = load_model(env).version
    assert new != "20261120-000000"
    listed = runner.invoke(app, ["model", "history"]).output
    assert new in listed and "20261120-000000" in listed and "previous" in listed
    assert "rejected" in listed and "too little evidence" in listed
    # Each training ran as the scheduler's `retrain` job: its lease, its history rows.
    from veille.store import jobs as store_jobs

    engine = open_store(f"sqlite:///{tmp_path / 'data' / 'veille.db'}")
    with session_scope(engine) as s:
        last = store_jobs.last_runs(s)["retrain"]
        assert last.outcome == "ok" and last.counts["promoted"] == 1
    engine.dispose()
    back = runner.invoke(app, ["model", "rollback"])
    assert back.exit_code == 0 and "model 20261120-000000 is current again" in back.output
    assert load_model(env).version == "20261120-000000"


def test_train_waits_for_the_retrain_running(env: Path, tmp_path: Path) -> None:
    """`veille train` takes the scheduler's retrain lease: held elsewhere (veille serve's
    weekly job, the model page's button), one line, exit 1, and no model trained."""
    from veille.store import jobs as store_jobs

    engine = store_items(tmp_path, [])
    with session_scope(engine) as s:
        assert store_jobs.acquire_lock(
            s, name="retrain", owner="other:1", now=utcnow(), ttl=timedelta(minutes=5)
        )
    done = subprocess.run(
        [sys.executable, "-m", "veille", "train", "--labels", str(tmp_path / "none.jsonl")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "veille: error: another retrain is running (veille serve, veille run or the model "
        "page): try again when it ends; `veille status` shows it"
    )
    assert load_model(env).version == "20261120-000000"  # nothing trained, nothing promoted
    with session_scope(engine) as s:
        assert "retrain" not in store_jobs.last_runs(s)  # a busy lease records no run
    engine.dispose()


def test_reclassify_shows_changes_before_writing(env: Path, tmp_path: Path) -> None:
    now = utcnow()
    titles = [
        ("Repair café et covoiturage", 1),
        ("Le match de football", 2),
        ("OpenStreetMap et données ouvertes", 30),
    ]
    engine = store_items(
        tmp_path,
        [
            dict(guid=f"g{n}", title=title, text=title, first_seen_at=now - timedelta(days=days))
            for n, (title, days) in enumerate(titles)
        ],
    )
    dry = runner.invoke(app, ["reclassify", "--days", "7", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "['collaborative_consumption']" in dry.output and "Repair café" in dry.output
    assert "2 items of the last 7 days, 1 would change topic" in dry.output
    assert "nothing written" in dry.output
    with session_scope(engine) as s:
        assert all(i.model_version is None for i in s.exec(select(Item)))
    done = runner.invoke(app, ["reclassify", "--days", "7"])
    assert "1 changed topic" in done.output
    with session_scope(engine) as s:
        versions = {i.title: i.model_version for i in s.exec(select(Item))}
    engine.dispose()
    assert versions["Repair café et covoiturage"] == "20261120-000000"
    assert versions["OpenStreetMap et données ouvertes"] is None  # 30 days old


def test_user_errors_are_one_line_without_traceback(settings, tmp_path: Path) -> None:  # noqa: ANN001
    def veille(*args: str) -> subprocess.CompletedProcess[str]:
        env = {
            "VEILLE_MODELS_DIR": str(tmp_path / "empty"),
            "VEILLE_DATA_DIR": str(tmp_path),
            "PATH": "/usr/bin:/bin",
        }
        return subprocess.run(
            [sys.executable, "-m", "veille", *args],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            cwd=tmp_path,
        )

    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "registry.json").write_text('{"current": "gone", "versions": []}')
    missing = veille("classify", "--input", str(FIXTURES / "bad.jsonl"), "--output", "-")
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert missing.stderr.strip() == (
        f"veille: error: {tmp_path / 'empty' / 'gone.json'}: no model sidecar; "
        "run `veille train` to build one"
    )
    nofile = veille("evaluate", "--baseline", "--input", str(tmp_path / "nope.jsonl"))
    assert nofile.returncode == 1
    assert nofile.stderr.strip() == (
        f"veille: error: {tmp_path / 'nope.jsonl'}: cannot read (No such file or directory)"
    )
    with pytest.raises(ModelError):
        load_model(tmp_path / "empty")
