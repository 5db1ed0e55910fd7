"""What the digest policy `hold` buys subscribers, on sources the model never saw.

Scores: whole-source cross-validation of the seed labels (every fold leaves whole sources
out, `cross_validated_decisions(by_source=True)`), Platt-calibrated like `veille train` does.
Thresholds and the unsure band: the current model's (its sidecar, whatever band it carries:
the model's own `predict` says which topics are unsure), beside today's ±0.1 band and a few
asymmetric ones (SWEEP). For each policy:

- sent: items that go out without a curator (a topic, not held), and their share of all items;
- precision of what goes out unreviewed: per entry (a sent item truly has some topic: at most
  1 stray entry in 20 is precision 0.95) and per topic (each topic it is filed under is right);
- held: share of items that wait for a curator (target at most 20 %);
- recall: of the true (item, topic) pairs, the share sent unreviewed, and the share that goes
  out once curators judged every held item.

The new-source rule (`VEILLE_NEW_SOURCE_REVIEWS`) is left out: under it every item of a new
source waits until curators judged N of them, whatever its score.

    .venv/bin/python -m bench.policy [--models-dir models] [--folds 5]
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from veille.classify import load_model, metrics
from veille.classify.train import cross_validated_decisions, fit_calibration
from veille.types import TOPICS

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
LABELS = SHARED / "labels" / "train.jsonl"
CORPUS = SHARED / "corpora" / "articles.jsonl"
# Asymmetric bands (below, above the threshold) shown for comparison: a wrong entry that goes
# out scored above its threshold, so the band's upper side is what buys precision.
SWEEP = ((0.05, 0.2), (0.0, 0.3), (0.0, 0.4), (0.0, 0.5))


def model_calls(model, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """The model's own labels and unsure topics for these scores (items × topics, 0/1)."""
    fixed = copy.copy(model)
    fixed.scores = lambda docs: scores  # predict reads its scores here: the band is the model's
    found = fixed.predict([None] * len(scores))
    labels = metrics.indicator([p.labels for p in found])
    unsure = metrics.indicator([p.unsure for p in found])
    return labels, unsure


def band_unsure(
    scores: np.ndarray, thresholds: dict[str, float], below: float, above: float
) -> np.ndarray:
    """Unsure: a score in [threshold - below, threshold + above)."""
    cut = np.asarray([thresholds[t] for t in TOPICS])
    return ((scores >= cut - below) & (scores < cut + above)).astype(np.int8)


def figures(truth: np.ndarray, predicted: np.ndarray, held: np.ndarray) -> dict[str, float]:
    """Sent share, entry and topic precision unreviewed, held share, recall before/after review."""
    goes = predicted.any(axis=1) & ~held
    sent = predicted[goes]
    pairs = int(sent.sum())
    true_pairs = int(truth.sum())
    unreviewed_hits = int((sent & truth[goes]).sum())
    return {
        "sent": float(goes.mean()),
        "entry_precision": float(truth[goes].any(axis=1).mean()) if goes.any() else 1.0,
        "topic_precision": unreviewed_hits / pairs if pairs else 1.0,
        "held": float(held.mean()),
        "recall_unreviewed": unreviewed_hits / max(true_pairs, 1),
        "recall_reviewed": (unreviewed_hits + int(truth[held].sum())) / max(true_pairs, 1),
    }


def table(rows: Sequence[tuple[str, dict[str, float]]]) -> str:
    head = (
        f"  {'policy':<44}{'sent':>7}{'entry P':>9}{'topic P':>9}{'held':>7}"
        f"{'R unrev.':>10}{'R reviewed':>12}"
    )
    lines = [head]
    for name, f in rows:
        lines.append(
            f"  {name:<44}{f['sent']:>7.1%}{f['entry_precision']:>9.3f}{f['topic_precision']:>9.3f}"
            f"{f['held']:>7.1%}{f['recall_unreviewed']:>10.3f}{f['recall_reviewed']:>12.3f}"
        )
    return "\n".join(lines)


def evaluate(model, truth: np.ndarray, scores: np.ndarray) -> list[tuple[str, dict[str, float]]]:  # noqa: ANN001
    """The policy rows for a model's thresholds and band on these scores."""
    labels, unsure = model_calls(model, scores)
    none = np.zeros(len(truth), dtype=bool)
    rows = [("send (the classifier's call)", figures(truth, labels, none))]
    rows.append(
        (f"hold, the model's band ({model.version})", figures(truth, labels, unsure.any(axis=1)))
    )
    for below, above in ((0.1, 0.1), *SWEEP):
        held = band_unsure(scores, model.thresholds, below, above).any(axis=1)
        name = f"hold, ±{below:g}" if below == above else f"hold, -{below:g} / +{above:g}"
        rows.append((f"{name} around each threshold", figures(truth, labels, held)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=ROOT / "models")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    if not (LABELS.is_file() and CORPUS.is_file()):
        sys.exit(f"{SHARED} is absent: the benchmark reads the seed labels and corpus there")
    from veille.classify import read_seed

    start = time.perf_counter()
    model = load_model(args.models_dir)
    examples, _ = read_seed(LABELS, CORPUS)
    truth = metrics.indicator([e.labels for e in examples])
    decisions = cross_validated_decisions(examples, folds=args.folds, by_source=True)
    scores = fit_calibration(decisions, truth).apply(decisions)
    print(
        f"{len(examples)} seed items, {len({e.source for e in examples})} sources; whole-source "
        f"{args.folds}-fold scores; thresholds "
        + ", ".join(f"{t} {model.thresholds[t]:.3f}" for t in TOPICS)
        + f"; model {model.version}"
    )
    print(table(evaluate(model, truth, scores)))
    print(
        "  sent: share of items that go out without a curator; entry P: share of them truly in "
        "scope;\n  topic P: share of their topics that are right; R: recall of (item, topic) "
        "pairs, unreviewed and once every held item is judged  "
        f"[{time.perf_counter() - start:.0f} s]"
    )


if __name__ == "__main__":
    main()
