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
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from veille.classify import band, load_model, metrics
from veille.classify.offsets import fit_offsets, shift
from veille.classify.train import cross_validated_decisions, fit_calibration
from veille.types import TOPICS

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
LABELS = SHARED / "labels" / "train.jsonl"
CORPUS = SHARED / "corpora" / "articles.jsonl"
# Asymmetric bands (below, above the threshold) shown for comparison: a wrong entry that goes
# out scored above its threshold, so the band's upper side is what buys precision.
SWEEP = ((0.05, 0.2), (0.0, 0.3), (0.0, 0.4), (0.0, 0.5))
# Per-source policies (source_policies): fixed before any run.
JUDGED_FIRST = 10  # VEILLE_NEW_SOURCE_REVIEWS: a source's first items, judged by curators
MAX_HELD = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)  # band.choose's budget
TRUST = (0.1, 0.2, 0.3, 0.5)  # a source below this estimated share waits
HALVINGS = 10  # random halvings of the sources, each used both ways
HELD_TARGET = 0.2


def model_calls(model, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """The model's own labels and unsure topics for these scores (items × topics, 0/1)."""
    fixed = copy.copy(model)
    # predict reads its scores here (offset ignored): the band is the model's
    fixed.scores = lambda docs, offset=None: scores
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


@dataclass(frozen=True)
class SourcePolicy:
    max_held: float  # the unsure band's budget (0: no band)
    offset: bool  # scores shifted by the source's per-topic offset (veille.classify.offsets)
    trust: str = ""  # "" | "on_topic" | "precision": how a source's trust is estimated
    below: float = 0.0  # items a source with trust under this says are in scope wait

    @property
    def name(self) -> str:
        parts = [f"band {self.max_held:.0%}" if self.max_held else "no band"]
        if self.offset:
            parts.append("offset")
        if self.trust:
            parts.append(f"{self.trust} < {self.below:g} waits")
        return ", ".join(parts)


def source_policies_grid() -> list[SourcePolicy]:
    out = []
    for max_held in MAX_HELD:
        for offset in (False, True):
            out.append(SourcePolicy(max_held, offset))
            for trust in ("on_topic", "precision"):
                out += [SourcePolicy(max_held, offset, trust, b) for b in TRUST]
    return out


def trust_of(truth: np.ndarray, said: np.ndarray, kind: str) -> float:
    """A source's trust from its judged items, with one pseudo-item each way: the share truly
    in scope ("on_topic"), or of those the model said are in scope, the share that are
    ("precision")."""
    relevant = truth.any(axis=1)
    if kind == "on_topic":
        return (relevant.sum() + 1) / (len(relevant) + 2)
    hits = (relevant & said.any(axis=1)).sum()
    return (hits + 1) / (said.any(axis=1).sum() + 2)


class SourceSim:
    """Whole-source out-of-fold decisions; each source's first JUDGED_FIRST items (a seeded
    random arrival order) were judged by curators, what follows is decided by the policy."""

    def __init__(self, sources: Sequence[str], truth: np.ndarray, decisions: np.ndarray) -> None:
        self.truth, self.decisions = truth, decisions
        self.sources = sorted(set(sources))
        self.judged: dict[str, np.ndarray] = {}
        self.rest: dict[str, np.ndarray] = {}
        for source in self.sources:
            mine = [i for i, s in enumerate(sources) if s == source]
            random.Random(0).shuffle(mine)
            self.judged[source] = np.asarray(mine[:JUDGED_FIRST], dtype=int)
            self.rest[source] = np.asarray(mine[JUDGED_FIRST:], dtype=int)

    def chosen_on(self, sources: Sequence[str]) -> tuple:
        """Calibration and thresholds fitted on these sources' items."""
        idx = np.concatenate([np.concatenate([self.judged[s], self.rest[s]]) for s in sources])
        calibration = fit_calibration(self.decisions[idx], self.truth[idx])
        scores = calibration.apply(self.decisions)
        return scores, metrics.best_thresholds(self.truth[idx], scores[idx])

    def shifted(self, scores: np.ndarray, sources: Sequence[str], offset: bool) -> np.ndarray:
        """The rest of these sources' items, scores shifted by each source's offset or not."""
        parts = []
        for s in sources:
            rest = scores[self.rest[s]]
            if offset and len(self.judged[s]):
                j = self.judged[s]
                rest = shift(rest, fit_offsets(scores[j], self.truth[j]))
            parts.append(rest)
        return np.vstack(parts)

    def evaluate(
        self, policy: SourcePolicy, scores, thresholds, unsure, sources
    ) -> dict[str, float]:  # noqa: ANN001
        rest = np.concatenate([self.rest[s] for s in sources])
        s = self.shifted(scores, sources, policy.offset)
        truth = self.truth[rest]
        said = metrics.apply_thresholds(s, thresholds).astype(bool)
        held = band.held_mask(s, unsure) if policy.max_held else np.zeros(len(s), bool)
        if policy.trust:
            cut = np.asarray([thresholds[t] for t in TOPICS])
            low = np.concatenate(
                [
                    np.full(
                        len(self.rest[x]),
                        trust_of(
                            self.truth[self.judged[x]],
                            scores[self.judged[x]] >= cut,
                            policy.trust,
                        )
                        < policy.below,
                    )
                    for x in sources
                ]
            )
            held = held | (low & said.any(axis=1))
        out = said.any(axis=1) & ~held
        relevant = truth.any(axis=1)
        return {
            "held": float(held.mean()),
            "precision": float(relevant[out].mean()) if out.any() else 1.0,
            "recall": float((out & relevant).sum() / max(relevant.sum(), 1)),
            "items": int(len(s)),
        }

    def bands(self, policy_offsets: bool, scores, thresholds, sources) -> dict:  # noqa: ANN001
        """band.choose per budget, on these sources' later items (shifted or not)."""
        rest = np.concatenate([self.rest[s] for s in sources])
        s = self.shifted(scores, sources, policy_offsets)
        return {
            m: band.choose(self.truth[rest], s, thresholds, max_held=m) if m else {}
            for m in MAX_HELD
        }

    def figures_on(self, chosen_sources, judged_sources) -> list[tuple[SourcePolicy, dict, dict]]:  # noqa: ANN001
        """Every policy: chosen on `chosen_sources` (calibration, thresholds, band), its
        figures there and on `judged_sources`."""
        scores, thresholds = self.chosen_on(chosen_sources)
        bands = {o: self.bands(o, scores, thresholds, chosen_sources) for o in (False, True)}
        out = []
        for p in source_policies_grid():
            unsure = bands[p.offset][p.max_held]
            a = self.evaluate(p, scores, thresholds, unsure, chosen_sources)
            b = self.evaluate(p, scores, thresholds, unsure, judged_sources)
            out.append((p, a, b))
        return out


def pick(rows: list, *, family) -> tuple | None:  # noqa: ANN001
    """Among the policies of a family within HELD_TARGET held on the half they are chosen
    on, the one with the best precision there."""
    fit = [r for r in rows if family(r[0]) and r[1]["held"] <= HELD_TARGET]
    return max(fit, key=lambda r: (r[1]["precision"], -r[1]["held"])) if fit else None


FAMILIES = {
    "band only": lambda p: not p.offset and not p.trust,
    "band + offset": lambda p: p.offset and not p.trust,
    "band + trust": lambda p: not p.offset and p.trust,
    "band + offset + trust": lambda p: p.offset and bool(p.trust),
}


def source_policies(sources: Sequence[str], truth: np.ndarray, decisions: np.ndarray) -> str:
    """Held share and unreviewed precision of per-source policies, chosen on half of the
    sources and judged on the other half (HALVINGS random halvings, both ways)."""
    sim = SourceSim(sources, truth, decisions)
    lines = [
        f"per-source policies: each source's first {JUDGED_FIRST} items judged (left out of the "
        "figures); chosen on half the sources (at most "
        f"{HELD_TARGET:.0%} held there, best precision), judged on the other half; "
        f"{HALVINGS} halvings x 2 ways",
        f"  {'family':<24}{'held (chosen)':>14}{'P (chosen)':>11}{'held (judged)':>15}"
        f"{'P (judged)':>11}{'P min':>7}{'P max':>7}{'R (judged)':>11}  most chosen",
    ]
    found: dict[str, list] = {f: [] for f in FAMILIES}
    for h in range(HALVINGS):
        order = list(sim.sources)
        random.Random(100 + h).shuffle(order)
        halves = (order[: len(order) // 2], order[len(order) // 2 :])
        for a, b in (halves, halves[::-1]):
            rows = sim.figures_on(a, b)
            for family, test in FAMILIES.items():
                best = pick(rows, family=test)
                if best:
                    found[family].append(best)
    for family, picks in found.items():
        if not picks:
            continue
        held_a = np.mean([p[1]["held"] for p in picks])
        prec_a = np.mean([p[1]["precision"] for p in picks])
        held_b = np.mean([p[2]["held"] for p in picks])
        prec_b = [p[2]["precision"] for p in picks]
        recall_b = np.mean([p[2]["recall"] for p in picks])
        common = max({p[0].name for p in picks}, key=[p[0].name for p in picks].count)
        lines.append(
            f"  {family:<24}{held_a:>14.1%}{prec_a:>11.3f}{held_b:>15.1%}{np.mean(prec_b):>11.3f}"
            f"{min(prec_b):>7.3f}{max(prec_b):>7.3f}{recall_b:>11.3f}  {common}"
        )
    # The curves on every source (chosen and judged on the same scores: optimistic).
    lines.append("  curves, chosen and judged on all sources (optimistic):")
    lines.append(f"  {'policy':<52}{'held':>7}{'P':>7}{'R':>7}")
    for p, f, _ in sim.figures_on(sim.sources, sim.sources):
        if p.trust == "precision" or (p.trust and p.below not in (0.2, 0.3)):
            continue
        lines.append(f"  {p.name:<52}{f['held']:>7.1%}{f['precision']:>7.3f}{f['recall']:>7.3f}")
    return "\n".join(lines)


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
    print(source_policies([e.source for e in examples], truth, decisions))
    print(
        "  sent: share of items that go out without a curator; entry P: share of them truly in "
        "scope;\n  topic P: share of their topics that are right; R: recall of (item, topic) "
        "pairs, unreviewed and once every held item is judged  "
        f"[{time.perf_counter() - start:.0f} s]"
    )


if __name__ == "__main__":
    main()
