"""Models on disk: save, checked load, promotion, history, rollback, the model card."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import skops.io
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from tests.classify_data import tiny_examples, tiny_result
from veille.classify import history, load_model, rollback, save_and_maybe_promote
from veille.classify.train import TrainResult
from veille.errors import ModelError, VeilleError

T0 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def scored(macro_f1: float) -> TrainResult:
    """The tiny model with its recorded cross-validated macro-F1 set to `macro_f1`."""
    result = tiny_result()
    figures = copy.deepcopy(result.metrics)
    figures["cv"]["macro_f1"] = macro_f1
    return dataclasses.replace(result, metrics=figures)


def test_save_then_load_gives_the_same_predictions(tmp_path: Path) -> None:
    decision = save_and_maybe_promote(tiny_result(), tmp_path, T0)
    assert decision.promoted and decision.version == "20261120-060000"
    model = load_model(tmp_path)
    assert model.version == decision.version
    assert model.thresholds == tiny_result().model.thresholds
    docs = [e.doc for e in tiny_examples()]
    assert [p.scores for p in model.predict(docs)] == [
        p.scores for p in tiny_result().model.predict(docs)
    ]
    sidecar = json.loads((tmp_path / f"{decision.version}.json").read_text())
    assert sidecar["labels"] == [
        "social_innovation",
        "collaborative_consumption",
        "open_collaboration",
    ]
    assert sidecar["sizes"]["total"] == len(tiny_examples())
    assert len(sidecar["data_hash"]) == 64 and sidecar["libraries"]["scikit-learn"]
    assert set(sidecar["metrics"]) >= {"cv", "baseline"}
    skops_file = tmp_path / sidecar["model_file"]
    assert hashlib.sha256(skops_file.read_bytes()).hexdigest() == sidecar["sha256"]


def test_missing_models_name_the_file_and_say_how_to_retrain(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"registry.json: no current model; run `veille train`"):
        load_model(tmp_path)
    (tmp_path / "registry.json").write_text("{not json")
    with pytest.raises(
        ModelError, match=r"registry.json: unreadable model registry .*veille train"
    ):
        load_model(tmp_path)


def test_a_damaged_or_foreign_model_file_is_refused(tmp_path: Path) -> None:
    version = save_and_maybe_promote(tiny_result(), tmp_path, T0).version
    path = tmp_path / f"{version}.skops"
    good = path.read_bytes()
    path.write_bytes(good[:-100] + b"x" * 100)
    with pytest.raises(ModelError, match=rf"{version}.skops: checksum differs .*veille train"):
        load_model(tmp_path)
    # A file whose checksum matches (someone edited the sidecar too) but holds code veille never
    # writes: skops lists the unknown function and the loader refuses it.
    skops.io.dump(Pipeline([("f", FunctionTransformer(print))]), path)
    sidecar_path = tmp_path / f"{version}.json"
    sidecar = json.loads(sidecar_path.read_text())
    sidecar["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    sidecar_path.write_text(json.dumps(sidecar))
    with pytest.raises(ModelError, match="contains types veille never writes"):
        load_model(tmp_path)
    path.unlink()
    with pytest.raises(ModelError, match=rf"{version}.skops: model file missing"):
        load_model(tmp_path)
    sidecar_path.write_text("[]")
    with pytest.raises(ModelError, match=rf"{version}.json: not a veille model sidecar"):
        load_model(tmp_path)


def test_promotion_keeps_the_better_model_and_history_records_both_figures(
    tmp_path: Path,
) -> None:
    first = save_and_maybe_promote(scored(0.80), tmp_path, T0)
    slightly_worse = save_and_maybe_promote(scored(0.795), tmp_path, T0 + timedelta(days=1))
    assert slightly_worse.promoted and slightly_worse.current_macro_f1 == 0.80
    worse = save_and_maybe_promote(scored(0.77), tmp_path, T0 + timedelta(days=2))
    assert not worse.promoted
    assert (worse.macro_f1, worse.current_macro_f1) == (0.77, 0.795)
    assert "below" in worse.reason
    assert not (tmp_path / f"{worse.version}.skops").exists()  # figures kept, model not
    assert load_model(tmp_path).version == slightly_worse.version
    forced = save_and_maybe_promote(scored(0.70), tmp_path, T0 + timedelta(days=3), force=True)
    assert forced.promoted and forced.reason == "forced"
    rows = history(tmp_path)
    assert [r["version"] for r in rows] == [
        forced.version,
        worse.version,
        slightly_worse.version,
        first.version,
    ]
    assert [r["status"] for r in rows] == ["current", "rejected", "previous", "previous"]
    assert rows[1]["compared_with"] == {"version": slightly_worse.version, "macro_f1": 0.795}


def test_rollback_restores_the_previous_model_and_its_card(tmp_path: Path) -> None:
    first = save_and_maybe_promote(scored(0.80), tmp_path, T0)
    second = save_and_maybe_promote(scored(0.81), tmp_path, T0 + timedelta(days=1))
    assert "0.810" in (tmp_path / "MODEL_CARD.md").read_text()
    assert rollback(tmp_path) == first.version
    assert load_model(tmp_path).version == first.version
    card = (tmp_path / "MODEL_CARD.md").read_text()
    assert first.version in card and "0.800" in card
    assert [r["status"] for r in history(tmp_path)] == ["rolled_back", "current"]
    with pytest.raises(VeilleError, match="no earlier model to roll back to"):
        rollback(tmp_path)
    assert second.version != first.version


def test_the_model_card_has_figures_baseline_and_plots(tmp_path: Path) -> None:
    save_and_maybe_promote(tiny_result(), tmp_path, T0)
    card = (tmp_path / "MODEL_CARD.md").read_text()
    cv, base = tiny_result().metrics["cv"], tiny_result().metrics["baseline"]
    assert f"**{cv['macro_f1']:.3f}** ({base['macro_f1']:.3f})" in card
    assert "](pr_curves.png)" in card and "](confusion.png)" in card
    for png in ("pr_curves.png", "confusion.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
