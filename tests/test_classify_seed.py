"""Against the seed data of ../shared (skipped when it is absent): the join, the quality of
the recipe on items it did not train on, and the committed model a fresh install loads."""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

import numpy as np
import pytest

from tests.conftest import shared_path
from veille.classify import load_model, metrics, read_seed
from veille.classify.artefacts import SEED_DIR
from veille.classify.baseline import keyword_labels
from veille.classify.model import build_pipeline
from veille.classify.train import data_hash
from veille.types import TOPICS, Example


@lru_cache(maxsize=1)
def _seed() -> tuple[Example, ...]:
    labels = shared_path("labels", "train.jsonl")
    corpus = shared_path("corpora", "articles.jsonl")
    examples, problems = read_seed(labels, corpus)
    assert not problems
    return tuple(examples)


def test_the_seed_labels_join_the_corpus() -> None:
    examples = _seed()
    counts = Counter(t for e in examples for t in e.labels)
    assert len(examples) == 3103
    assert counts == {
        "open_collaboration": 989,
        "social_innovation": 384,
        "collaborative_consumption": 379,
    }
    assert sum(1 for e in examples if not e.labels) == 1594
    assert all(e.source and e.doc.text for e in examples)


@pytest.mark.slow
def test_the_recipe_beats_keyword_rules_on_items_it_never_saw() -> None:
    examples = _seed()
    rng = np.random.default_rng(0)
    held = rng.random(len(examples)) < 0.3
    train = [e for e, h in zip(examples, held, strict=True) if not h]
    test = [e for e, h in zip(examples, held, strict=True) if h]
    truth = metrics.indicator([e.labels for e in train])
    pipeline = build_pipeline().fit([e.doc for e in train], truth)
    said = (pipeline.decision_function([e.doc for e in test]) > 0).astype(np.int8)
    expected = metrics.indicator([e.labels for e in test])
    model = metrics.report(expected, said)["macro_f1"]
    rules = metrics.report(expected, metrics.indicator([keyword_labels(e.doc) for e in test]))
    assert model > rules["macro_f1"] + 0.08, (model, rules["macro_f1"])


def test_the_committed_model_is_the_seed_model() -> None:
    examples = _seed()
    model = load_model(SEED_DIR)
    sidecar = model.sidecar
    assert sidecar["data_hash"] == data_hash(examples)
    assert sidecar["sizes"]["total"] == len(examples) and sidecar["sizes"]["curated"] == 0
    cv, base = model.metrics["cv"], model.metrics["baseline"]
    assert cv["folds"] == 5 and set(model.thresholds) == set(TOPICS)
    # Whole-source folds (new feeds) are the figure; same-source ones sit beside it.
    assert cv["scheme"] == "whole_source" and cv["macro_f1"] > base["macro_f1"] + 0.02
    assert model.metrics["same_source"]["macro_f1"] > base["macro_f1"] + 0.1
    assert (SEED_DIR / sidecar["model_file"]).stat().st_size < 5_000_000
