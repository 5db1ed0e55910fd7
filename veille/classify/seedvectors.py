"""The seed examples as feature vectors: what retraining needs of the seed corpus, without
its texts, shipped in the package (`seed/seed_vectors.npz`).

The seed corpus (../shared) may not be redistributed, so a `pip install` or the Docker image
has curators' labels only: trained on those alone, a model forgets what 3,000 seed items
taught and is worse on every source curators have not judged yet. Two ways keep the seed's
knowledge: ship the seed examples' feature vectors, or train curators' labels on top of the
seed model (a prior on its weights). The vectors were chosen: a retrain then solves the same
problem as the seed training (the same examples, the same estimator, curators' items added
and overriding a seed label of the same page), so its figures compare with the seed's, while a
prior makes the result depend on a strength to tune. They are rows of the seed model's own
Vectorizer.transform (weighted, normalised counts of its fixed vocabulary: no text can be read
back in order), their labels, a source per row (for whole-source figures) and a hash of each
row's corpus id and URL (so a curator's call replaces the seed label of the same page).

A retrain without ../shared fits the seed model's vocabulary (it is not refitted: the vectors
only mean something in it) on these rows plus curators' items transformed the same way; the
model it gives has no .skops file, its .npz is complete. The vectors belong to one seed model:
`veille train --export-seed` writes them again after the seed model is rebuilt.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from veille.errors import ModelError
from veille.types import TOPICS, Example

if TYPE_CHECKING:
    from veille.classify.model import Model
    from veille.classify.train import TrainResult

log = logging.getLogger(__name__)
# Appended to every model card (artefacts._set_current): how a retrain keeps the seed's
# knowledge where the seed corpus is absent, and why this way.
CARD_SECTION = """
## Retraining without the seed corpus

The seed corpus may not be redistributed, so an install without `../shared` (a `pip install`,
the Docker image) cannot read its texts. The package ships the seed examples' feature vectors
instead (`seed_vectors.npz`: rows of this vocabulary's weighted, normalised counts, their
labels, a source per row and hashes of their ids and URLs; no text, nothing in reading order).
A retrain there fits the seed model's fixed vocabulary on those rows plus curators' items, so
it keeps what the seed knew and adds what curators taught; a curator's call replaces the seed
label of the same page. Chosen over training curators' labels on top of the seed model (a
prior on its weights) because a retrain then solves the same problem as the seed training,
with the same estimator, and needs no prior strength to tune. Whichever way a model was
trained, it replaces the current one only if it does not do worse on the most recent
curator-judged items that neither trained on (at least 30).
"""
FILE = "seed_vectors.npz"
FORMAT = "veille-seed-vectors/1"
HINT = "run `veille train --export-seed` where ../shared is present"


def page_key(value: str) -> str:
    """A short hash of a corpus id, GUID or URL: matches pages without storing them."""
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def keys_of(example: Example) -> set[str]:
    return {page_key(example.key)} | ({page_key(example.url)} if example.url else set())


@dataclass(frozen=True)
class SeedVectors:
    rows: sp.csr_matrix  # seed examples × the seed model's features, float32
    truth: np.ndarray  # seed examples × topics, 0/1
    sources: list[str]  # per row
    keys: list[tuple[str, str]]  # per row: page_key of its corpus id, of its URL ("" if none)
    model_version: str

    def pages(self) -> frozenset[str]:
        return frozenset(k for pair in self.keys for k in pair if k)


def export(model: Model, examples: Sequence[Example], path: Path) -> dict[str, int | str]:
    """Write the vectors of `examples` (the seed labels) under `model`'s vocabulary."""
    rows = sp.csr_matrix(model.linear.features.transform([e.doc for e in examples]))
    rows.sum_duplicates()
    rows.sort_indices()
    bits = np.asarray(
        [sum(1 << j for j, t in enumerate(TOPICS) if t in e.labels) for e in examples]
    )
    names = sorted({e.source for e in examples})
    at = {name: i for i, name in enumerate(names)}
    # Column indices as deltas within each row (small numbers), values as float16 rounded to
    # 6 significant bits (weights refitted from them correlate at 0.99996 with the exact
    # ones), each split into its low and high bytes: zlib finds the runs. A fifth of the size.
    starts = rows.indptr[:-1][np.diff(rows.indptr) > 0]
    deltas = np.diff(rows.indices, prepend=0).astype(np.int64)
    deltas[starts] = rows.indices[starts]
    wide = np.uint32 if deltas.max(initial=0) >= 1 << 16 else np.uint16
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as out:
        np.savez_compressed(
            out,
            format=np.asarray(FORMAT),
            model_version=np.asarray(model.version),
            shape=np.asarray(rows.shape, np.int64),
            data=_bytes_apart(_round_f16(rows.data)),
            index_deltas=_bytes_apart(deltas.astype(wide)),
            indptr=rows.indptr.astype(np.int64),
            labels=bits.astype(np.uint8),
            source_names=np.asarray(names, dtype=str),
            source=np.asarray([at[e.source] for e in examples], np.int32),
            id_key=np.asarray([page_key(e.key) for e in examples], dtype=str),
            url_key=np.asarray([page_key(e.url) if e.url else "" for e in examples], dtype=str),
        )
    tmp.replace(path)
    return {"rows": rows.shape[0], "stored": int(rows.nnz), "bytes": path.stat().st_size}


def load(path: Path, model: Model) -> SeedVectors:
    """The vectors, checked to belong to `model` (the seed model whose vocabulary they use)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if str(f["format"]) != FORMAT:
                raise ModelError(f"{path}: not a {FORMAT} file; {HINT}")
            version = str(f["model_version"])
            indptr = f["indptr"]
            deltas = _bytes_together(f["index_deltas"]).astype(np.int64)
            indices = np.empty_like(deltas)
            for start, end in zip(indptr[:-1], indptr[1:], strict=True):
                indices[start:end] = np.cumsum(deltas[start:end])
            data = _bytes_together(f["data"]).view(np.float16).astype(np.float32)
            rows = sp.csr_matrix((data, indices.astype(np.int32), indptr), shape=tuple(f["shape"]))
            bits = f["labels"].astype(np.int64)
            truth = np.stack([(bits >> j) & 1 for j in range(len(TOPICS))], axis=1)
            names = f["source_names"].tolist()
            sources = [names[i] for i in f["source"].tolist()]
            keys = list(zip(f["id_key"].tolist(), f["url_key"].tolist(), strict=True))
    except FileNotFoundError:
        raise ModelError(f"{path}: no seed vectors; {HINT}") from None
    except ModelError:
        raise
    except Exception as exc:  # zipfile, numpy, KeyError: damaged or foreign
        raise ModelError(f"{path}: unreadable seed vectors ({exc}); {HINT}") from None
    if version != model.version:
        raise ModelError(f"{path}: made with seed model {version}, not {model.version}; {HINT}")
    return SeedVectors(rows, truth.astype(np.int8), sources, keys, version)


def train_on_vectors(
    seed: SeedVectors,
    base: Model,
    curated: Sequence[Example],
    *,
    folds: int = 5,
    random_state: int = 0,
) -> TrainResult:
    """Seed rows plus curators' items, in `base`'s fixed vocabulary: cross-validated scores,
    Platt calibration, F1-best thresholds, then the final fit (as train.train does)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    from veille.classify import metrics
    from veille.classify.model import Calibration
    from veille.classify.train import TrainResult, data_hash

    start = time.perf_counter()
    overridden = set().union(*(keys_of(e) for e in curated)) if curated else set()
    keep = [i for i, pair in enumerate(seed.keys) if not (set(pair) - {""}) & overridden]
    own = base.linear.features.transform([e.doc for e in curated]) if curated else None
    parts = [seed.rows[keep]] + ([sp.csr_matrix(own, dtype=np.float32)] if curated else [])
    x = sp.vstack(parts).tocsr()
    truth = np.vstack([seed.truth[keep], metrics.indicator([e.labels for e in curated])])
    c = float(base.sidecar.get("params", {}).get("topics__estimator__C", 0.5))
    keys = ["+".join(str(v) for v in row) for row in truth]
    common = Counter(keys)
    strata = [k if common[k] >= folds else "rare" for k in keys]
    decisions = np.zeros(truth.shape)
    for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=0).split(
        x, strata
    ):
        w, b = _fit(x[train_idx], truth[train_idx], c, random_state)
        decisions[test_idx] = x[test_idx] @ w + b
    slope, intercept = {}, {}
    for j, topic in enumerate(TOPICS):
        platt = LogisticRegression(C=1e4).fit(decisions[:, [j]], truth[:, j])
        slope[topic] = round(float(platt.coef_[0, 0]), 6)
        intercept[topic] = round(float(platt.intercept_[0]), 6)
    calibration = Calibration(slope, intercept)
    scores = calibration.apply(decisions)
    thresholds = metrics.best_thresholds(truth, scores)
    predicted = metrics.apply_thresholds(scores, thresholds)
    figures = {
        "cv": {
            "folds": folds,
            "seed": random_state,
            **metrics.report(truth, predicted),
            "confusion": metrics.confusion(truth, predicted),
        },
        # The keyword rules read texts, which the vectors are not: their figures on the seed
        # items as measured when the seed model was trained (the bulk of these examples).
        "baseline": base.metrics.get("baseline"),
    }
    w, b = _fit(x, truth, c, random_state)
    linear = replace(base.linear, weights=w, intercepts=b)
    model = type(base)(
        linear,
        calibration,
        thresholds,
        metrics=figures,
        unsure_band=base.unsure_band,
        sidecar={"params": dict(base.sidecar.get("params", {})), "vocabulary": base.version},
    )
    sizes = {t: int(truth[:, j].sum()) for j, t in enumerate(TOPICS)}
    sizes |= {"off_topic": int((~truth.any(axis=1)).sum()), "total": int(truth.shape[0])}
    sizes |= {"curated": len(curated), "seed_vectors": len(keep)}
    seconds = round(time.perf_counter() - start, 1)
    log.info("trained on seed vectors", extra={"stage": "classify", "items": truth.shape[0]})
    return TrainResult(
        model=model,
        metrics=figures,
        sizes=sizes,
        data_hash=data_hash(curated) + f":{seed.model_version}",
        seconds=seconds,
        oof_scores=scores,
        truth=truth,
    )


def _fit(x: sp.csr_matrix, truth: np.ndarray, c: float, random_state: int) -> tuple:
    """One linear SVM per topic, as the seed model's: weights (features × topics), intercepts."""
    from sklearn.svm import LinearSVC

    weights, intercepts = [], []
    for j in range(truth.shape[1]):
        svm = LinearSVC(C=c, class_weight="balanced", random_state=random_state)
        svm.fit(x, truth[:, j])
        weights.append(svm.coef_.ravel())
        intercepts.append(float(svm.intercept_[0]))
    return np.stack(weights, axis=1), np.asarray(intercepts)


def _round_f16(values: np.ndarray, dropped: int = 5) -> np.ndarray:
    """float16 with its `dropped` low mantissa bits rounded away."""
    bits = values.astype(np.float16).view(np.uint16).astype(np.uint32)
    half = 1 << (dropped - 1)
    bits = ((bits + half) >> dropped) << dropped
    return np.minimum(bits, 0x7BFF).astype(np.uint16).view(np.float16)


def _bytes_apart(values: np.ndarray) -> np.ndarray:
    """Values as a (bytes per value) × n uint8 array: like bytes side by side."""
    raw = values.view(np.uint8).reshape(len(values), values.dtype.itemsize).T
    return np.ascontiguousarray(raw)


def _bytes_together(raw: np.ndarray) -> np.ndarray:
    """Back from _bytes_apart: unsigned integers of the original width (view them as needed)."""
    width = raw.shape[0]
    joined = np.ascontiguousarray(raw.T).reshape(-1)
    if width == 2:
        return joined.view(np.uint16)
    return joined.view(np.uint32)
