"""Data the classifier tests share: the hand-written examples of tests/fixtures/classify and
a small model trained on them once per test session (a few seconds), so tests run without
../shared. Tests that need the seed data read it in place through `shared_path`."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from veille.classify import train
from veille.classify.train import TrainResult
from veille.types import Doc, Example

FIXTURES = Path(__file__).parent / "fixtures" / "classify"


def records(name: str = "items.jsonl") -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / name).read_text().splitlines() if line]


@lru_cache(maxsize=1)
def tiny_examples() -> tuple[Example, ...]:
    return tuple(
        Example(
            r["id"], Doc(r["title"], r["text"], lang=r["lang"]), tuple(r["labels"]), r["source"]
        )
        for r in records()
    )


@lru_cache(maxsize=1)
def tiny_result() -> TrainResult:
    return train(list(tiny_examples()), folds=3)
