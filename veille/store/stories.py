"""Queries behind extraction, stories and classification of new items."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from veille.store.items import _chunks
from veille.store.models import Item, Source, Story


def items_to_enrich(session: Session, *, ids: Iterable[int]) -> list[Item]:
    """Items by id, with what extraction needs (one query per 500 ids)."""
    found: list[Item] = []
    for chunk in _chunks(sorted(set(ids))):
        found.extend(session.exec(select(Item).where(col(Item.id).in_(chunk))))
    return found


def pending_item_ids(session: Session, *, since: datetime, limit: int) -> dict[int, list[int]]:
    """Items never extracted (a run that stopped half-way), by source id."""
    rows = session.exec(
        select(Item.source_id, Item.id)
        .where(col(Item.extraction).is_(None), Item.first_seen_at >= since)
        .order_by(col(Item.id))
        .limit(limit)
    )
    out: dict[int, list[int]] = {}
    for source_id, item_id in rows:
        out.setdefault(source_id, []).append(item_id)
    return out


def recent_signatures(
    session: Session, *, since: datetime
) -> list[tuple[int, int, bytes, datetime, str]]:
    """(item id, story id, signature, published, source name) of items inside the window,
    to rebuild the in-memory story index at the start of a run."""
    rows = session.exec(
        select(Item.id, Item.story_id, Item.minhash, Item.published_at, Source.name)
        .join(Source, col(Source.id) == Item.source_id)
        .where(
            col(Item.minhash).is_not(None),
            col(Item.story_id).is_not(None),
            Item.published_at >= since,
        )
    )
    return [(i, s, m, p, n) for i, s, m, p, n in rows]


def exact_candidates(
    session: Session, *, canonical_urls: Iterable[str], hashes: Iterable[str]
) -> list[tuple[int, str, str, str, str | None, int | None]]:
    """Stored, already-extracted items sharing a canonical URL or a text hash:
    (id, source name, guid, canonical url, content hash, story id)."""
    urls = [u for u in set(canonical_urls) if u]
    digests = [h for h in set(hashes) if h]
    if not urls and not digests:
        return []
    clauses = []
    if urls:
        clauses.append(col(Item.canonical_url).in_(urls))
    if digests:
        clauses.append(col(Item.content_hash).in_(digests))
    rows = session.exec(
        select(
            Item.id, Source.name, Item.guid, Item.canonical_url, Item.content_hash, Item.story_id
        )
        .join(Source, col(Source.id) == Item.source_id)
        .where(or_(*clauses), col(Item.extraction).is_not(None))
    )
    return list(rows)


def new_story(session: Session, *, now: datetime) -> int:
    story = Story(created_at=now, updated_at=now)
    session.add(story)
    session.flush()
    assert story.id is not None
    return story.id


def story_members(
    session: Session, *, story_id: int
) -> list[tuple[int, datetime | None, int, bool]]:
    """(item id, published, text length, source is primary) of a story's items."""
    rows = session.exec(
        select(Item.id, Item.published_at, func.length(Item.text), Source.primary)
        .join(Source, col(Source.id) == Item.source_id)
        .where(Item.story_id == story_id)
    )
    return [(i, p, n or 0, bool(pr)) for i, p, n, pr in rows]


def set_story(
    session: Session, *, story_id: int, representative_id: int, size: int, now: datetime
) -> None:
    session.exec(
        update(Story)
        .where(col(Story.id) == story_id)
        .values(representative_id=representative_id, size=size, updated_at=now)
    )


def update_item(session: Session, *, item_id: int, values: dict[str, object]) -> None:
    session.exec(update(Item).where(col(Item.id) == item_id).values(**values))
