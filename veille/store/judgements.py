"""What curators' judgements say about each source: how many of its items were judged, how
many of those belong to some topic, and how often the classifier was right to file them.

The digest policy reads it (veille/digest/hold.py: a source whose judged items are mostly
off-topic is not trusted to send items unreviewed); a source's items judged after a model was
trained give that model's offset for the source (Model.source_offset). The queries live here,
the rules there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from veille.store.models import Item
from veille.types import Doc, classifier_doc


@dataclass(frozen=True, slots=True)
class SourceJudgements:
    """Counts over one source's curator-judged items."""

    judged: int = 0  # items a curator judged
    relevant: int = 0  # of them, filed under at least one topic by the curator
    said: int = 0  # of them, that the classifier had filed under a topic
    hits: int = 0  # said and relevant


def per_source(session: Session) -> dict[int, SourceJudgements]:
    """Per source id, the counts of its judged items (sources nobody judged are absent)."""
    # curator_labels=None is stored as JSON null, not SQL NULL: judged means reviewed_at set.
    query = select(Item.source_id, Item.labels, Item.curator_labels).where(
        col(Item.reviewed_at).is_not(None)
    )
    counts: dict[int, list[int]] = {}
    for source, labels, curator in session.exec(query).all():
        row = counts.setdefault(int(source), [0, 0, 0, 0])
        relevant, said = bool(curator), bool(labels)
        row[0] += 1
        row[1] += relevant
        row[2] += said
        row[3] += relevant and said
    return {source: SourceJudgements(*row) for source, row in counts.items()}


def fresh_judged(
    session: Session,
    *,
    source_id: int,
    since: datetime | None,
    until: datetime | None = None,
    limit: int = 500,
) -> list[Item]:
    """A source's curator-judged items judged after `since` (a model's training time: items
    it did not train on; None: all of them) and not after `until` (when items were scored:
    the judgements a score saw), the most recent `limit`, newest first."""
    query = select(Item).where(Item.source_id == source_id, col(Item.reviewed_at).is_not(None))
    if since is not None:
        query = query.where(col(Item.reviewed_at) > since)
    if until is not None:
        query = query.where(col(Item.reviewed_at) <= until)
    query = query.order_by(col(Item.reviewed_at).desc(), col(Item.id).desc()).limit(limit)
    return [i for i in session.exec(query) if i.curator_labels is not None]


def fresh_judged_docs(
    session: Session,
    *,
    source_id: int,
    since: datetime | None,
    until: datetime | None = None,
    limit: int = 500,
) -> list[tuple[Doc, list[str]]]:
    """fresh_judged's items as the classifier reads them (the document the pull scored, as
    labels.doc_of builds it) with the curator's labels: what a source's offset is fitted on.
    Only those columns are read: a pull asks once per source."""
    query = select(
        Item.title, Item.doc_title, Item.text, Item.summary, Item.lang, Item.curator_labels
    ).where(Item.source_id == source_id, col(Item.reviewed_at).is_not(None))
    if since is not None:
        query = query.where(col(Item.reviewed_at) > since)
    if until is not None:
        query = query.where(col(Item.reviewed_at) <= until)
    query = query.order_by(col(Item.reviewed_at).desc(), col(Item.id).desc()).limit(limit)
    return [
        (
            classifier_doc(title=t, page_title=pt, text=x, summary=sm, lang=lang),
            list(labels),
        )
        for t, pt, x, sm, lang, labels in session.exec(query)
        if labels is not None
    ]


def filed(session: Session, *, ids: list[int]) -> set[int]:
    """Of these item ids, those the classifier filed under at least one topic."""
    if not ids:
        return set()
    query = select(Item.id, Item.labels).where(col(Item.id).in_(ids))
    return {int(i) for i, labels in session.exec(query).all() if labels}
