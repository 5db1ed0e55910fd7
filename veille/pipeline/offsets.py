"""Each source's offset, wherever items are scored: the pull (refresh), re-scoring after a
promotion (retrain.rescore), `veille reclassify` and the review page's "why" panel all get it
here, so a stored score, a re-score with the same model and judgements, and its explanation
agree.

A source's offset for a model (classify/offsets.py) is fitted on that model's scores of the
source's items that curators judged after its training (Model.trained_until), the most recent
JUDGED of them; a source with none has no offset and its scores are the model's own.

Only the judgements made up to the moment the items are scored count (the `classified_at`
stored with the scores), so the "why" panel rebuilds the very offset a stored score used
even after curators judged more items of the source since.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
from sqlmodel import Session

from veille.store.judgements import fresh_judged_docs
from veille.types import Doc, Prediction

if TYPE_CHECKING:
    from veille.classify.model import Model

JUDGED = 200  # most recent judged items an offset is fitted on (scoring 200 takes ~30 ms)


@dataclass(frozen=True)
class SourceOffset:
    """One source's offset for one model: per topic, the log-odds shift, and how many
    judged items it was fitted on (the "why" panel says it)."""

    delta: np.ndarray
    judged: int


def source_offset(
    session: Session, model: Model, source_id: int, *, until: datetime | None
) -> SourceOffset | None:
    """The source's offset for `model` from the judgements made up to `until` (when the items
    are scored: their `classified_at`; None: all), or None (no judged item the model did not
    train on)."""
    judged = fresh_judged_docs(
        session, source_id=source_id, since=model.trained_until, until=until, limit=JUDGED
    )
    if not judged:
        return None
    delta = model.source_offset([d for d, _ in judged], [labels for _, labels in judged])
    return None if delta is None else SourceOffset(np.asarray(delta, dtype=float), len(judged))


def offsets(
    session: Session, model: Model, source_ids: Iterable[int], *, until: datetime | None
) -> dict[int, SourceOffset | None]:
    """source_offset of each source, once per source."""
    return {s: source_offset(session, model, s, until=until) for s in sorted(set(source_ids))}


def predict_by_source(
    model: Model,
    docs: Sequence[Doc],
    sources: Sequence[int],
    found: dict[int, SourceOffset | None],
) -> list[Prediction]:
    """model.predict of each doc with its source's offset (`sources[i]` is docs[i]'s), in
    the docs' order."""
    out: list[Prediction | None] = [None] * len(docs)
    groups: dict[int, list[int]] = {}
    for n, source in enumerate(sources):
        groups.setdefault(source, []).append(n)
    for source, rows in groups.items():
        offset = found.get(source)
        scored = model.predict([docs[n] for n in rows], offset.delta if offset else None)
        for n, p in zip(rows, scored, strict=True):
            out[n] = p
    return [p for p in out if p is not None]
