"""The review queue (filters, full-text search) and the curator actions with their history.

Every action writes a Review row holding the item's curation state before and after, which is
what `undo_last` restores. `Item.curator_labels` (None until a curator judged the item) is what
training reads, so toggling a topic or accepting the prediction both record a judgement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, cast, column, func, literal_column, text
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from veille.errors import VeilleError
from veille.store.labels import effective_labels
from veille.store.models import Item, Review, Source
from veille.types import TOPICS

ACTIONS: tuple[str, ...] = ("toggle", "offtopic", "accept", "exclude", "pin")
# Same expression as migration 0002 builds its GIN index on, so PostgreSQL can use the index.
PG_DOCUMENT = (
    "to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(feed_summary, '') "
    "|| ' ' || coalesce(text, ''))"
)
_STATE = (
    "curator_labels",
    "reviewed_at",
    "reviewed_by",
    "excluded",
    "pinned",
    "digest_rank",
    "edited_summary",
)
SEARCH_LIMIT = 2500  # SQLite: newest full-text matches a search looks at


class ReviewError(VeilleError):
    """An unknown action or topic was asked for."""


@dataclass(frozen=True, slots=True)
class QueueFilter:
    topic: str | None = None  # predicted topic
    band: str | None = None  # unsure | confident (Item.unsure, set by the classifier)
    source_id: int | None = None
    lang: str | None = None
    since: datetime | None = None  # on first_seen_at, which is indexed
    until: datetime | None = None
    reviewed: str = "no"  # no | yes | all
    q: str = ""  # full-text search


def _matching(session: Session, f: QueueFilter, *columns: Any) -> Select:
    """SELECT `columns` FROM the items that pass the filters, full-text search included.

    SQLite: the FTS5 matches drive the query (the newest `SEARCH_LIMIT` of them, then a
    primary-key lookup each), which keeps a search as fast for a rare word as for a common
    one. PostgreSQL: the expression of migration 0002's GIN index. On both, every word must
    match and the last one also as a prefix.
    """
    words = re.findall(r"\w+", f.q)
    query = select(*columns)
    if words and session.get_bind().dialect.name == "sqlite":
        # Each word quoted so FTS5 operators typed by a user stay plain words; the last one is
        # also a prefix once it is long enough not to expand to half the vocabulary.
        match = " ".join(f'"{w}"' for w in words) + ("*" if len(words[-1]) >= 3 else "")
        found = (
            text(
                "SELECT rowid AS rid FROM item_fts WHERE item_fts MATCH :m "
                "ORDER BY rowid DESC LIMIT :n"
            )
            .bindparams(m=match, n=SEARCH_LIMIT)
            .columns(column("rid", Integer))
            .subquery("matches")
        )
        query = query.select_from(found).join(Item, col(Item.id) == found.c.rid)
    else:
        query = query.select_from(Item)
        if words:  # word characters only, so the tsquery syntax is ours alone
            terms = [*words[:-1], words[-1] + (":*" if len(words[-1]) >= 3 else "")]
            tsquery = func.to_tsquery("simple", " & ".join(terms))
            query = query.where(literal_column(PG_DOCUMENT).op("@@")(tsquery))
    return query.where(*_conditions(f))


def _conditions(f: QueueFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if f.reviewed == "no":
        where.append(col(Item.reviewed_at).is_(None))
    elif f.reviewed == "yes":
        where.append(col(Item.reviewed_at).is_not(None))
    if f.topic in TOPICS:
        # JSON lists are stored as text: a quoted topic name cannot match another topic.
        where.append(cast(Item.labels, String).like(f'%"{f.topic}"%'))
    if f.band == "unsure":
        where.append(cast(Item.unsure, String) != "[]")
    elif f.band == "confident":
        where.append(cast(Item.unsure, String) == "[]")
    if f.source_id is not None:
        where.append(col(Item.source_id) == f.source_id)
    if f.lang:
        where.append(col(Item.lang) == f.lang)
    if f.since is not None:
        where.append(col(Item.first_seen_at) >= f.since)
    if f.until is not None:
        where.append(col(Item.first_seen_at) < f.until)
    return where


def count_items(session: Session, *, filters: QueueFilter, limit: int | None = None) -> int:
    """Matching items, counted up to `limit` (a bounded count stays fast on a large store)."""
    if limit is None:
        query = _matching(session, filters, func.count())
    else:
        found = _matching(session, filters, Item.id).limit(limit).subquery()
        query = select(func.count()).select_from(found)
    return int(session.exec(query).one())


@dataclass(frozen=True, slots=True)
class QueueRow:
    """An unreviewed item as the review order ranks it (and the digest policy judges it)."""

    id: int
    scores: dict[str, float]
    source_id: int
    unsure: list[str]
    pinned: bool
    first_seen_at: datetime
    curator_labels: list[str] | None = None


def candidates(
    session: Session, *, filters: QueueFilter, limit: int, also: list[int] | None = None
) -> list[QueueRow]:
    """The newest matching items: what the review order ranks; plus the items of `also`
    (readers' reports) that match, however old."""
    columns = (
        Item.id,
        Item.scores,
        Item.source_id,
        Item.unsure,
        Item.pinned,
        Item.first_seen_at,
        Item.curator_labels,
    )
    query = (
        _matching(session, filters, *columns)
        .order_by(col(Item.first_seen_at).desc(), col(Item.id).desc())
        .limit(limit)
    )
    found = list(session.exec(query).all())
    missing = sorted(set(also or ()) - {int(r[0]) for r in found})
    if missing:
        found += session.exec(
            _matching(session, filters, *columns).where(col(Item.id).in_(missing))
        ).all()
    return [
        QueueRow(int(i), s or {}, int(src), list(u or []), bool(p), seen, judged)
        for i, s, src, u, p, seen, judged in found
    ]


def page_ids(
    session: Session, *, filters: QueueFilter, newest: bool, offset: int, limit: int
) -> list[int]:
    order = col(Item.first_seen_at).desc() if newest else col(Item.first_seen_at).asc()
    query = (
        _matching(session, filters, Item.id)
        .order_by(order, col(Item.id).desc() if newest else col(Item.id).asc())
        .offset(offset)
        .limit(limit)
    )
    return [int(i) for i in session.exec(query).all()]


def load_items(session: Session, *, ids: list[int]) -> list[tuple[Item, Source]]:
    """Items with their source, in the order of `ids` (unknown ids are left out)."""
    if not ids:
        return []
    rows = session.exec(
        select(Item, Source)
        .join(Source, col(Item.source_id) == Source.id)
        .where(col(Item.id).in_(ids))
    ).all()
    by_id = {item.id: (item, source) for item, source in rows}
    return [by_id[i] for i in ids if i in by_id]


def story_others(session: Session, *, items: list[Item]) -> dict[int, list[tuple[Item, Source]]]:
    """For each item, the other items of its story (other sources telling the same news)."""
    story_ids = {i.story_id for i in items if i.story_id is not None}
    out: dict[int, list[tuple[Item, Source]]] = {i.id: [] for i in items if i.id is not None}
    if not story_ids:
        return out
    rows = session.exec(
        select(Item, Source)
        .join(Source, col(Item.source_id) == Source.id)
        .where(col(Item.story_id).in_(story_ids))
        .order_by(col(Item.first_seen_at))
    ).all()
    for item in items:
        if item.story_id is not None and item.id is not None:
            same = [(o, s) for o, s in rows if o.story_id == item.story_id]
            out[item.id] = [(o, s) for o, s in same if o.id != item.id]
    return out


def _snapshot(item: Item) -> dict:
    state = {name: getattr(item, name) for name in _STATE}
    state["reviewed_at"] = item.reviewed_at.isoformat() if item.reviewed_at else None
    return state


def record_story_change(
    session: Session, *, item: Item, action: str, story_id: int, user: str, now: datetime
) -> None:
    """A Review row for a curator's story fix ("merge", "split") of `item`, before it moves
    to `story_id`. The curation state is kept whole in before/after, so an undo of this row
    leaves it as is."""
    state = _snapshot(item)
    session.add(
        Review(
            item_id=item.id or 0,
            user=user,
            at=now,
            action=action,
            before={**state, "story_id": item.story_id},
            after={**state, "story_id": story_id},
        )
    )


def _restore(item: Item, state: dict) -> None:
    for name in _STATE:
        setattr(item, name, state.get(name))
    when = state.get("reviewed_at")
    item.reviewed_at = datetime.fromisoformat(when) if when else None
    item.excluded = bool(state.get("excluded"))
    item.pinned = bool(state.get("pinned"))


def _judge(item: Item, labels: list[str], user: str, now: datetime) -> None:
    item.curator_labels = [t for t in TOPICS if t in labels]
    item.reviewed_at = now
    item.reviewed_by = user


def apply_action(
    session: Session,
    *,
    item_id: int,
    action: str,
    user: str,
    now: datetime,
    topic: str | None = None,
) -> Item | None:
    """Apply one curator action and record it; None when the item does not exist."""
    if action not in ACTIONS:
        raise ReviewError(f"unknown action {action!r}")
    if action == "toggle" and topic not in TOPICS:
        raise ReviewError(f"unknown topic {topic!r}")
    item = session.get(Item, item_id)
    if item is None:
        return None
    before = _snapshot(item)
    if action == "toggle":
        _judge(item, sorted(set(effective_labels(item)) ^ {topic}), user, now)
    elif action == "offtopic":
        _judge(item, [], user, now)
    elif action == "accept":
        _judge(item, effective_labels(item), user, now)
    elif action == "exclude":  # pinned and excluded contradict each other: one at a time
        item.excluded = not item.excluded
        item.pinned = item.pinned and not item.excluded
    elif action == "pin":
        item.pinned = not item.pinned
        item.excluded = item.excluded and not item.pinned
    label = "labels" if action in ("toggle", "offtopic") else action
    session.add(item)
    session.add(
        Review(
            item_id=item_id, user=user, at=now, action=label, before=before, after=_snapshot(item)
        )
    )
    session.flush()
    return item


def undo_last(session: Session, *, user: str, now: datetime) -> Item | None:
    """Revert this curator's latest action not yet undone; None when there is nothing left."""
    undone: set[int] = set()
    recent = session.exec(
        select(Review).where(Review.user == user).order_by(col(Review.id).desc()).limit(500)
    ).all()
    for review in recent:
        if review.action == "undo":
            undone.add(int(review.after.get("undid", 0)))
            continue
        if review.id in undone:
            continue
        item = session.get(Item, review.item_id)
        if item is None:
            continue
        before = _snapshot(item)
        _restore(item, review.before)
        session.add(item)
        session.add(
            Review(
                item_id=item.id,
                user=user,
                at=now,
                action="undo",
                before=before,
                after={**_snapshot(item), "undid": review.id},
            )
        )
        session.flush()
        return item
    return None


def history(session: Session, *, item_id: int, limit: int = 20) -> list[Review]:
    query = select(Review).where(Review.item_id == item_id).order_by(col(Review.id).desc())
    return list(session.exec(query.limit(limit)).all())


def corrections_since(session: Session, *, since: datetime | None) -> tuple[int, int]:
    """(judged items, of which corrected: curator labels differ from the prediction)."""
    # curator_labels=None is stored as JSON null, not SQL NULL: filter on reviewed_at instead.
    query = select(Item.labels, Item.curator_labels).where(col(Item.reviewed_at).is_not(None))
    if since is not None:
        query = query.where(col(Item.reviewed_at) > since)
    rows = [(labels, judged) for labels, judged in session.exec(query).all() if judged is not None]
    corrected = sum(1 for labels, judged in rows if set(labels or []) != set(judged))
    return len(rows), corrected


def sources_for_filter(session: Session) -> list[tuple[int, str]]:
    return [
        (int(i), n)
        for i, n in session.exec(select(Source.id, Source.name).order_by(func.lower(Source.name)))
    ]
