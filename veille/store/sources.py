"""Queries on sources: keep the rows in step with feeds.yaml, pick the due ones, report health.

feeds.yaml says what is followed; the row keeps how it is doing (its reader's fetch state,
failures, next fetch). A source removed from the file is disabled, never deleted, so its
items stay.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import func, insert, or_, update
from sqlmodel import Session, col, select

from veille.store.models import Item, Source
from veille.types import SourceSpec

# Fields feeds.yaml owns; everything else on the row is fetch state.
DECLARED = tuple(f.name for f in fields(SourceSpec) if f.name != "name")
# State that belongs to the fetched URL and is void once feeds.yaml points elsewhere.
URL_STATE = {
    "fetch_state": {},
    "next_fetch_at": None,
    "consecutive_failures": 0,
    "last_error": None,
    "warning": None,
}


@dataclass(frozen=True, slots=True)
class SyncCounts:
    added: int = 0
    updated: int = 0
    disabled: int = 0


def sync_sources(session: Session, *, specs: tuple[SourceSpec, ...], now: datetime) -> SyncCounts:
    rows = {row.name: row for row in session.exec(select(Source))}
    new: list[dict[str, object]] = []
    updated = disabled = 0
    for spec in specs:
        row = rows.pop(spec.name, None)
        declared = {f: list(v) if isinstance(v := getattr(spec, f), tuple) else v for f in DECLARED}
        if row is None:
            new.append(
                Source(name=spec.name, created_at=now, **declared).model_dump(exclude={"id"})
            )
            continue
        changes = {f: v for f, v in declared.items() if getattr(row, f) != v}
        if "url" in changes or "kind" in changes:
            changes.update(URL_STATE)
        if changes:
            for field, value in changes.items():
                setattr(row, field, dict(value) if isinstance(value, dict) else value)
            updated += 1
    for row in rows.values():  # gone from feeds.yaml: stop fetching, keep its items
        if row.enabled:
            row.enabled = False
            disabled += 1
    if new:  # one executemany, not one INSERT … RETURNING per ORM object
        session.connection().execute(insert(Source.__table__), new)
    session.flush()
    return SyncCounts(len(new), updated, disabled)


def due_sources(
    session: Session, *, now: datetime, names: tuple[str, ...] = (), force: bool = False
) -> list[Source]:
    """Enabled sources whose next fetch time has come (all of them with `force`)."""
    query = select(Source).where(col(Source.enabled).is_(True))
    if names:
        query = query.where(col(Source.name).in_(names))
    if not force:
        query = query.where(
            or_(col(Source.next_fetch_at).is_(None), col(Source.next_fetch_at) <= now)
        )
    # Never-fetched sources first, then the most overdue: same order on both databases.
    order = (col(Source.next_fetch_at).asc().nulls_first(), col(Source.id))
    return list(session.exec(query.order_by(*order)))


def source_by_id(session: Session, *, source_id: int) -> Source | None:
    return session.get(Source, source_id)


def sources_by_id(session: Session, *, ids: list[int]) -> list[Source]:
    """The enabled sources among `ids` (ids of deleted or disabled sources are left out)."""
    if not ids:
        return []
    query = select(Source).where(col(Source.id).in_(ids), col(Source.enabled).is_(True))
    return list(session.exec(query.order_by(col(Source.id))))


def get_source(session: Session, *, name: str) -> Source | None:
    return session.exec(select(Source).where(Source.name == name)).first()


def source_names(session: Session) -> list[str]:
    return list(session.exec(select(Source.name).order_by(Source.name)))


def update_source(session: Session, *, source_id: int, values: dict[str, object]) -> None:
    """Write fetch state: one plain UPDATE, no read first and no ORM session bookkeeping."""
    table = Source.__table__
    session.connection().execute(update(table).where(table.c.id == source_id).values(**values))


@dataclass(frozen=True, slots=True)
class SourceHealth:
    source: Source
    items: int  # items stored from it


def source_health(session: Session) -> list[SourceHealth]:
    """Every source with its item count, enabled first, by name (one query)."""
    counts = select(Item.source_id, func.count().label("n")).group_by(Item.source_id).subquery()
    query = (
        select(Source, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.source_id == Source.id)
        .order_by(col(Source.enabled).desc(), col(Source.name))
    )
    return [SourceHealth(row, int(n)) for row, n in session.exec(query)]
