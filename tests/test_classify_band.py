"""The unsure band (band.py) and whole-source cross-validation as the figure `train` keeps."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from tests.classify_data import tiny_examples, tiny_result
from veille.classify import band, load_model, save_and_maybe_promote, train
from veille.types import TOPICS, Example

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _scores(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Half the items off-topic; a topic's items score about 0.7, others about 0.3, so items
    near the 0.5 threshold are often wrong."""
    rng = np.random.default_rng(seed)
    truth = (rng.random((n, len(TOPICS))) < 0.25) & (rng.random((n, 1)) < 0.5)
    scores = np.clip(rng.normal(np.where(truth, 0.7, 0.3), 0.1), 0, 1)
    return truth.astype(np.int8), scores, dict.fromkeys(TOPICS, 0.5)


def test_the_band_holds_the_stray_entries_first_and_few_items() -> None:
    truth, scores, thresholds = _scores()
    before = band.figures(truth, scores, thresholds, band.around(thresholds, 0.0))
    chosen = band.choose(truth, scores, thresholds, precision=0.95, max_held=0.3)
    after = band.figures(truth, scores, thresholds, chosen)
    assert before["held_share"] == 0 and before["unreviewed_precision"] < 0.95
    assert after["unreviewed_precision"] >= 0.95 and after["held_share"] <= 0.3
    for t in TOPICS:
        low, high = chosen[t]
        assert low <= thresholds[t] <= high
    # asymmetric: the side above the threshold does the work for precision
    assert sum(h - thresholds[t] for t, (_, h) in chosen.items()) > sum(
        thresholds[t] - lo for t, (lo, _) in chosen.items()
    )


def test_the_band_stops_at_the_share_it_may_hold() -> None:
    truth, scores, thresholds = _scores(seed=1)
    chosen = band.choose(truth, scores, thresholds, precision=0.999, max_held=0.1)
    assert band.figures(truth, scores, thresholds, chosen)["held_share"] <= 0.1 + 0.01
    # By default it may hold MAX_HELD, and does when precision asks for more.
    by_default = band.choose(truth, scores, thresholds, precision=0.999)
    held = band.figures(truth, scores, thresholds, by_default)["held_share"]
    assert band.MAX_HELD - 0.03 <= held <= band.MAX_HELD + 0.01


def test_train_chooses_on_whole_sources_and_reports_both_figures() -> None:
    result = tiny_result()
    cv, same = result.metrics["cv"], result.metrics["same_source"]
    assert cv["scheme"] == "whole_source" and same["scheme"] == "stratified"
    for figures in (cv, same):
        assert 0 <= figures["macro_f1"] <= 1 and 0 <= figures["in_scope_precision"] <= 1
    assert set(cv["band"]) >= {"unreviewed_precision", "held_share", "unreviewed_recall"}
    assert set(result.model.band) == set(TOPICS)
    # The budget leaves room for the digest policy's source-trust holds.
    assert cv["band"]["held_share"] <= band.MAX_HELD + 0.05 and band.MAX_HELD == 0.1


def test_few_sources_fall_back_to_stratified_folds() -> None:
    """Curators' labels of one or two feeds: whole-source folds cannot be made."""
    examples = [
        Example(e.key, e.doc, e.labels, "one-feed" if i % 2 else "other", e.url)
        for i, e in enumerate(tiny_examples())
    ]
    result = train(examples, folds=3)
    assert result.metrics["cv"]["scheme"] == "stratified"
    assert "same_source" not in result.metrics


def test_predictions_flag_the_band_stored_in_the_sidecar(tmp_path: Path) -> None:
    version = save_and_maybe_promote(tiny_result(), tmp_path, T0, force=True).version
    model = load_model(tmp_path)
    assert model.sidecar["band"] == tiny_result().model.band
    # an older sidecar without a band: threshold ± unsure_band
    path = tmp_path / f"{version}.json"
    sidecar = json.loads(path.read_text())
    del sidecar["band"]
    path.write_text(json.dumps(sidecar))
    old = load_model(tmp_path)
    width = old.unsure_band
    assert old.sidecar["band"] == {t: [c - width, c + width] for t, c in old.thresholds.items()}
    docs = [e.doc for e in tiny_examples()]
    raw = old.scores(docs)
    for row, p in zip(raw, old.predict(docs), strict=True):
        low_high = old.sidecar["band"]
        expected = tuple(
            t for t, s in zip(TOPICS, row, strict=True) if low_high[t][0] <= s < low_high[t][1]
        )
        assert p.unsure == expected
