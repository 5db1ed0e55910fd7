"""Bad input to the learning loop: a damaged or foreign model file, a model from another
version, labels naming an unknown topic, an empty training set, seed vectors of another
model, a curator judging one item twice at once. Each gives one clear line or a defined
result, and a model keeps serving."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from tests.classify_data import tiny_examples, tiny_result
from veille.classify import artefacts, load_model, save_and_maybe_promote, seedvectors
from veille.classify import examples as seed_files
from veille.errors import ModelError, VeilleError
from veille.pipeline import load_classifier
from veille.pipeline.retrain import load_seed, retrain, retrain_job
from veille.scheduler.runner import JobRunner
from veille.store import Item, JobRun, Review, Source, session_scope
from veille.store.labels import judged_examples
from veille.store.reviews import apply_action

T0 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
SEED = json.loads((artefacts.SEED_DIR / "registry.json").read_text())["current"]


def _trained(models: Path) -> str:
    return save_and_maybe_promote(tiny_result(), models, T0, force=True).version


def test_a_damaged_current_model_is_one_line_and_the_shipped_seed_serves(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    version = _trained(tmp_path)
    npz = tmp_path / f"{version}.npz"
    npz.write_bytes(npz.read_bytes()[:-50] + b"\0" * 50)
    with pytest.raises(ModelError, match=rf"{version}.npz: checksum differs .*veille train"):
        load_model(tmp_path)
    with caplog.at_level(logging.WARNING):
        assert load_classifier(tmp_path).version == SEED  # the pull still files items
    (warning,) = [r for r in caplog.records if "shipped seed model serves" in r.getMessage()]
    assert "checksum differs" in warning.error  # type: ignore[attr-defined]


def test_a_foreign_registry_or_a_model_of_another_version_is_refused(tmp_path: Path) -> None:
    version = _trained(tmp_path)
    sidecar_path = tmp_path / f"{version}.json"
    sidecar = json.loads(sidecar_path.read_text())
    sidecar_path.write_text(json.dumps(sidecar | {"format": "veille-model/0"}))
    with pytest.raises(ModelError) as found:
        load_model(tmp_path)
    assert str(found.value) == (
        f"{sidecar_path}: not a veille-model/1 sidecar (written by another version of veille, "
        "or not by veille); run `veille train` to build one"
    )
    assert artefacts.load_serving(tmp_path).version == SEED
    (tmp_path / "registry.json").write_text('["not", "a", "registry"]')
    with pytest.raises(ModelError, match="registry.json: not a veille model registry"):
        load_model(tmp_path)
    assert artefacts.load_serving(tmp_path).version == SEED


def _source(engine: Engine) -> int:
    with session_scope(engine) as s:
        src = Source(name="Ville", url="https://ville.example/feed", created_at=T0)
        s.add(src)
        s.flush()
        return int(src.id)


def _item(engine: Engine, source_id: int, guid: str, **fields: object) -> int:
    with session_scope(engine) as s:
        item = Item(
            source_id=source_id,
            guid=guid,
            url=f"https://ville.example/{guid}",
            canonical_url=f"https://ville.example/{guid}",
            title="Un café réparation ouvre",
            text="Des bénévoles réparent les objets du quartier.",
            first_seen_at=T0,
            updated_at=T0,
            **fields,
        )
        s.add(item)
        s.flush()
        return int(item.id)


def test_a_label_naming_no_topic_is_dropped_with_a_warning_naming_the_item(
    sqlite_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    src = _source(sqlite_engine)
    item_id = _item(
        sqlite_engine,
        src,
        "g1",
        curator_labels=["gardening", "collaborative_consumption"],
        reviewed_at=T0,
    )
    with caplog.at_level(logging.WARNING), session_scope(sqlite_engine) as s:
        ((example, when),) = judged_examples(s)
    assert example.labels == ("collaborative_consumption",) and when is not None
    (warning,) = [r for r in caplog.records if "names no topic" in r.getMessage()]
    assert warning.item == item_id and warning.labels == ["gardening"]  # type: ignore[attr-defined]


@pytest.fixture
def seed_without_vectors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    seed = tmp_path / "seed"
    _trained(seed)
    monkeypatch.setattr(artefacts, "SEED_DIR", seed)
    monkeypatch.setattr(seed_files, "SEED_LABELS", tmp_path / "absent" / "train.jsonl")
    return seed


def test_an_empty_training_set_is_one_line_and_the_current_model_keeps_serving(
    sqlite_engine: Engine, seed_without_vectors: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    with pytest.raises(VeilleError, match=r"^not enough labelled items to train \(0 in all"):
        retrain(sqlite_engine, models, T0)
    assert load_model(models).version == load_model(seed_without_vectors).version
    # As the weekly job: recorded as failed with that line, nothing written.
    outcome = JobRunner(sqlite_engine).run("retrain", retrain_job(sqlite_engine, models))
    assert outcome == "failed"
    with session_scope(sqlite_engine) as s:
        run = s.exec(select(JobRun).where(JobRun.job == "retrain")).one()
    assert run.error and "not enough labelled items to train (0 in all" in run.error
    assert not models.exists() or not list(models.glob("*.npz"))


def test_seed_vectors_of_another_seed_model_are_set_aside_with_a_warning(
    seed_without_vectors: Path, caplog: pytest.LogCaptureFixture
) -> None:
    other = tiny_result().model
    other.version = "an-older-seed"
    seedvectors.export(other, list(tiny_examples()), seed_without_vectors / seedvectors.FILE)
    with caplog.at_level(logging.WARNING):
        seed = load_seed(None, None)
    assert seed.vectors is None and not seed.examples  # curators' labels alone, then
    (warning,) = [r for r in caplog.records if "seed vectors unusable" in r.getMessage()]
    assert "made with seed model an-older-seed" in warning.error  # type: ignore[attr-defined]


def test_one_item_judged_twice_at_once_keeps_one_whole_judgement_and_both_in_history(
    engine: Engine,
) -> None:
    item_id = _item(engine, _source(engine), "twice")
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def judge(action: str, topic: str | None, user: str) -> None:
        try:
            start.wait(timeout=10)
            with session_scope(engine) as s:
                apply_action(
                    s,
                    item_id=item_id,
                    action=action,
                    topic=topic,
                    user=user,
                    now=T0 + timedelta(hours=1),
                )
        except BaseException as exc:  # reported below: the test must see it
            errors.append(exc)

    threads = [
        threading.Thread(target=judge, args=("offtopic", None, "marie")),
        threading.Thread(target=judge, args=("toggle", "open_collaboration", "paul")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    with session_scope(engine) as s:
        item = s.get(Item, item_id)
        assert item is not None
        # The last write wins whole: one curator's judgement, never a mix or an error.
        assert item.curator_labels in ([], ["open_collaboration"])
        assert item.reviewed_by in ("marie", "paul") and item.reviewed_at is not None
        reviews = s.exec(select(Review).where(Review.item_id == item_id)).all()
        assert sorted(r.user for r in reviews) == ["marie", "paul"]
        ((example, _),) = judged_examples(s)
    assert list(example.labels) == item.curator_labels
