"""Queries on items as ingestion writes them: which GUIDs a source already has, bulk insert
that never duplicates (the database's unique key on source and GUID decides), and listing
for `veille items`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from veille.store.models import Item, Source

CHUNK = 500  # keys per IN (…): well under SQLite's bound-parameter limit


def _chunks(values: list, size: int = CHUNK) -> Iterator[list]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def existing_guids(session: Session, *, source_id: int, guids: Iterable[str]) -> set[str]:
    """The GUIDs among `guids` the source already has (one query per 500 keys)."""
    found: set[str] = set()
    for chunk in _chunks(list(set(guids))):
        query = select(Item.guid).where(Item.source_id == source_id, col(Item.guid).in_(chunk))
        found.update(session.exec(query))
    return found


def get_item(session: Session, *, item_id: int) -> Item | None:
    return session.get(Item, item_id)


def _defaults() -> dict[str, object]:
    # Column values a row gets when ingestion does not set them, read from the model once:
    # building Item objects per row costs milliseconds each in SQLModel.
    out = {}
    for name, info in Item.model_fields.items():
        if name != "id" and not info.is_required():
            out[name] = info.get_default(call_default_factory=True)
    return out


ITEM_DEFAULTS = _defaults()


def insert_items(session: Session, *, rows: list[dict[str, object]]) -> list[int]:
    """Insert new items in bulk (`rows` hold Item fields; the rest get the model's defaults).
    Rows whose (source, GUID) exists are skipped by the database, so re-ingesting never
    duplicates. Returns the ids of the rows actually inserted."""
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(Item.__table__)
        .on_conflict_do_nothing(index_elements=["source_id", "guid"])
        .returning(Item.__table__.c.id)
    )
    full = [{**_fresh(ITEM_DEFAULTS), **row} for row in rows]
    result = session.connection().execute(stmt, full)
    return [row[0] for row in result]


def insert_new_items(session: Session, *, rows: list[dict[str, object]]) -> dict[str, int]:
    """Insert one source's new items, complete, in bulk; GUID → id of the rows inserted.
    A (source, GUID) already stored is skipped by the database (a retried run)."""
    if not rows:
        return {}
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = Item.__table__
    stmt = (
        insert(table)
        .on_conflict_do_nothing(index_elements=["source_id", "guid"])
        .returning(table.c.id, table.c.guid)
    )
    full = [{**_fresh(ITEM_DEFAULTS), **row} for row in rows]
    return {guid: item_id for item_id, guid in session.connection().execute(stmt, full)}


def _fresh(defaults: dict[str, object]) -> dict[str, object]:
    return {k: v.copy() if isinstance(v, list | dict) else v for k, v in defaults.items()}


def list_items(
    session: Session,
    *,
    since: datetime | None = None,
    source_id: int | None = None,
    limit: int | None = None,
) -> list[tuple[Item, str]]:
    """Stored items with their source's name, newest first by first_seen_at."""
    query = select(Item, Source.name).join(Source, col(Source.id) == Item.source_id)
    if since is not None:
        query = query.where(Item.first_seen_at >= since)
    if source_id is not None:
        query = query.where(Item.source_id == source_id)
    query = query.order_by(col(Item.first_seen_at).desc(), col(Item.id).desc())
    if limit:
        query = query.limit(limit)
    return [(item, name) for item, name in session.exec(query)]
