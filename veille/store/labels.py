"""Queries the classifier needs: curators' labels as training examples, recent items to
reclassify after a retrain, and writing a model's verdicts back onto items.

A curator's labels are `Item.curator_labels` once `reviewed_at` is set (an empty list is a
judgement too: off-topic). They are examples with the item's own stored text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from veille.store.models import Digest, Item, Source
from veille.types import TOPICS, Doc, Example, Prediction, classifier_doc

CHUNK = 1000  # rows per fetch and per UPDATE batch
log = logging.getLogger(__name__)


def effective(predicted: Sequence[str] | None, judged: Sequence[str] | None) -> list[str]:
    """The one rule of "effective labels": the curator's labels once judged (an empty list is
    a judgement: off-topic), else the classifier's. `judged` is None until a curator judged."""
    return list(judged) if judged is not None else list(predicted or ())


def effective_labels(item: Item) -> list[str]:
    """An item's effective labels (`effective` on its stored columns)."""
    return effective(item.labels, item.curator_labels)


def doc_of(item: Item) -> Doc:
    """What the classifier read of a stored item when the pull scored it (the same function
    built it then), for training, re-scoring and the review page's explanations."""
    return classifier_doc(
        title=item.title,
        page_title=item.doc_title,
        text=item.text,
        summary=item.summary,
        lang=item.lang,
    )


def curator_examples(session: Session) -> list[Example]:
    """Every item a curator has judged, as a training example (curators win over seeds)."""
    return [example for example, _ in judged_examples(session)]


def judged_examples(session: Session) -> list[tuple[Example, datetime]]:
    """Every item a curator has judged, as a training example, with when it was judged.

    A label naming no topic of the taxonomy (a renamed topic, a hand-edited row) is dropped
    with a warning naming the item; the item's other labels stay."""
    query = (
        select(Item, Source.name)
        .join(Source, col(Source.id) == col(Item.source_id))
        .where(col(Item.reviewed_at).is_not(None), col(Item.curator_labels).is_not(None))
        .order_by(col(Item.id))
        .execution_options(yield_per=CHUNK)
    )
    out = []
    for item, source in session.exec(query):
        given = set(item.curator_labels or ())
        if given - set(TOPICS):
            log.warning(
                "curator label names no topic: dropped",
                extra={"item": item.id, "labels": sorted(given - set(TOPICS))},
            )
        labels = tuple(t for t in TOPICS if t in given)
        example = Example(
            key=item.guid,
            doc=doc_of(item),
            labels=labels,
            source=source,
            url=item.canonical_url or item.url,
            curated=True,
        )
        out.append((example, item.reviewed_at))
    return out


@dataclass(frozen=True, slots=True)
class Classified:
    """A stored item as reclassification sees it."""

    id: int
    doc: Doc
    labels: tuple[str, ...]
    model_version: str | None
    reviewed: bool
    source_id: int = 0  # its source's offset applies when it is scored again


def recent_items(session: Session, *, since: datetime) -> Iterator[Classified]:
    """Items first seen since `since`, oldest first, streamed."""
    query = (
        select(Item)
        .where(col(Item.first_seen_at) >= since)
        .order_by(col(Item.first_seen_at), col(Item.id))
        .execution_options(yield_per=CHUNK)
    )
    for item in session.exec(query):
        yield Classified(
            id=int(item.id or 0),
            doc=doc_of(item),
            labels=tuple(item.labels or ()),
            model_version=item.model_version,
            reviewed=item.reviewed_at is not None,
            source_id=int(item.source_id),
        )


def unsent_items(session: Session, *, since: datetime) -> Iterator[Classified]:
    """Items first seen since `since` that no saved digest issue holds (neither the item nor
    its story): what a new model may still re-file before subscribers see it."""
    issued_items: set[int] = set()
    issued_stories: set[int] = set()
    for entries in session.exec(
        select(Digest.entries).where(
            col(Digest.period_end).is_(None) | (Digest.period_end >= since)
        )
    ):
        for entry in entries or ():
            if entry.get("item_id") is not None:
                issued_items.add(int(entry["item_id"]))
            if entry.get("story_id") is not None:
                issued_stories.add(int(entry["story_id"]))
    query = (
        select(Item)
        .where(col(Item.first_seen_at) >= since, col(Item.extraction).is_not(None))
        .order_by(col(Item.first_seen_at), col(Item.id))
        .execution_options(yield_per=CHUNK)
    )
    for item in session.exec(query):
        if item.id in issued_items or (
            item.story_id is not None and item.story_id in issued_stories
        ):
            continue
        yield Classified(
            id=int(item.id or 0),
            doc=doc_of(item),
            labels=tuple(item.labels or ()),
            model_version=item.model_version,
            reviewed=item.reviewed_at is not None,
            source_id=int(item.source_id),
        )


def save_predictions(
    session: Session, *, verdicts: Iterable[tuple[int, Prediction]], now: datetime
) -> int:
    """Write labels, scores, unsure topics and model version onto items; returns the count.

    Curators' labels are separate columns and stay untouched: they keep winning."""
    table = Item.__table__
    stmt = update(table).where(table.c.id == bindparam("item_id"))
    rows = [
        {
            "item_id": item_id,
            "labels": list(p.labels),
            "scores": dict(p.scores),
            "unsure": list(p.unsure),
            "model_version": p.model_version,
            "classified_at": now,
        }
        for item_id, p in verdicts
    ]
    for start in range(0, len(rows), CHUNK):
        session.connection().execute(stmt, rows[start : start + CHUNK])
    return len(rows)
