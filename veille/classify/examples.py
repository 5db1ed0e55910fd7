"""Labelled and unlabelled items as files give them: the seed labels joined with the corpus,
curators' labels merged over them, and the JSON lines of `veille classify` / `veille evaluate`.

A malformed line never stops a run: it is reported with its line number and skipped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from veille.errors import VeilleError
from veille.types import TOPICS, Doc, Example, classifier_doc

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Record:
    """One usable input line."""

    line: int
    id: str
    doc: Doc
    labels: tuple[str, ...] | None = None  # None when the line carries no `labels`


@dataclass(frozen=True, slots=True)
class Problem:
    """One unusable input line, and why."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def _open(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, start=1):
                if line.strip():
                    yield number, line
    except OSError as exc:
        raise VeilleError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _labels(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("`labels` must be a list of topic names")
    unknown = sorted(set(value) - set(TOPICS))
    if unknown:
        raise ValueError(f"unknown topic {unknown[0]!r} in `labels` (expected {', '.join(TOPICS)})")
    return tuple(t for t in TOPICS if t in value)


def _text(data: dict, key: str, required: bool) -> str:
    if key not in data and required:
        raise ValueError(f"missing `{key}`")
    value = data.get(key)
    if value is None:  # `"title": null` is an empty title, not an error
        return ""
    if not isinstance(value, str):
        raise ValueError(f"`{key}` must be a string")
    return value


def parse_line(number: int, line: str, *, need_labels: bool = False) -> Record | Problem:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        return Problem(number, f"not JSON ({exc.msg} at column {exc.colno})")
    if not isinstance(data, dict):
        return Problem(number, "not a JSON object")
    try:
        item_id = data.get("id")
        if not isinstance(item_id, (str, int)) or isinstance(item_id, bool) or item_id == "":
            raise ValueError("missing `id` (a string or a number)")
        doc = classifier_doc(
            title=_text(data, "title", True),
            page_title=None,
            text=_text(data, "text", True),
            summary=_text(data, "summary", False),
            lang=_text(data, "lang", False) or None,
        )
        if need_labels and "labels" not in data:
            raise ValueError("missing `labels`")
        labels = _labels(data["labels"]) if "labels" in data else None
    except ValueError as exc:
        return Problem(number, str(exc))
    return Record(number, str(item_id), doc, labels)


def read_lines(path: Path, *, need_labels: bool = False) -> Iterator[Record | Problem]:
    """Every non-blank line of a JSON-lines file, parsed or explained."""
    for number, line in _open(path):
        yield parse_line(number, line, need_labels=need_labels)


def read_seed(labels_path: Path, corpus_path: Path) -> tuple[list[Example], list[Problem]]:
    """The seed labels (`id`, `labels`) joined on `id` with the corpus records' text."""
    for path in (labels_path, corpus_path):
        if not path.is_file():
            raise VeilleError(f"{path}: no such file (training data; see --labels/--corpus)")
    wanted: dict[str, tuple[int, tuple[str, ...]]] = {}
    problems: list[Problem] = []
    for number, line in _open(labels_path):
        try:
            data = json.loads(line)
            wanted[str(data["id"])] = (number, _labels(data["labels"]))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            problems.append(Problem(number, f"{labels_path.name}: unusable label line ({exc})"))
    examples = []
    for number, line in _open(corpus_path):
        try:
            rec = json.loads(line)
            if str(rec["id"]) not in wanted:
                continue
            doc = classifier_doc(
                title=rec.get("title") or "",
                page_title=None,
                text=rec.get("text") or "",
                summary=rec.get("summary") or "",
                lang=rec.get("lang"),
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            problems.append(Problem(number, f"{corpus_path.name}: unusable record ({exc})"))
            continue
        key = str(rec["id"])
        examples.append(
            Example(key, doc, wanted.pop(key)[1], rec.get("source") or "", rec.get("url"))
        )
    for key, (number, _) in wanted.items():
        problems.append(Problem(number, f"{labels_path.name}: id {key!r} is not in the corpus"))
    return examples, problems


def merge(seed: Iterable[Example], curated: Sequence[Example]) -> list[Example]:
    """Seed examples plus curators' ones; a curator's call replaces the seed label of the same
    item (same key, or same URL)."""
    keys = {e.key for e in curated}
    urls = {e.url for e in curated if e.url}
    kept = [e for e in seed if e.key not in keys and not (e.url and e.url in urls)]
    return kept + list(curated)


# The seed data lives next to the checkout (../shared), read in place, never copied.
SHARED = Path(__file__).resolve().parents[3] / "shared"
SEED_LABELS = SHARED / "labels" / "train.jsonl"
SEED_CORPUS = SHARED / "corpora" / "articles.jsonl"


def training_examples(
    curated: Sequence[Example], labels: Path | None = None, corpus: Path | None = None
) -> tuple[list[Example], list[Problem], str]:
    """Seed examples merged with curators' ones, the unusable seed lines, and a note.

    Without explicit paths the seed is read from ../shared; when that is absent, curators'
    labels are the whole training set (`train` then says whether they are enough).
    """
    if labels is None and corpus is None and not (SEED_LABELS.is_file() and SEED_CORPUS.is_file()):
        note = f"{SHARED} is absent: training on {len(curated)} curator-labelled items alone"
        return list(curated), [], note
    seed, problems = read_seed(labels or SEED_LABELS, corpus or SEED_CORPUS)
    examples = merge(seed, curated)
    replaced = len(seed) + len(curated) - len(examples)
    note = (
        f"{len(seed)} seed items, {len(curated)} curator-labelled items "
        f"({replaced} of them override a seed label)"
    )
    return examples, problems, note
