"""Models on disk: save, checked load, promotion, history, rollback, the model card."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import skops.io
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from tests.classify_data import tiny_examples, tiny_result
from veille.classify import artefacts, history, load_model, rollback, save_and_maybe_promote
from veille.classify.artefacts import add_linear
from veille.classify.promotion import MIN_EVIDENCE, Evidence
from veille.classify.train import TrainResult
from veille.errors import ModelError, VeilleError

T0 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def scored(macro_f1: float) -> TrainResult:
    """The tiny model with its recorded cross-validated macro-F1 set to `macro_f1`."""
    result = tiny_result()
    figures = copy.deepcopy(result.metrics)
    figures["cv"]["macro_f1"] = macro_f1
    return dataclasses.replace(result, metrics=figures)


def saved(result: TrainResult, models: Path, when: datetime = T0):  # noqa: ANN201
    """Saved and made current whatever serves (here: the shipped seed model)."""
    return save_and_maybe_promote(result, models, when, force=True)


def test_save_then_load_gives_the_same_predictions(tmp_path: Path) -> None:
    decision = saved(tiny_result(), tmp_path)
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
    npz_file = tmp_path / sidecar["linear_file"]
    assert hashlib.sha256(npz_file.read_bytes()).hexdigest() == sidecar["linear_sha256"]


def test_a_loaded_model_scores_without_scikit_learn_bit_for_bit(tmp_path: Path) -> None:
    """Scoring reads the .npz only: a pull never imports scikit-learn or skops."""
    saved(tiny_result(), tmp_path)
    docs = [e.doc for e in tiny_examples()]
    script = (
        "import json, sys; from pathlib import Path\n"
        "from veille.classify import load_model\n"
        "from veille.types import Doc\n"
        f"model = load_model(Path({str(tmp_path)!r}))\n"
        "docs = [Doc(*d) for d in json.loads(sys.stdin.read())]\n"
        "scores = model.scores(docs).tolist()\n"
        "explained = model.explain(docs[0], 'collaborative_consumption')\n"
        "offset = model.source_offset(docs[:3], [['open_collaboration']] * 3)\n"
        "model.predict(docs, offset)\n"
        "heavy = sorted({'sklearn', 'skops'} & set(sys.modules))\n"
        "print(json.dumps([scores, bool(explained), heavy]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps([[d.title, d.text] for d in docs]),
        capture_output=True,
        text=True,
        check=True,
    )
    scores, explained, imported = json.loads(out.stdout)
    model = load_model(tmp_path)
    raw = model.pipeline.decision_function(docs)  # now the pipeline is read, for comparison
    assert np.array_equal(np.asarray(scores), model.calibration.apply(raw))
    assert explained and imported == []


def test_a_model_saved_before_npz_files_gets_its_linear_form(tmp_path: Path) -> None:
    version = saved(tiny_result(), tmp_path).version
    sidecar_path = tmp_path / f"{version}.json"
    sidecar = json.loads(sidecar_path.read_text())
    del sidecar["linear_file"], sidecar["linear_sha256"]
    sidecar_path.write_text(json.dumps(sidecar))
    (tmp_path / f"{version}.npz").unlink()
    docs = [e.doc for e in tiny_examples()]
    before = load_model(tmp_path).scores(docs)  # scored from the .skops file
    assert add_linear(tmp_path, version) and not add_linear(tmp_path, version)
    assert np.array_equal(load_model(tmp_path).scores(docs), before)


def test_an_empty_models_folder_serves_the_shipped_seed_model(tmp_path: Path) -> None:
    seed = json.loads((artefacts.SEED_DIR / "registry.json").read_text())["current"]
    assert load_model(tmp_path / "not-yet").version == seed
    assert artefacts.is_seed(tmp_path) and not (tmp_path / "not-yet").exists()


def test_missing_models_name_the_file_and_say_how_to_retrain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(artefacts, "SEED_DIR", tmp_path / "no-seed")
    with pytest.raises(ModelError, match=r"registry.json: no current model; run `veille train`"):
        load_model(tmp_path)
    (tmp_path / "registry.json").write_text("{not json")
    with pytest.raises(
        ModelError, match=r"registry.json: unreadable model registry .*veille train"
    ):
        load_model(tmp_path)


def test_a_damaged_or_foreign_model_file_is_refused(tmp_path: Path) -> None:
    version = saved(tiny_result(), tmp_path).version
    path = tmp_path / f"{version}.skops"
    good = path.read_bytes()
    path.write_bytes(good[:-100] + b"x" * 100)
    with pytest.raises(ModelError, match=rf"{version}.skops: checksum differs .*veille train"):
        load_model(tmp_path)
    # A file whose checksum matches (someone edited the sidecar too) but holds code veille never
    # writes: skops lists the unknown function and the loader refuses it when the pipeline is
    # read (scoring does not read it).
    skops.io.dump(Pipeline([("f", FunctionTransformer(print))]), path)
    sidecar_path = tmp_path / f"{version}.json"
    sidecar = json.loads(sidecar_path.read_text())
    sidecar["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    sidecar_path.write_text(json.dumps(sidecar))
    with pytest.raises(ModelError, match="contains types veille never writes"):
        _ = load_model(tmp_path).pipeline
    # The linear form: damaged, then a pickle in a file whose checksum was made to match.
    npz = tmp_path / f"{version}.npz"
    npz.write_bytes(npz.read_bytes()[:-10])
    with pytest.raises(ModelError, match=rf"{version}.npz: checksum differs"):
        load_model(tmp_path)
    np.savez(npz, words=np.asarray([object()], dtype=object))
    sidecar["linear_sha256"] = hashlib.sha256(npz.read_bytes()).hexdigest()
    sidecar_path.write_text(json.dumps(sidecar))
    with pytest.raises(ModelError, match=rf"{version}: cannot be loaded .*veille train"):
        load_model(tmp_path)
    path.unlink()
    with pytest.raises(ModelError, match=rf"{version}.skops: model file missing"):
        load_model(tmp_path)
    sidecar_path.write_text("[]")
    with pytest.raises(ModelError, match=rf"{version}.json: not a veille model sidecar"):
        load_model(tmp_path)


def test_promotion_compares_both_models_on_the_same_fresh_evidence(tmp_path: Path) -> None:
    seed = load_model(tmp_path).version  # the shipped seed serves an empty folder
    # Too little evidence: recorded, not promoted, whatever its cross-validated figure.
    few = save_and_maybe_promote(scored(0.99), tmp_path, T0, evidence=Evidence(12, 0.9, 0.5))
    assert not few.promoted and few.code == "too_little_evidence"
    assert f"12 judged items that neither model trained on, {MIN_EVIDENCE} needed" in few.reason
    assert load_model(tmp_path).version == seed
    first = save_and_maybe_promote(
        scored(0.60), tmp_path, T0 + timedelta(hours=1), evidence=Evidence(40, 0.80, 0.70)
    )
    assert first.promoted and first.code == "better" and first.current_version == seed
    slightly_worse = save_and_maybe_promote(
        scored(0.9), tmp_path, T0 + timedelta(days=1), evidence=Evidence(40, 0.795, 0.80)
    )
    assert slightly_worse.promoted  # within the tolerance
    worse = save_and_maybe_promote(
        scored(0.95), tmp_path, T0 + timedelta(days=2), evidence=Evidence(40, 0.70, 0.795)
    )
    assert not worse.promoted and worse.code == "worse" and "below" in worse.reason
    assert not (tmp_path / f"{worse.version}.skops").exists()  # figures kept, model not
    assert not (tmp_path / f"{worse.version}.npz").exists()
    assert load_model(tmp_path).version == slightly_worse.version
    forced = save_and_maybe_promote(scored(0.70), tmp_path, T0 + timedelta(days=3), force=True)
    assert forced.promoted and forced.reason == "forced"
    rows = history(tmp_path)
    assert [r["version"] for r in rows] == [
        forced.version,
        worse.version,
        slightly_worse.version,
        first.version,
        few.version,
    ]
    assert [r["status"] for r in rows] == [
        "current",
        "rejected",
        "previous",
        "previous",
        "rejected",
    ]
    assert rows[1]["evidence"] == {"items": 40, "candidate": 0.70, "current": 0.795}
    assert rows[1]["compared_with"]["version"] == slightly_worse.version


def test_rollback_restores_the_previous_model_its_card_then_the_seed(tmp_path: Path) -> None:
    first = saved(scored(0.80), tmp_path)
    second = saved(scored(0.81), tmp_path, T0 + timedelta(days=1))
    assert "0.810" in (tmp_path / "MODEL_CARD.md").read_text()
    assert rollback(tmp_path) == first.version
    assert load_model(tmp_path).version == first.version
    card = (tmp_path / "MODEL_CARD.md").read_text()
    assert first.version in card and "0.800" in card
    assert [r["status"] for r in history(tmp_path)] == ["rolled_back", "current"]
    seed = json.loads((artefacts.SEED_DIR / "registry.json").read_text())["current"]
    assert rollback(tmp_path) == seed  # past the first trained version: the shipped seed
    assert load_model(tmp_path).version == seed and artefacts.is_seed(tmp_path)
    with pytest.raises(VeilleError, match="no earlier model to roll back to"):
        rollback(tmp_path)
    assert second.version != first.version


def test_the_model_card_has_figures_baseline_and_plots(tmp_path: Path) -> None:
    saved(tiny_result(), tmp_path)
    card = (tmp_path / "MODEL_CARD.md").read_text()
    cv, base = tiny_result().metrics["cv"], tiny_result().metrics["baseline"]
    assert f"**{cv['macro_f1']:.3f}** ({base['macro_f1']:.3f})" in card
    assert "](pr_curves.png)" in card and "](confusion.png)" in card
    for png in ("pr_curves.png", "confusion.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
