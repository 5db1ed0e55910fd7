"""The topic classifier: quality against keyword rules, generalisation, training and speed.

1. Whole-source 5-fold cross-validated precision / recall / F1 per topic, macro-F1 and in-scope
   precision of the model on the seed labels (../shared/labels joined with
   ../shared/corpora/articles.jsonl; every fold leaves whole sources out), side by side with
   the keyword-rules baseline on the same items, the unsure band's figures, and the training
   time of `train` (cross-validation, calibration, thresholds, band and the final fit).
2. Same-source: the stratified cross-validation `train` records beside it.
3. `veille classify` on 10,000 items (corpus records cycled with distinct ids) in a real
   process with the committed model: wall time, items per second, CPU, peak memory (the
   harness's own row, bench/delivery.py).

    .venv/bin/python -m bench.classify [--items 10000] [--skip-train]

Nothing is written into the project: the model trained here stays in memory, the JSON lines
for `veille classify` live in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from veille.classify import read_seed, train
from veille.types import TOPICS

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
LABELS = SHARED / "labels" / "train.jsonl"
CORPUS = SHARED / "corpora" / "articles.jsonl"


def _row(name: str, model: dict, base: dict) -> str:
    cells = [f"{model[k]:.3f} / {base[k]:.3f}" for k in ("precision", "recall", "f1")]
    return f"  {name:<27}" + "".join(f"{c:>18}" for c in cells)


def quality() -> None:
    examples, _ = read_seed(LABELS, CORPUS)
    print(f"seed: {len(examples)} labelled items, {len({e.source for e in examples})} sources")
    start, cpu = time.perf_counter(), time.process_time()
    result = train(examples)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    cv, base = result.metrics["cv"], result.metrics["baseline"]
    print(f"\n{cv['folds']}-fold {cv['scheme']} cross-validation: model / keyword rules")
    print(f"  {'topic':<27}{'precision':>18}{'recall':>18}{'F1':>18}")
    for topic in TOPICS:
        print(_row(topic, cv["topics"][topic], base["topics"][topic]))
    print(_row("off-topic", cv["off_topic"], base["off_topic"]))
    print(f"  {'macro-F1':<27}{'':>36}{cv['macro_f1']:.3f} / {base['macro_f1']:.3f}".rstrip())
    print(f"  in-scope precision {cv['in_scope_precision']:.3f}")
    band = cv["band"]
    print(
        f"  unsure band: {band['held_share']:.1%} held; unreviewed in-scope precision "
        f"{band['unreviewed_precision']:.3f} (labels {band['unreviewed_label_precision']:.3f}), "
        f"recall {band['unreviewed_recall']:.3f} ({band['recall_after_review']:.3f} after review)"
    )
    band_on_other_sources(examples, result)
    same = result.metrics.get("same_source")
    if same:
        print(
            f"\nsame-source (stratified {same['folds']}-fold): macro-F1 {same['macro_f1']:.3f}, "
            f"in-scope precision {same['in_scope_precision']:.3f}; per topic "
            + ", ".join(f"{t} {same['topics'][t]['f1']:.3f}" for t in TOPICS)
        )
    print(
        f"\ntraining (whole-source CV + calibration + thresholds + band + final fit): "
        f"{result.seconds:.1f} s; with the same-source CV {seconds:.1f} s wall, {cpu:.1f} s CPU, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )


def band_on_other_sources(examples: list, result: object) -> None:
    """The band chosen on the out-of-fold scores of half the sources, judged on the other
    half (and the other way round): the band's figures without choosing on what is judged."""
    from sklearn.model_selection import GroupKFold

    from veille.classify import band

    scores, truth = result.oof_scores, result.truth
    thresholds = result.model.thresholds
    sources = [e.source for e in examples]
    old = band.figures(truth, scores, thresholds, band.around(thresholds, 0.1))
    print(
        f"  the former ±0.1 band: {old['held_share']:.1%} held, unreviewed in-scope precision "
        f"{old['unreviewed_precision']:.3f}, recall {old['unreviewed_recall']:.3f}"
    )
    for share in (0.3, 0.4, 0.5):
        wider = band.choose(truth, scores, thresholds, max_held=share)
        found = band.figures(truth, scores, thresholds, wider)
        print(
            f"  allowed to hold {share:.0%}: {found['held_share']:.1%} held, unreviewed in-scope "
            f"precision {found['unreviewed_precision']:.3f}, "
            f"recall {found['unreviewed_recall']:.3f}"
        )
    for chose, judged in GroupKFold(2, shuffle=True, random_state=0).split(scores, groups=sources):
        chosen = band.choose(truth[chose], scores[chose], thresholds)
        found = band.figures(truth[judged], scores[judged], thresholds, chosen)
        print(
            f"  band chosen on {len(chose)} items' sources, judged on {len(judged)} others: "
            f"{found['held_share']:.1%} held, unreviewed in-scope precision "
            f"{found['unreviewed_precision']:.3f}, recall {found['unreviewed_recall']:.3f}"
        )


def speed(count: int) -> None:
    """The harness's classify row (bench/delivery.py): the same run `python -m bench` makes."""
    from bench.delivery import classify_rows
    from bench.ours import Veille

    with tempfile.TemporaryDirectory() as tmp:
        (row,) = classify_rows(Veille(Path(tmp), []), count, timeout=600)
    print(f"\nveille classify, {row.metric}: {row.shown()} wall including start-up; {row.note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000, help="items for the speed run")
    parser.add_argument("--skip-train", action="store_true", help="only the speed run")
    args = parser.parse_args()
    if not (LABELS.is_file() and CORPUS.is_file()):
        sys.exit(f"{SHARED} is absent: the benchmark reads the seed labels and corpus there")
    if not args.skip_train:
        quality()
    speed(args.items)


if __name__ == "__main__":
    main()
