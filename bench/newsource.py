"""How curators teach the classifier a new source: levers measured on every seed source.

bench.learning holds five sources out once; this holds every source out in turn (the
whole-source 5-fold split `veille train` uses: GroupKFold on the item's source, shuffled,
seed 0), so a per-source figure is a mean over about twenty sources instead of five.

Per fold, the text features are fitted on the training part and kept (as bench.learning
does), calibration, thresholds and the unsure band come from whole-source cross-validation
of the training part only (inner folds), and the base model is fitted on it. Each test source
with at least MIN_ITEMS items is split once (seed 0) into a pool (60 %, what a curator may
judge) and a test part (40 %, never judged). A simulated curator judges k pool items of that
one source (the review queue's order under the base model) and the test part is scored by:

- `base`: the model that never saw the source;
- `offset`: the base model's scores shifted by the source's per-topic offset (offsets),
  fitted on the base model's scores of the k judged items: no retraining;
- `w=1`, `w=3`, `w=10`: the per-topic models refitted on training part + judged items, each
  judged item counting w times; `w=src`: counting SOURCE_SIZE / k times (clipped to 1..10),
  so a new source's few judged items weigh like a typical source;
- `w=… +offset`: the refitted model's scores shifted by the same offsets (fitted on the
  scores of the model that did not train on those items; an over-correction if the refit
  already learnt the bias).

Figures per configuration and k, on the test parts of the sources that have ≥ k pool items:
mean per-source macro-F1 (topics present in that source's test part; sources with none left
out), its gain over `base`; pooled over those test parts: macro-F1, in-scope precision, and
with the fold's unsure band: share held and precision of what goes out unreviewed.

Every hyper-parameter here (k, w, PRIOR, MIN_ITEMS, the split) was fixed before any run.

    .venv/bin/python -m bench.newsource [--save bench/results/newsource.pkl]
"""

from __future__ import annotations

import argparse
import pickle
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from scipy.sparse import vstack
from sklearn.base import clone
from sklearn.metrics import f1_score
from sklearn.model_selection import GroupKFold

from veille.classify import ReviewCandidate, band, metrics, review_order
from veille.classify.model import build_pipeline
from veille.classify.offsets import PRIOR, fit_offsets, shift
from veille.classify.train import fit_calibration, splits
from veille.types import TOPICS

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
LABELS = SHARED / "labels" / "train.jsonl"
CORPUS = SHARED / "corpora" / "articles.jsonl"
STEPS = (10, 25, 50, 100)
REFIT_STEPS = (25, 50, 100)  # k = 10 is measured with offsets only (no refit)
WEIGHTS = (1, 3, 10, "src")
POOL_SHARE = 0.6
MIN_ITEMS = 42  # a pool of at least 25


def inner_calibration(head, x, truth, groups, seed: int = 0):  # noqa: ANN001, ANN201
    """Calibration, thresholds and band from whole-source CV of the training part."""
    decisions = np.zeros(truth.shape)
    folds = min(5, len(set(groups)))
    for tr, te in GroupKFold(folds, shuffle=True, random_state=seed).split(x, groups=groups):
        decisions[te] = clone(head).fit(x[tr], truth[tr]).decision_function(x[te])
    calibration = fit_calibration(decisions, truth)
    scores = calibration.apply(decisions)
    thresholds = metrics.best_thresholds(truth, scores)
    return calibration, thresholds, band.choose(truth, scores, thresholds)


def queue_order(scores: np.ndarray, thresholds: dict, source: str) -> list[int]:
    candidates = [
        ReviewCandidate(
            id=i, scores={t: float(v) for t, v in zip(TOPICS, row, strict=True)}, source=source
        )
        for i, row in enumerate(scores)
    ]
    return review_order(candidates, thresholds)


def run(examples, save: Path | None = None) -> dict:  # noqa: ANN001
    start = time.perf_counter()
    truth_all = metrics.indicator([e.labels for e in examples])
    docs = [e.doc for e in examples]
    sizes = Counter(e.source for e in examples)
    source_size = float(np.median(list(sizes.values())))
    results = []  # (source, k, config, test truth, test scores, fold)
    oof = np.zeros(truth_all.shape)  # base decisions, whole-source out of fold
    folds_info = []
    for fold, (train_idx, test_idx) in enumerate(splits(examples, by_source=True)):
        pipe = build_pipeline(0)
        features, head = pipe[:-1], pipe[-1]
        truth = truth_all[train_idx]
        x_train = features.fit_transform([docs[i] for i in train_idx], truth)
        groups = [examples[i].source for i in train_idx]
        calibration, thresholds, unsure = inner_calibration(head, x_train, truth, groups)
        base = clone(head).fit(x_train, truth)
        x_test_all = features.transform([docs[i] for i in test_idx])
        oof[test_idx] = base.decision_function(x_test_all)
        folds_info.append({"calibration": calibration, "thresholds": thresholds, "band": unsure})
        for source in sorted({examples[i].source for i in test_idx}):
            mine = [i for i in test_idx if examples[i].source == source]
            if len(mine) < MIN_ITEMS:
                continue
            random.Random(0).shuffle(mine)
            cut = round(len(mine) * POOL_SHARE)
            pool, test = mine[:cut], mine[cut:]
            x_pool = features.transform([docs[i] for i in pool])
            x_test = features.transform([docs[i] for i in test])
            t_pool, t_test = truth_all[pool], truth_all[test]
            s_pool = calibration.apply(base.decision_function(x_pool))
            s_test = calibration.apply(base.decision_function(x_test))
            order = queue_order(s_pool, thresholds, source)
            results.append((source, 0, "base", t_test, s_test, fold))
            for k in STEPS:
                if k > len(pool):
                    continue
                judged = order[:k]
                delta = fit_offsets(s_pool[judged], t_pool[judged])
                results.append((source, k, "base", t_test, s_test, fold))
                results.append((source, k, "offset", t_test, shift(s_test, delta), fold))
                if k not in REFIT_STEPS:
                    continue
                for w in WEIGHTS:
                    times = int(np.clip(round(source_size / k), 1, 10)) if w == "src" else w
                    idx = judged * times
                    refit = clone(head).fit(
                        vstack([x_train, x_pool[idx]]), np.vstack([truth, t_pool[idx]])
                    )
                    s = calibration.apply(refit.decision_function(x_test))
                    results.append((source, k, f"w={w}", t_test, s, fold))
                    results.append((source, k, f"w={w} +offset", t_test, shift(s, delta), fold))
            print(
                f"fold {fold} {source:<45} pool {len(pool):>3} test {len(test):>3} "
                f"[{time.perf_counter() - start:.0f} s]",
                flush=True,
            )
    out = {"results": results, "oof": oof, "folds": folds_info, "prior": PRIOR}
    if save:
        save.parent.mkdir(parents=True, exist_ok=True)
        save.write_bytes(pickle.dumps(out))
    report(out)
    print(f"[{time.perf_counter() - start:.0f} s]")
    return out


def source_f1(truth: np.ndarray, predicted: np.ndarray) -> float | None:
    present = [j for j in range(len(TOPICS)) if truth[:, j].any()]
    if not present:
        return None
    return float(
        f1_score(truth[:, present], predicted[:, present], average="macro", zero_division=0)
    )


def report(out: dict) -> None:
    folds = out["folds"]
    rows = defaultdict(list)
    for source, k, config, t, s, fold in out["results"]:
        rows[(k, config)].append((source, t, s, fold))
    configs = ["base", "offset"] + [f"w={w}{o}" for w in WEIGHTS for o in ("", " +offset")]
    print(
        f"\n{'k':>4} {'configuration':<16}{'sources':>8}{'mean F1':>9}{'gain':>8}"
        f"{'pooled F1':>11}{'in-sc P':>9}{'held':>7}{'unrev. P':>10}"
    )
    for k in STEPS:
        base_f1 = {}
        for config in configs:
            found = rows.get((k, config))
            if not found:
                continue
            per, truths, preds, helds = [], [], [], []
            for source, t, s, fold in found:
                predicted = metrics.apply_thresholds(s, folds[fold]["thresholds"])
                f = source_f1(t, predicted)
                if f is not None:
                    per.append((source, f))
                truths.append(t)
                preds.append(predicted)
                helds.append(band.held_mask(s, folds[fold]["band"]))
            if config == "base":
                base_f1 = dict(per)
            mean = float(np.mean([f for _, f in per]))
            gain = float(np.mean([f - base_f1[s] for s, f in per]))
            t, p, h = np.vstack(truths), np.vstack(preds), np.concatenate(helds)
            pooled = f1_score(t, p, average="macro", zero_division=0)
            out_ = p.any(axis=1).astype(bool) & ~h
            unrev = float(t[out_].any(axis=1).mean()) if out_.any() else 1.0
            print(
                f"{k:>4} {config:<16}{len(found):>8}{mean:>9.3f}{gain:>+8.3f}{pooled:>11.3f}"
                f"{metrics.in_scope_precision(t, p):>9.3f}{h.mean():>7.1%}{unrev:>10.3f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", type=Path, default=ROOT / "bench" / "results" / "newsource.pkl")
    parser.add_argument("--report", action="store_true", help="only report a saved run")
    args = parser.parse_args()
    if args.report:
        report(pickle.loads(args.save.read_bytes()))
        return
    if not (LABELS.is_file() and CORPUS.is_file()):
        sys.exit(f"{SHARED} is absent: the benchmark reads the seed labels and corpus there")
    from veille.classify import read_seed

    examples, _ = read_seed(LABELS, CORPUS)
    run(examples, save=args.save)


if __name__ == "__main__":
    main()
