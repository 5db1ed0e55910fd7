"""What each lever of the topic classifier gives on sources it has never seen.

For each configuration, one lever at a time and combined: 5-fold cross-validation where every
fold leaves whole sources out (GroupKFold on the item's source, shuffled with a fixed seed),
and beside it the stratified same-source CV that `veille train` reported until now. Per
configuration: macro-F1, per-topic F1, and in-scope precision (of the items given at least one
topic, the share that truly has one), with calibration and per-topic thresholds chosen on the
same out-of-fold scores as `train` does.

To stay quick, each fold's vocabulary is fitted once with every block present, and a
configuration rescales or drops blocks of those rows (the blocks are normalised on their own,
so this is what fitting with those weights gives) before its SVMs are fitted.

    .venv/bin/python -m bench.levers [--only NAME …] [--folds 5] [--seed 0]

Differences under 0.02 are noise here (a few sources decide a fold): only a lever that gains
more than that on whole sources is kept.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.model_selection import GroupKFold, StratifiedKFold
from sklearn.svm import LinearSVC

from bench.classify import CORPUS, LABELS
from veille.classify import metrics, read_seed
from veille.classify.baseline import keyword_labels
from veille.classify.features import TextFeatures
from veille.classify.train import fit_calibration, source_weights
from veille.types import TOPICS, Example


@dataclass(frozen=True)
class Config:
    name: str
    lever: str
    groups: float = 0.0  # weight of the lexicon's group columns (0: absent, as before)
    flags: float = 1.0  # weight of the three topic flags
    grams: float = 1.0
    c: float = 0.5
    balanced: bool = True
    sources: str = "none"  # per-source sample weights: none, sqrt, cap
    extra: dict = field(default_factory=dict, hash=False)


CONFIGS = [
    Config("today", "-"),
    Config("no keyword flags", "(reference)", flags=0.0),
    Config("lexicon groups", "a", groups=1.0),
    Config("lexicon groups x0.5", "a", groups=0.5),
    Config("lexicon groups x2", "a", groups=2.0),
    Config("lexicon, no topic flags", "a", groups=1.0, flags=0.0),
    Config("source weights sqrt", "b", sources="sqrt"),
    Config("source weights cap", "b", sources="cap"),
    Config("source weights equal", "b", sources="equal"),
    Config("C 0.1", "c", c=0.1),
    Config("C 0.25", "c", c=0.25),
    Config("C 1", "c", c=1.0),
    Config("no class weight", "c", balanced=False),
    Config("gram weight 0.5", "c", grams=0.5),
    Config("gram weight 2", "c", grams=2.0),
    Config("flags x2", "c", flags=2.0),
    Config("lexicon + sqrt", "a+b", groups=1.0, sources="sqrt"),
    Config("lexicon + cap", "a+b", groups=1.0, sources="cap"),
    Config("lexicon + sqrt + C 0.25", "a+b+c", groups=1.0, sources="sqrt", c=0.25),
]


class Fold:
    """One fold's rows with every block, and the column ranges of the blocks."""

    def __init__(self, examples: list[Example], train: np.ndarray, test: np.ndarray) -> None:
        docs = [e.doc for e in examples]
        features = TextFeatures(group_weight=1.0).fit([docs[i] for i in train])
        self.train, self.test = train, test
        self.x_train = features.transform([docs[i] for i in train]).tocsc()
        self.x_test = features.transform([docs[i] for i in test]).tocsc()
        n_words, n_grams = len(features.words_), len(features.grams_)
        n_groups = len(features.group_names_)
        self.blocks = {
            "words": (0, n_words),
            "grams": (n_words, n_words + n_grams),
            "groups": (n_words + n_grams, n_words + n_grams + n_groups),
            "flags": (n_words + n_grams + n_groups, self.x_train.shape[1]),
        }

    def scaled(self, config: Config) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        scale = np.ones(self.x_train.shape[1], np.float32)
        for block, weight in (("grams", config.grams), ("groups", config.groups)):
            scale[slice(*self.blocks[block])] = weight
        scale[slice(*self.blocks["flags"])] = config.flags
        keep = np.flatnonzero(scale)
        diag = sp.diags(scale[keep])
        return (self.x_train[:, keep] @ diag).tocsr(), (self.x_test[:, keep] @ diag).tocsr()


def splits(examples: list[Example], by_source: bool, folds: int, seed: int):  # noqa: ANN201
    if by_source:
        groups = [e.source for e in examples]
        return GroupKFold(folds, shuffle=True, random_state=seed).split(examples, groups=groups)
    keys = ["+".join(sorted(e.labels)) for e in examples]
    common = Counter(keys)
    keys = [k if common[k] >= folds else "rare" for k in keys]
    return StratifiedKFold(folds, shuffle=True, random_state=seed).split(examples, keys)


def decisions(fold_list: list[Fold], examples: list[Example], config: Config) -> np.ndarray:
    truth = metrics.indicator([e.labels for e in examples])
    sources = [e.source for e in examples]
    out = np.zeros(truth.shape)
    for fold in fold_list:
        x_train, x_test = fold.scaled(config)
        weights = source_weights([sources[i] for i in fold.train], config.sources)
        for j in range(len(TOPICS)):
            svm = LinearSVC(C=config.c, class_weight="balanced" if config.balanced else None)
            svm.fit(x_train, truth[fold.train, j], sample_weight=weights)
            out[fold.test, j] = svm.decision_function(x_test)
    return out


def figures(truth: np.ndarray, raw: np.ndarray) -> dict:
    scores = fit_calibration(raw, truth).apply(raw)
    said = metrics.apply_thresholds(scores, metrics.best_thresholds(truth, scores))
    return summary(truth, said)


def summary(truth: np.ndarray, said: np.ndarray) -> dict:
    found = metrics.report(truth, said)
    in_scope = said.any(axis=1)
    return {
        "macro_f1": found["macro_f1"],
        "in_scope_precision": float(truth[in_scope].any(axis=1).mean()) if in_scope.any() else 0,
        "topics": {t: found["topics"][t]["f1"] for t in TOPICS},
    }


def row(name: str, lever: str, whole: dict, same: dict | None) -> str:
    same_f1 = f"{same['macro_f1']:.3f}" if same else "  -  "
    topics = " ".join(f"{whole['topics'][t]:.3f}" for t in TOPICS)
    return (
        f"| {name:<26} | {lever:<6} | {whole['macro_f1']:.3f} | {same_f1} "
        f"| {whole['in_scope_precision']:.3f} | {topics} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="configuration names to run (default: all)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-same-source", action="store_true", help="whole-source CV only")
    args = parser.parse_args()
    if not (LABELS.is_file() and CORPUS.is_file()):
        sys.exit(f"{LABELS.parent.parent} is absent: this benchmark reads the seed labels there")
    examples, _ = read_seed(LABELS, CORPUS)
    truth = metrics.indicator([e.labels for e in examples])
    print(f"seed: {len(examples)} items, {len({e.source for e in examples})} sources")
    start = time.perf_counter()
    schemes = {"whole": True} | ({} if args.no_same_source else {"same": False})
    folds = {
        name: [
            Fold(examples, np.asarray(a), np.asarray(b))
            for a, b in splits(examples, by_source, args.folds, args.seed)
        ]
        for name, by_source in schemes.items()
    }
    print(f"folds fitted in {time.perf_counter() - start:.0f} s")
    topics = " ".join(t.split("_")[0][:5] for t in TOPICS)
    print(f"\n| configuration              | lever  | whole | same  | in-sc | {topics} |")
    print("|---|---|---|---|---|---|")
    rules = summary(truth, metrics.indicator([keyword_labels(e.doc) for e in examples]))
    print(row("keyword rules", "-", rules, rules), flush=True)
    for config in CONFIGS:
        if args.only and config.name not in args.only:
            continue
        whole = figures(truth, decisions(folds["whole"], examples, config))
        same = (
            figures(truth, decisions(folds["same"], examples, config)) if "same" in folds else None
        )
        print(row(config.name, config.lever, whole, same), flush=True)
    print(
        f"\n{time.perf_counter() - start:.0f} s in all; whole = whole-source CV, same = "
        "stratified CV; in-sc = in-scope precision (whole-source); per-topic F1 whole-source"
    )


if __name__ == "__main__":
    main()
