"""How fast curators teach the classifier new sources: a learning curve.

A model is trained without a few whole sources (`--sources`, chosen among those with enough
items and at least two topics). Each held-out source's items are split once into a pool (what a
curator may judge, 60 %) and a test part (40 %, never judged). A simulated curator judges 25,
50, 100, 200, 400 pool items (their true seed labels), chosen

  (a) in the review queue's order: held items first (the digest policy: sources with fewer than
      10 judged items, unsure scores), then the classifier's active-learning order
      (veille.classify.review_order), re-ranked with the retrained model after each step;
  (b) at random (two seeds).

After each step the model is retrained on the base data plus the judged items, and its macro-F1
on the test part of the held-out sources is reported (whole-source: those sources were never in
the base training). Then, per held-out source, its macro-F1 before and after 50 judgements of its
own items (queue order; macro over the topics present in its test part).

Speed, and what it changes: the text features (TF-IDF vocabulary and idf, keyword columns)
are fitted once on the base training set and kept; each step refits the per-topic linear models
only, on base + judged items (seconds instead of a minute a step on two cores). So a step does
not learn the held-out sources' new words; their character n-grams mostly cover them.
`--full-refit` refits the features too for the per-source figures, as `veille train` does
(about ten minutes more); on the seed data it did not show larger gains (mean -0.002 against
+0.035 with fixed features, per-source differences of ±0.1 on 50-130 test items being noise).
Calibration and thresholds come once from whole-source cross-validation of the base set (no
nested cross-validation within steps) and are never tuned on the test parts.

    .venv/bin/python -m bench.learning [--out bench/results/learning.png] [--sources 5]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from scipy.sparse import vstack
from sklearn.base import clone
from sklearn.metrics import f1_score
from sklearn.model_selection import GroupKFold

from veille.classify import ReviewCandidate, metrics, review_order
from veille.classify.model import build_pipeline
from veille.classify.offsets import fit_offsets, shift
from veille.classify.train import fit_calibration
from veille.types import TOPICS, Example

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
LABELS = SHARED / "labels" / "train.jsonl"
CORPUS = SHARED / "corpora" / "articles.jsonl"
STEPS = (25, 50, 100, 200, 400)
RANDOM_SEEDS = (0, 1)
NEW_SOURCE_REVIEWS = 10  # the digest policy's default: below this a source's items are held
BAND = 0.1  # unsure: a score this close to its threshold (today's band)
POOL_SHARE = 0.6
NEW_SOURCE_JUDGED = 50


@dataclass
class Split:
    base: list[Example]
    pool: list[Example]
    test: list[Example]
    sources: list[str]


def choose_sources(examples: Sequence[Example], count: int, min_items: int = 80) -> list[str]:
    """Sources with enough items and at least two topics, spread over sizes, deterministic."""
    sizes = Counter(e.source for e in examples)
    topics: dict[str, Counter] = defaultdict(Counter)
    for e in examples:
        topics[e.source].update(e.labels)
    fit = sorted(
        (
            s
            for s, n in sizes.items()
            if n >= min_items and sum(1 for v in topics[s].values() if v >= 5) >= 2
        ),
        key=lambda s: (-sizes[s], s),
    )
    if len(fit) <= count:
        return fit
    return (
        [fit[round(i * (len(fit) - 1) / (count - 1))] for i in range(count)]
        if count > 1
        else fit[:1]
    )


def split(examples: Sequence[Example], sources: Sequence[str], seed: int = 0) -> Split:
    held = set(sources)
    rng = random.Random(seed)
    pool, test = [], []
    for source in sources:
        mine = [e for e in examples if e.source == source]
        rng.shuffle(mine)
        cut = round(len(mine) * POOL_SHARE)
        pool += mine[:cut]
        test += mine[cut:]
    return Split([e for e in examples if e.source not in held], pool, test, list(sources))


class Learner:
    """Features fitted once on the base set; per-topic linear models refitted per step."""

    def __init__(self, data: Split, seed: int = 0, folds: int = 5, judged_weight: int = 1) -> None:
        self.judged_weight, self.seed = judged_weight, seed
        pipe = build_pipeline(seed)
        self.features, self.head = pipe[:-1], pipe[-1]
        self.truth_base = metrics.indicator([e.labels for e in data.base])
        self.x_base = self.features.fit_transform([e.doc for e in data.base], self.truth_base)
        self.x_pool = self.features.transform([e.doc for e in data.pool])
        self.x_test = self.features.transform([e.doc for e in data.test])
        self.truth_pool = metrics.indicator([e.labels for e in data.pool])
        self.truth_test = metrics.indicator([e.labels for e in data.test])
        # Calibration and thresholds: whole-source cross-validation of the base set, once.
        groups = [e.source for e in data.base]
        folds = min(folds, len(set(groups)))
        decisions = np.zeros(self.truth_base.shape)
        for train_idx, test_idx in GroupKFold(folds).split(self.x_base, groups=groups):
            head = clone(self.head).fit(self.x_base[train_idx], self.truth_base[train_idx])
            decisions[test_idx] = head.decision_function(self.x_base[test_idx])
        self.calibration = fit_calibration(decisions, self.truth_base)
        self.thresholds = metrics.best_thresholds(
            self.truth_base, self.calibration.apply(decisions)
        )

    @cached_property
    def base(self):  # noqa: ANN201 - the per-topic models fitted on the base set alone
        return self.fit([])

    def fit(self, judged: Sequence[int], weight: int | None = None):  # noqa: ANN201 - a fitted OneVsRestClassifier
        # a judged item counts this many times
        idx = list(judged) * (self.judged_weight if weight is None else weight)
        x = vstack([self.x_base, self.x_pool[idx]]) if idx else self.x_base
        y = np.vstack([self.truth_base, self.truth_pool[idx]]) if idx else self.truth_base
        return clone(self.head).fit(x, y)

    def scores(self, head, x) -> np.ndarray:  # noqa: ANN001
        return self.calibration.apply(head.decision_function(x))

    def macro_f1(self, head, rows: Sequence[int] | None = None) -> float:  # noqa: ANN001
        """Macro-F1 on the test part (or its `rows`), over the topics present there."""
        rows = list(range(self.x_test.shape[0])) if rows is None else list(rows)
        return self.f1_on(self.scores(head, self.x_test[rows]), rows)

    def f1_on(self, scores: np.ndarray, rows: Sequence[int]) -> float:
        truth = self.truth_test[list(rows)]
        predicted = metrics.apply_thresholds(scores, self.thresholds)
        present = [j for j in range(len(TOPICS)) if truth[:, j].any()]
        return float(
            f1_score(truth[:, present], predicted[:, present], average="macro", zero_division=0)
        )

    def full_f1(self, data: Split, judged: Sequence[int], rows: Sequence[int]) -> float:
        """As `macro_f1`, with the whole pipeline (text features included) refitted, as
        `veille train` does."""
        examples = [*data.base, *(data.pool[i] for i in judged)]
        truth = metrics.indicator([e.labels for e in examples])
        pipe = build_pipeline(self.seed).fit([e.doc for e in examples], truth)
        decisions = pipe.decision_function([data.test[i].doc for i in rows])
        return self.f1_on(self.calibration.apply(decisions), rows)

    def queue(self, head, data: Split, judged: Sequence[int], among: Sequence[int]) -> list[int]:  # noqa: ANN001
        """Pool rows in the review queue's order: held first, then active learning."""
        done = set(judged)
        rows = [i for i in among if i not in done]
        if not rows:
            return []
        probs = self.scores(head, self.x_pool[rows])
        taught = Counter(data.pool[i].source for i in judged)
        cut = np.asarray([self.thresholds[t] for t in TOPICS])
        candidates = []
        for row, p in zip(rows, probs, strict=True):
            unsure = bool((np.abs(p - cut) < BAND).any())
            new = taught[data.pool[row].source] < NEW_SOURCE_REVIEWS
            scores = {t: float(v) for t, v in zip(TOPICS, p, strict=True)}
            candidates.append(
                ReviewCandidate(
                    id=row, scores=scores, source=data.pool[row].source, held=unsure or new
                )
            )
        return review_order(candidates, self.thresholds)


def curve_queue(learner: Learner, data: Split, steps: Sequence[int]) -> list[float]:
    judged: list[int] = []
    head = learner.fit(judged)
    out = []
    everything = range(len(data.pool))
    for size in steps:
        order = learner.queue(head, data, judged, everything)
        judged += order[: max(0, size - len(judged))]
        head = learner.fit(judged)
        out.append(learner.macro_f1(head))
    return out


def curve_random(learner: Learner, data: Split, steps: Sequence[int], seed: int) -> list[float]:
    order = list(range(len(data.pool)))
    random.Random(seed).shuffle(order)
    return [learner.macro_f1(learner.fit(order[:size])) for size in steps]


def new_sources(
    learner: Learner,
    data: Split,
    judged_count: int,
    full: bool = False,
    weight: int | None = None,
    offset: bool = False,
) -> list[tuple[str, int, float, float]]:
    """Per held-out source: test items, macro-F1 before and after `judged_count` judgements
    (`full`: the whole pipeline refitted each time, features included: slower, as veille;
    `weight`: times a judged item counts; `offset`: the source's per-topic offset, fitted on
    the judged items' scores before the refit, shifts its scores after it, veille.classify.offsets;
    `weight=0`: no refit, the offset alone)."""
    base = learner.base
    out = []
    for source in data.sources:
        pool = [i for i, e in enumerate(data.pool) if e.source == source]
        test = [i for i, e in enumerate(data.test) if e.source == source]
        if len(pool) < judged_count:
            continue
        judged = learner.queue(base, data, [], pool)[:judged_count]
        if full:
            before = learner.full_f1(data, [], test)
            out.append((source, len(test), before, learner.full_f1(data, judged, test)))
            continue
        after = learner.fit(judged, weight) if weight != 0 else base
        scores = learner.scores(after, learner.x_test[test])
        if offset:
            before = learner.scores(base, learner.x_pool[judged])
            scores = shift(scores, fit_offsets(before, learner.truth_pool[judged]))
        out.append((source, len(test), learner.macro_f1(base, test), learner.f1_on(scores, test)))
    return out


def lever_table(learner: Learner, data: Split, steps: Sequence[int] = (25, 50, 100)) -> None:
    """Mean new-source gain per lever (judged weight, offset) after each number of judgements."""
    levers = [(f"w={w}", w, False) for w in (1, 3, 10)]
    levers += [("offset alone", 0, True), ("w=1 +offset", 1, True), ("w=3 +offset", 3, True)]
    print("\nmean gain of a new source's macro-F1 (sources with enough pool items)")
    print(f"  {'lever':<14}" + "".join(f"{'after ' + str(k):>12}" for k in steps))
    for name, w, off in levers:
        cells = []
        for k in steps:
            found = new_sources(learner, data, k, weight=w, offset=off)
            gain = np.mean([a - b for _, _, b, a in found]) if found else float("nan")
            cells.append(f"{gain:>+8.3f} ({len(found)})")
        print(f"  {name:<14}" + "".join(f"{c:>12}" for c in cells), flush=True)


def reached_at(curve: Sequence[float], steps: Sequence[int], level: float) -> int | None:
    return next((s for s, v in zip(steps, curve, strict=True) if v >= level - 1e-9), None)


def plot(
    path: Path, steps: Sequence[int], start: float, queue: list[float], randoms: list[list[float]]
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [0, *steps]
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    ax.plot(xs, [start, *queue], marker="o", label="review queue order")
    mean = np.mean(randoms, axis=0)
    ax.plot(
        xs,
        [start, *mean],
        marker="s",
        linestyle="--",
        label=f"random order (mean of {len(randoms)})",
    )
    ax.set_xscale("symlog", linthresh=25)
    ax.set_xticks(xs, [str(x) for x in xs])
    ax.set_xlabel("items of the new sources judged by a curator")
    ax.set_ylabel("macro-F1 on the new sources' other items")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def run(
    examples: Sequence[Example],
    *,
    sources: int,
    steps: Sequence[int],
    out: Path,
    judged_weight: int = 1,
    full_refit: bool = False,
) -> dict:
    start = time.perf_counter()
    chosen = choose_sources(examples, sources)
    data = split(examples, chosen)
    steps = [s for s in steps if s <= len(data.pool)]
    print(
        f"held-out sources ({len(chosen)}): {', '.join(chosen)}\n"
        f"base training {len(data.base)} items; pool {len(data.pool)}; test {len(data.test)}"
    )
    learner = Learner(data, judged_weight=judged_weight)
    if judged_weight != 1:
        print(f"each judged item counts {judged_weight} times in training")
    zero = learner.macro_f1(learner.fit([]))
    queue = curve_queue(learner, data, steps)
    randoms = [curve_random(learner, data, steps, seed) for seed in RANDOM_SEEDS]
    mean = list(np.mean(randoms, axis=0))
    print(f"\nmacro-F1 on the held-out sources' test items (before any judgement: {zero:.3f})")
    print(
        f"  {'judged':>7} {'queue':>7} "
        + " ".join(f"{'random ' + str(s):>9}" for s in RANDOM_SEEDS)
        + f" {'random mean':>12}"
    )
    for i, size in enumerate(steps):
        cells = " ".join(f"{r[i]:>9.3f}" for r in randoms)
        print(f"  {size:>7} {queue[i]:>7.3f} {cells} {mean[i]:>12.3f}")
    if 200 in steps and 100 in steps:
        need = mean[steps.index(200)]
        at = reached_at(queue, steps, need)
        print(
            f"  queue with 100 judgements: {queue[steps.index(100)]:.3f}; random with 200: "
            f"{need:.3f} (queue reaches it with {at or 'more than ' + str(steps[-1])})"
        )
    per_source = new_sources(learner, data, NEW_SOURCE_JUDGED, full=full_refit)
    if per_source:
        print(
            f"\na new source before and after {NEW_SOURCE_JUDGED} judgements of its items "
            "(queue order" + ("; features refitted too)" if full_refit else ")")
        )
        for source, n, before, after in per_source:
            print(
                f"  {source:<45} {n:>4} test items  {before:.3f} -> {after:.3f}  "
                f"({after - before:+.3f})"
            )
        gain = float(np.mean([a - b for _, _, b, a in per_source]))
        print(f"  mean gain: {gain:+.3f}")
    plot(out, steps, zero, queue, randoms)
    print(f"\nplot: {out}  [{time.perf_counter() - start:.0f} s]")
    return {"zero": zero, "queue": queue, "random": randoms, "new_sources": per_source}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "learning.png")
    parser.add_argument("--sources", type=int, default=5, help="whole sources held out")
    parser.add_argument(
        "--judged-weight", type=int, default=1, help="times a judged item counts (1: as veille)"
    )
    parser.add_argument(
        "--full-refit",
        action="store_true",
        help="new sources: refit the text features too, as veille does (several minutes more)",
    )
    parser.add_argument(
        "--levers",
        action="store_true",
        help="only the new-source gain per lever (judged weight, offset) after 25/50/100",
    )
    args = parser.parse_args()
    if not (LABELS.is_file() and CORPUS.is_file()):
        sys.exit(f"{SHARED} is absent: the benchmark reads the seed labels and corpus there")
    from veille.classify import read_seed

    examples, _ = read_seed(LABELS, CORPUS)
    if args.levers:
        data = split(examples, choose_sources(examples, args.sources))
        lever_table(Learner(data), data)
        return
    run(
        examples,
        sources=args.sources,
        steps=STEPS,
        out=args.out,
        judged_weight=args.judged_weight,
        full_refit=args.full_refit,
    )


if __name__ == "__main__":
    main()
