"""Queries behind extraction, stories and classification of new items."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam, func, insert, or_, update
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


def item_by_address(session: Session, *, url: str) -> int | None:
    """The id of an item stored under this address (as fetched or canonical), if any."""
    found = session.exec(
        select(Item.id).where((Item.url == url) | (Item.canonical_url == url)).limit(1)
    ).first()
    return None if found is None else int(found)


def story_items(session: Session, *, story_id: int) -> list[Item]:
    """Every item of one story."""
    return list(session.exec(select(Item).where(col(Item.story_id) == story_id)))


def has_other_items(session: Session, *, story_id: int, item_id: int) -> bool:
    """Whether the story holds an item besides `item_id`."""
    query = select(Item.id).where(col(Item.story_id) == story_id, col(Item.id) != item_id)
    return session.exec(query.limit(1)).first() is not None


def move_items(session: Session, *, items: list[Item], story_id: int) -> None:
    """Put these items in one story (a curator's fix; dedupe files new items itself)."""
    for item in items:
        item.story_id = story_id
        session.add(item)
    session.flush()


def new_story(session: Session, *, now: datetime) -> int:
    # A Core insert: an ORM object and its flush cost ten times more, once per new item.
    result = session.connection().execute(
        insert(Story.__table__).values(created_at=now, updated_at=now, size=1)
    )
    return int(result.inserted_primary_key[0])


def stories_members(
    session: Session, *, story_ids: Iterable[int]
) -> dict[int, list[tuple[int, datetime | None, int, bool]]]:
    """Story id → (item id, published, text length, source is primary) of its items."""
    out: dict[int, list[tuple[int, datetime | None, int, bool]]] = {}
    for chunk in _chunks(sorted(set(story_ids))):
        rows = session.exec(
            select(
                Item.story_id, Item.id, Item.published_at, func.length(Item.text), Source.primary
            )
            .join(Source, col(Source.id) == Item.source_id)
            .where(col(Item.story_id).in_(chunk))
        )
        for story_id, i, p, n, pr in rows:
            out.setdefault(story_id, []).append((i, p, n or 0, bool(pr)))
    return out


def set_stories(session: Session, *, rows: list[tuple[int, int, int]], now: datetime) -> None:
    """(story id, representative id, size) for many stories, in one executemany."""
    if not rows:
        return
    table = Story.__table__
    stmt = (
        update(table)
        .where(table.c.id == bindparam("_id"))
        .values(representative_id=bindparam("_rep"), size=bindparam("_size"), updated_at=now)
    )
    session.connection().execute(stmt, [{"_id": s, "_rep": r, "_size": n} for s, r, n in rows])


def update_items(session: Session, *, rows: list[tuple[int, dict[str, object]]]) -> int:
    """Write each new item's extraction (text, story, topics…): one executemany per set of
    columns (a source's items usually share one), instead of an ORM statement per item.

    Conditional: only items not extracted yet are written, so a retried job (or a second
    worker on the same items) cannot apply its values twice. Returns the rows written."""
    table = Item.__table__
    groups: dict[tuple[str, ...], list[dict[str, object]]] = {}
    for item_id, values in rows:
        params = {f"_{k}": v for k, v in values.items()}
        params["_id"] = item_id
        groups.setdefault(tuple(sorted(values)), []).append(params)
    written = 0
    for keys, params in groups.items():
        stmt = (
            update(table)
            .where(table.c.id == bindparam("_id"), table.c.extraction.is_(None))
            .values({k: bindparam(f"_{k}", type_=table.c[k].type) for k in keys})
        )
        written += session.connection().execute(stmt, params).rowcount
    return written
