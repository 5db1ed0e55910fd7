"""Queries behind filing new items: stories, their near-duplicate index (story_band), and
items left unextracted."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam, delete, func, insert, or_, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from veille.store.items import _chunks
from veille.store.models import Item, Source, Story, StoryBand

FILING_LOCK = 0x7665696C6C65  # "veille": the advisory lock of story filing
# The one band row of an item with too little text to ever match (dedupe.band_keys gives it
# none): it marks the item indexed. Real keys are never negative.
NO_BANDS = -1


def pending_items(
    session: Session, *, source_id: int, since: datetime, limit: int = 500
) -> list[Item]:
    """A source's items stored but never extracted (an ingest-only pull, or a run that
    stopped before finishing them), oldest first."""
    query = (
        select(Item)
        .where(
            Item.source_id == source_id,
            col(Item.extraction).is_(None),
            Item.first_seen_at >= since,
        )
        .order_by(col(Item.id))
        .limit(limit)
    )
    return list(session.exec(query))


def still_pending(session: Session, *, ids: Iterable[int]) -> set[int]:
    """The items among `ids` not extracted yet (another run may have finished some)."""
    found: set[int] = set()
    for chunk in _chunks(sorted(set(ids))):
        query = select(Item.id).where(col(Item.id).in_(chunk), col(Item.extraction).is_(None))
        found.update(session.exec(query))
    return found


def sources_with_pending(session: Session, *, since: datetime) -> list[int]:
    """Ids of the sources that have items never extracted since `since`."""
    query = (
        select(Item.source_id)
        .where(col(Item.extraction).is_(None), Item.first_seen_at >= since)
        .distinct()
    )
    return sorted(session.exec(query))


def lock_filing(session: Session) -> None:
    """Take the story-filing lock until this transaction ends: two processes filing near
    duplicates at once then see each other's stories (the second waits for the first to
    commit). PostgreSQL: an advisory transaction lock; SQLite: the database's write lock,
    taken now, before anything is read."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FILING_LOCK})
    else:
        conn.execute(text("UPDATE story SET size = size WHERE 0"))


def band_candidates(
    session: Session, *, keys: Iterable[int], since: datetime, until: datetime
) -> list[tuple[int, int, bytes, datetime, str]]:
    """Filed items sharing a band key with `keys`, published in [since, until]:
    (item id, its story id now, signature, published, source name)."""
    found: dict[int, tuple[int, int, bytes, datetime, str]] = {}
    for chunk in _chunks(sorted(set(keys))):
        ids = (
            select(StoryBand.item_id)
            .where(
                col(StoryBand.band_key).in_(chunk),
                StoryBand.published_at >= since,
                StoryBand.published_at <= until,
            )
            .distinct()
        )
        rows = session.exec(
            select(Item.id, Item.story_id, Item.minhash, Item.published_at, Source.name)
            .join(Source, col(Source.id) == Item.source_id)
            .where(col(Item.id).in_(ids), col(Item.story_id).is_not(None))
        )
        for row in rows:
            found[row[0]] = tuple(row)  # type: ignore[assignment]
    return list(found.values())


def story_sources(session: Session, *, story_ids: Iterable[int]) -> dict[int, set[str]]:
    """Story id → names of the sources whose items it holds."""
    out: dict[int, set[str]] = {}
    for chunk in _chunks(sorted(set(story_ids))):
        rows = session.exec(
            select(Item.story_id, Source.name)
            .join(Source, col(Source.id) == Item.source_id)
            .where(col(Item.story_id).in_(chunk))
            .distinct()
        )
        for story_id, name in rows:
            out.setdefault(story_id, set()).add(name)
    return out


def add_bands(session: Session, *, rows: list[tuple[int, int, datetime]]) -> None:
    """(band key, item id, published) rows; those already there are left as they are."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert_(StoryBand.__table__).on_conflict_do_nothing(
        index_elements=["band_key", "item_id"]
    )
    params = [{"band_key": k, "item_id": i, "published_at": p} for k, i, p in rows]
    for start in range(0, len(params), 5000):
        session.connection().execute(stmt, params[start : start + 5000])


def unindexed_signatures(
    session: Session, *, since: datetime, limit: int = 5000
) -> list[tuple[int, bytes, datetime]]:
    """(item id, signature, published) of filed items of the window without band keys:
    items filed before story_band existed (migration 0005r)."""
    banded = select(StoryBand.item_id).where(StoryBand.item_id == Item.id).exists()
    rows = session.exec(
        select(Item.id, Item.minhash, Item.published_at)
        .where(
            col(Item.minhash).is_not(None),
            col(Item.story_id).is_not(None),
            Item.published_at >= since,
            ~banded,
        )
        .limit(limit)
    )
    return [(i, m, p) for i, m, p in rows]


def prune_bands(session: Session, *, before: datetime) -> int:
    """Forget the band keys of items published before `before` (outside any window)."""
    table = StoryBand.__table__
    result = session.connection().execute(delete(table).where(table.c.published_at < before))
    return int(result.rowcount or 0)


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


def complete_items(session: Session, *, rows: list[tuple[int, dict[str, object]]]) -> int:
    """Set each item's extraction, story and topics, only where it is not extracted yet
    (a retried or concurrent run finds it done and changes nothing): one executemany per
    set of columns. Returns how many rows changed."""
    table = Item.__table__
    groups: dict[tuple[str, ...], list[dict[str, object]]] = {}
    for item_id, values in rows:
        params = {f"_{k}": v for k, v in values.items()}
        params["_id"] = item_id
        groups.setdefault(tuple(sorted(values)), []).append(params)
    changed = 0
    for keys, params in groups.items():
        stmt = (
            update(table)
            .where(table.c.id == bindparam("_id"), table.c.extraction.is_(None))
            .values({k: bindparam(f"_{k}", type_=table.c[k].type) for k in keys})
        )
        changed += session.connection().execute(stmt, params).rowcount or 0
    return changed
