"""Input files: JSON lines with line-numbered problems, the seed join, curators' labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.classify_data import FIXTURES, records
from veille.classify import merge, read_lines, read_seed, training_examples
from veille.classify.examples import Problem, Record
from veille.errors import VeilleError
from veille.types import Doc, Example


def test_bad_lines_are_explained_with_their_number_and_the_rest_is_read() -> None:
    found = list(read_lines(FIXTURES / "bad.jsonl"))
    good = [f for f in found if isinstance(f, Record)]
    bad = {f.line: f.message for f in found if isinstance(f, Problem)}
    assert [(r.line, r.id) for r in good] == [(1, "ok1"), (6, "ok2"), (8, "7"), (10, "nulls")]
    assert good[3].doc == Doc("", "")
    assert good[2].doc == Doc("Numeric id is fine", "", summary="Covoiturage entre voisins.")
    assert good[1].doc.lang == "fr" and good[1].labels is None
    assert bad[2].startswith("not JSON")
    assert bad[4] == "not a JSON object"
    assert bad[5] == "missing `id` (a string or a number)"
    assert bad[7] == "missing `text`"
    assert bad[9].startswith("unknown topic 'gardening'")
    assert str(Problem(2, "not JSON")) == "line 2: not JSON"


def test_evaluation_input_needs_labels() -> None:
    found = list(read_lines(FIXTURES / "bad.jsonl", need_labels=True))
    assert {f.line: f.message for f in found if isinstance(f, Problem)}[1] == "missing `labels`"


def test_seed_labels_join_the_corpus_by_id(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    lines = [json.dumps({"id": r["id"], "labels": r["labels"], "sure": True}) for r in records()]
    lines[3] = "{broken"
    lines.append(json.dumps({"id": "nowhere", "labels": []}))
    labels.write_text("\n".join(lines) + "\n")
    examples, problems = read_seed(labels, FIXTURES / "items.jsonl")
    assert len(examples) == len(records()) - 1
    first = examples[0]
    assert (first.key, first.labels, first.source) == (
        "t000",
        ("social_innovation",),
        "village-news",
    )
    assert first.doc.title.startswith("Le dernier commerce")
    assert [str(p) for p in problems] == [
        "line 4: labels.jsonl: unusable label line (Expecting property name enclosed in double "
        "quotes: line 1 column 2 (char 1))",
        f"line {len(lines)}: labels.jsonl: id 'nowhere' is not in the corpus",
    ]
    with pytest.raises(VeilleError, match=r"missing.jsonl: no such file \(training data"):
        read_seed(tmp_path / "missing.jsonl", FIXTURES / "items.jsonl")


def test_curators_win_over_seed_labels_for_the_same_item() -> None:
    doc = Doc("t", "x")
    seed = [
        Example("a", doc, ("social_innovation",), url="https://x.org/1"),
        Example("b", doc, ()),
        Example("c", doc, ("open_collaboration",), url="https://x.org/3"),
    ]
    curated = [
        Example("a", doc, (), curated=True),  # same key
        Example("guid-9", doc, ("collaborative_consumption",), url="https://x.org/3", curated=True),
        Example("guid-10", doc, ("open_collaboration",), curated=True),  # not in the seed
    ]
    merged = merge(seed, curated)
    assert [(e.key, e.labels) for e in merged] == [
        ("b", ()),
        ("a", ()),
        ("guid-9", ("collaborative_consumption",)),
        ("guid-10", ("open_collaboration",)),
    ]


def test_training_examples_with_explicit_paths(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    labels.write_text(
        "".join(json.dumps({"id": r["id"], "labels": r["labels"]}) + "\n" for r in records()[:10])
    )
    curated = [Example("t001", Doc("t", "x"), (), curated=True)]
    examples, problems, note = training_examples(curated, labels, FIXTURES / "items.jsonl")
    assert len(examples) == 10 and not problems
    assert note == "10 seed items, 1 curator-labelled items (1 of them override a seed label)"
    with pytest.raises(VeilleError, match="nope.jsonl: no such file"):
        training_examples(curated, tmp_path / "nope.jsonl", FIXTURES / "items.jsonl")


def test_without_shared_curators_labels_are_the_training_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from veille.classify import examples as module
    from veille.classify import train

    monkeypatch.setattr(module, "SEED_LABELS", tmp_path / "absent" / "train.jsonl")
    curated = [
        Example(f"g{i}", Doc("Covoiturage", "x"), ("collaborative_consumption",), curated=True)
        for i in range(3)
    ]
    examples, problems, note = training_examples(curated)
    assert examples == curated and not problems
    assert note.endswith("is absent: training on 3 curator-labelled items alone")
    with pytest.raises(VeilleError, match="not enough labelled items to train"):
        train(examples)
