"""The digest-policy and learning-curve benchmarks run end to end on small synthetic data.

The real runs read ../shared and take minutes (`python -m bench.policy`, `python -m
bench.learning`); these check in seconds that they compute, print and plot what they claim.
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bench import learning, policy
from tests.classify_data import tiny_examples
from veille.classify.train import train
from veille.types import TOPICS, Doc, Example

WORDS = {
    "social_innovation": "insertion solidaire coopérative habitants économie sociale entraide",
    "collaborative_consumption": "covoiturage partage réemploi repair café prêt outils troc",
    "open_collaboration": "logiciel libre données ouvertes wiki contributeurs openstreetmap",
    "": "football météo bourse cambriolage élection match orage",
}


def synthetic(sources: int = 6, per_source: int = 90, seed: int = 0) -> list[Example]:
    """Items whose words say their topics, each source with its own mix and filler."""
    rng = random.Random(seed)
    out = []
    for s in range(sources):
        mix = ["", TOPICS[s % 3], TOPICS[(s + 1) % 3]]
        for n in range(per_source):
            labels = tuple(sorted({t for t in rng.sample(mix, 2) if t}))
            words = " ".join(w for t in labels or ("",) for w in rng.sample(WORDS[t].split(), 3))
            filler = " ".join(f"mot{s}x{rng.randint(0, 40)}" for _ in range(12))
            doc = Doc(f"{words.split()[0]} {s}", f"{words} {filler}", lang="fr")
            out.append(Example(f"s{s}-{n}", doc, labels, f"source-{s}"))
    return out


def test_policy_figures_count_what_goes_out_and_what_waits() -> None:
    truth = np.asarray([[1, 0, 0], [0, 0, 0], [0, 1, 0], [1, 0, 0]], dtype=np.int8)
    predicted = np.asarray([[1, 0, 0], [1, 0, 0], [0, 1, 1], [0, 0, 0]], dtype=np.int8)
    held = np.asarray([False, False, True, False])
    f = policy.figures(truth, predicted, held)
    assert f["sent"] == 0.5 and f["held"] == 0.25
    assert f["entry_precision"] == 0.5  # one of the two sent entries is off-topic
    assert f["topic_precision"] == 0.5
    assert f["recall_unreviewed"] == pytest.approx(1 / 3)
    assert f["recall_reviewed"] == pytest.approx(2 / 3)  # the held item's topic, once judged


def test_policy_rows_use_the_models_own_band() -> None:
    # The function, not the package attribute: importing the bench binds that to the module.
    trained = train(list(tiny_examples()), folds=3).model
    # A band of 0.1 above each threshold (a tiny model's own band may be empty).
    model = replace(trained, band={t: [c, c + 0.1] for t, c in trained.thresholds.items()})
    at = [model.thresholds[t] for t in TOPICS]
    # At every threshold (inside the band), certain in, certain out.
    scores = np.asarray([at, [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    truth = np.asarray([[1, 0, 0], [1, 1, 1], [0, 0, 0]], dtype=np.int8)
    rows = dict(policy.evaluate(model, truth, scores))
    send = rows["send (the classifier's call)"]
    held = next(v for k, v in rows.items() if k.startswith("hold, the model's band"))
    assert (send["held"], send["sent"]) == (0.0, pytest.approx(2 / 3))
    assert held["held"] == pytest.approx(1 / 3) and held["sent"] == pytest.approx(1 / 3)
    assert held["entry_precision"] == 1.0 and send["topic_precision"] == pytest.approx(4 / 6)
    assert "entry P" in policy.table(list(rows.items()))


def test_learning_curve_runs_prints_and_plots(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    out = tmp_path / "curve.png"
    found = learning.run(synthetic(), sources=2, steps=(10, 20, 40), out=out, full_refit=True)
    printed = capsys.readouterr().out
    assert "held-out sources (2)" in printed and "random mean" in printed
    assert len(found["queue"]) == 3 and len(found["random"]) == len(learning.RANDOM_SEEDS)
    assert all(0.0 <= v <= 1.0 for v in found["queue"])
    assert found["new_sources"] and "mean gain" in printed
    assert out.read_bytes().startswith(b"\x89PNG")


def test_source_trust_counts_judged_items_with_one_pseudo_item_each_way() -> None:
    truth = np.array([[1, 0, 0], [0, 0, 0], [0, 0, 0], [0, 1, 0]])
    said = np.array([[1, 0, 0], [1, 0, 0], [0, 0, 0], [0, 0, 0]])
    assert policy.trust_of(truth, said, "on_topic") == (2 + 1) / (4 + 2)
    assert policy.trust_of(truth, said, "precision") == (1 + 1) / (2 + 2)


def test_per_source_policies_hold_the_off_topic_sources_filed_items() -> None:
    """Sources that are all off-topic, scored like on-topic ones: the trust rule holds what the
    model files from them, so what goes out unreviewed is more precise on the judged half."""
    rng = np.random.default_rng(0)
    sources, truth, decisions = [], [], []
    for s in range(12):
        noisy = s % 3 == 0
        for _ in range(60):
            t = np.zeros(3, np.int8) if noisy else (rng.random(3) < 0.4).astype(np.int8)
            d = rng.normal(0.5 if noisy else -1.0, 0.7, 3) + (2.0 * t if not noisy else 0)
            sources.append(f"s{s}")
            truth.append(t)
            decisions.append(d)
    sim = policy.SourceSim(sources, np.array(truth), np.array(decisions))
    assert all(len(sim.judged[s]) == policy.JUDGED_FIRST for s in sim.sources)
    rows = sim.figures_on(sim.sources, sim.sources)
    by_name = {p.name: b for p, _, b in rows}
    plain = by_name["no band"]
    trusted = by_name["no band, on_topic < 0.3 waits"]
    assert trusted["precision"] > plain["precision"] + 0.1
    assert trusted["held"] > plain["held"] == 0.0
    text = policy.source_policies(sources, np.array(truth), np.array(decisions))
    assert "band + offset + trust" in text and "chosen on half the sources" in text
