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
import pickle
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

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
    sources: str = "none"  # per-source sample weights (train.source_weights)
    same: bool = False  # also measured with same-source CV (as many fits again)
    embed: float = 0.0  # weight of wordllama's averaged static embeddings (lever d)
    min_sources: int = 0  # words and grams kept only if found in this many training sources
    topic_terms: str = ""  # extra per-topic lexicon columns (topic_columns), "+"-separated


CONFIGS = [
    Config("today", "-", same=True),
    Config("lexicon groups", "a", groups=1.0, same=True),
    Config("source weights sqrt", "b", sources="sqrt"),
    Config("source weights cap", "b", sources="cap"),
    Config("source weights equal", "b", sources="equal"),
    Config("lexicon + sqrt", "a+b", groups=1.0, sources="sqrt"),
    Config("lexicon + cap", "a+b", groups=1.0, sources="cap"),
    Config("lexicon groups x0.5", "a", groups=0.5),
    Config("lexicon groups x2", "a", groups=2.0),
    Config("lexicon, no topic flags", "a", groups=1.0, flags=0.0),
    Config("C 0.1", "c", c=0.1),
    Config("C 0.25", "c", c=0.25),
    Config("C 1", "c", c=1.0),
    Config("no class weight", "c", balanced=False),
    Config("gram weight 0.5", "c", grams=0.5),
    Config("gram weight 2", "c", grams=2.0),
    Config("flags x2", "c", flags=2.0),
    Config("no keyword flags", "(ref)", flags=0.0),
    Config("words in >= 2 sources", "e", min_sources=2),
    Config("words in >= 3 sources", "e", min_sources=3),
    Config("lexicon + >= 3 sources", "a+e", groups=1.0, min_sources=3),
    Config("topic flags, all terms", "a'", topic_terms="wide", flags=0.0),
    Config("+ rule-term counts", "a'", topic_terms="count"),
    Config("+ all-term counts", "a'", topic_terms="countwide"),
    Config("+ title flags", "a'", topic_terms="title"),
    Config("wordllama", "d", embed=1.0),
    Config("lexicon + wordllama", "a+d", groups=1.0, embed=1.0),
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
        # In how many training sources each column occurs (lever e).
        sources = np.asarray([examples[i].source for i in train])
        names, which = np.unique(sources, return_inverse=True)
        member = sp.csr_matrix(
            (np.ones(len(train)), (which, np.arange(len(train)))), shape=(len(names), len(train))
        )
        present = self.x_train.copy()
        present.data[:] = 1.0
        self.source_df = ((member @ present) > 0).sum(axis=0).A.ravel()
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
        x_train, x_test = self.x_train, self.x_test
        if config.min_sources:
            text_end = self.blocks["grams"][1]
            rare = np.flatnonzero(self.source_df[:text_end] < config.min_sources)
            x_train, x_test = self._drop(x_train, rare), self._drop(x_test, rare)
        keep = np.flatnonzero(scale)
        diag = sp.diags(scale[keep])
        x_train, x_test = x_train[:, keep] @ diag, x_test[:, keep] @ diag
        for kind in filter(None, config.topic_terms.split("+")):
            dense = TOPIC_TERMS[kind]
            x_train = sp.hstack([x_train, sp.csr_matrix(dense[self.train])])
            x_test = sp.hstack([x_test, sp.csr_matrix(dense[self.test])])
        if config.embed:
            dense = config.embed * EMBEDDINGS["rows"]
            x_train = sp.hstack([x_train, sp.csr_matrix(dense[self.train])])
            x_test = sp.hstack([x_test, sp.csr_matrix(dense[self.test])])
        return x_train.tocsr(), x_test.tocsr()

    def _drop(self, x: sp.csc_matrix, columns: np.ndarray) -> sp.csc_matrix:
        """Zero `columns`, then give the word and gram blocks unit length again per row."""
        x = x.tocsr(copy=True)
        mask = np.isin(x.indices, columns)
        x.data[mask] = 0.0
        x.eliminate_zeros()
        for block in ("words", "grams"):
            low, high = self.blocks[block]
            inside = (x.indices >= low) & (x.indices < high)
            rows = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
            norms = np.sqrt(np.bincount(rows[inside], np.square(x.data[inside]), x.shape[0]))
            norms[norms == 0] = 1.0
            x.data[inside] /= norms[rows[inside]]
        return x.tocsc()


EMBEDDINGS: dict[str, np.ndarray] = {}
TOPIC_TERMS: dict[str, np.ndarray] = {}


def topic_columns(examples: list[Example]) -> dict[str, np.ndarray]:
    """Per item and topic, other forms of the lexicon's knowledge than one flag (lever a'):
    "wide": any term of the topic's groups (rules and related terms); "count": log(1 + how many
    distinct rule terms); "countwide": the same over all terms; "title": a rule term in the
    title."""
    from veille.classify import lexicon
    from veille.classify.vectors import Vectorizer
    from veille.types import Doc

    terms, groups, rules = (np.asarray(a) for a in zip(*lexicon.entries(), strict=True))
    topic_of = np.asarray([g.topic or "" for g in lexicon.GROUPS])[groups]
    rule = np.stack([(topic_of == t) & rules for t in TOPICS], axis=1).astype(float)
    wide = np.stack([topic_of == t for t in TOPICS], axis=1).astype(float)
    vectorizer = Vectorizer()

    def found(docs: list) -> np.ndarray:
        counts, words, spaced = vectorizer._scan(docs)
        return vectorizer._lexicon().index.find(counts, words, spaced).astype(float)

    body = found([e.doc for e in examples])
    title = found([Doc(e.doc.title, "") for e in examples])
    return {
        "wide": (body @ wide > 0).astype(float),
        "count": np.log1p(body @ rule),
        "countwide": np.log1p(body @ wide),
        "title": (title @ rule > 0).astype(float),
    }


def wordllama_rows(examples: list[Example]) -> np.ndarray:
    """Averaged, l2-normalised static embeddings (256 numbers per item) from the files the
    wordllama wheel ships, read directly: its loader looks for the tokenizer in a folder the
    wheel does not have, then tries a model hub. Nothing is downloaded."""
    import wordllama
    from safetensors import safe_open
    from tokenizers import Tokenizer
    from wordllama.inference import WordLlamaInference

    from veille.classify.text import body_of, title_of

    root = Path(wordllama.__file__).parent
    tokenizer = Tokenizer.from_file(str(root / "tokenizers" / "l2_supercat_tokenizer_config.json"))
    weights = root / "weights" / "l2_supercat_256.safetensors"
    with safe_open(weights, framework="np", device="cpu") as f:
        model = WordLlamaInference(f.get_tensor("embedding.weight"), tokenizer)
    texts = [f"{title_of(e.doc)}\n{body_of(e.doc)}" for e in examples]
    return np.asarray(model.embed(texts, norm=True), dtype=np.float32)


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


def parse_config(text: str) -> Config:
    name, _, fields = text.partition("=")
    values: dict = {}
    for item in filter(None, fields.split(",")):
        key, _, value = item.partition(":")
        kind = type(getattr(Config("x", "x"), key))
        values[key] = value if kind is str else (value == "1" if kind is bool else kind(value))
    return Config(name, "combined", same=True, **values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="configuration names to run (default: all)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-same-source", action="store_true", help="whole-source CV only")
    parser.add_argument(
        "--cache", type=Path, help="keep each fold's rows in this folder for the next run"
    )
    parser.add_argument(
        "--all-same", action="store_true", help="same-source CV for every configuration"
    )
    parser.add_argument(
        "--add",
        nargs="*",
        default=[],
        help="extra configurations, as "
        "name=field:value,field:value (e.g. best=groups:1,sources:sqrt,c:0.25)",
    )
    args = parser.parse_args()
    if not (LABELS.is_file() and CORPUS.is_file()):
        sys.exit(f"{LABELS.parent.parent} is absent: this benchmark reads the seed labels there")
    examples, _ = read_seed(LABELS, CORPUS)
    truth = metrics.indicator([e.labels for e in examples])
    print(f"seed: {len(examples)} items, {len({e.source for e in examples})} sources")
    start = time.perf_counter()
    schemes = {"whole": True} | ({} if args.no_same_source else {"same": False})
    folds = {}
    for name, by_source in schemes.items():
        cached = (
            args.cache / f"folds-{name}-{args.folds}-{args.seed}.pickle" if args.cache else None
        )
        if cached and cached.is_file():
            folds[name] = pickle.loads(cached.read_bytes())
            continue
        made = splits(examples, by_source, args.folds, args.seed)
        folds[name] = [Fold(examples, np.asarray(a), np.asarray(b)) for a, b in made]
        if cached:
            cached.write_bytes(pickle.dumps(folds[name]))
    print(f"folds fitted in {time.perf_counter() - start:.0f} s")
    topics = " ".join(t.split("_")[0][:5] for t in TOPICS)
    print(f"\n| configuration              | lever  | whole | same  | in-sc | {topics} |")
    print("|---|---|---|---|---|---|")
    rules = summary(truth, metrics.indicator([keyword_labels(e.doc) for e in examples]))
    print(row("keyword rules", "-", rules, rules), flush=True)
    extra = [parse_config(text) for text in args.add]
    if any(c.embed for c in CONFIGS + extra if not args.only or c.name in args.only):
        try:
            began = time.perf_counter()
            EMBEDDINGS["rows"] = wordllama_rows(examples)
            print(f"wordllama embeddings in {time.perf_counter() - began:.0f} s")
        except ImportError:
            print("wordllama is not installed: its lever is skipped")
    ready = [c for c in CONFIGS + extra if not c.embed or "rows" in EMBEDDINGS]
    if any(c.topic_terms for c in ready if not args.only or c.name in args.only):
        TOPIC_TERMS.update(topic_columns(examples))
    if args.only:  # in the order asked
        ready = sorted(
            (c for c in ready if c.name in args.only or c in extra),
            key=lambda c: args.only.index(c.name) if c.name in args.only else len(args.only),
        )
    for config in ready:
        if (args.only or extra) and config.name not in (args.only or []) and config not in extra:
            continue
        whole = figures(truth, decisions(folds["whole"], examples, config))
        same = None
        if "same" in folds and (config.same or args.all_same):
            same = figures(truth, decisions(folds["same"], examples, config))
        print(row(config.name, config.lever, whole, same), flush=True)
    print(
        f"\n{time.perf_counter() - start:.0f} s in all; whole = whole-source CV, same = "
        "stratified CV; in-sc = in-scope precision (whole-source); per-topic F1 whole-source"
    )


if __name__ == "__main__":
    main()
