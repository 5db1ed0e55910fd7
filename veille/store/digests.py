"""Queries behind the daily digest: candidate items, stories, digest issues and deliveries.

A Delivery row per (digest, subscriber) is what makes sending idempotent; its status moves
pending → sending (message released to the server) → sent, or to failed (transient, retried)
or rejected (permanent) or skipped (subscriber left before we got to them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from veille.store.models import Delivery, Digest, IssueDraft, Item, Source, Story, Subscriber

OPEN = ("pending", "failed")  # delivery statuses a run still has to send


def items_first_seen(
    session: Session, *, since: datetime | None, until: datetime, limit: int | None = None
) -> list[Item]:
    """Items first stored in (since, until], newest first, excluded ones left out."""
    query = select(Item).where(Item.first_seen_at <= until, col(Item.excluded).is_(False))
    if since is not None:
        query = query.where(Item.first_seen_at > since)
    query = query.order_by(col(Item.first_seen_at).desc(), col(Item.id).desc())
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query))


def story_members(session: Session, *, story_ids: Iterable[int]) -> dict[int, list[Item]]:
    """Every item of the given stories, whenever it was stored."""
    ids = sorted(set(story_ids))
    out: dict[int, list[Item]] = {i: [] for i in ids}
    if ids:
        for item in session.exec(select(Item).where(col(Item.story_id).in_(ids))):
            out[item.story_id].append(item)  # type: ignore[index]
    return out


def stories(session: Session, *, ids: Iterable[int]) -> dict[int, Story]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {s.id: s for s in session.exec(select(Story).where(col(Story.id).in_(wanted)))}  # type: ignore[misc]


def source_names(session: Session, *, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.exec(select(Source.id, Source.name).where(col(Source.id).in_(wanted)))
    return dict(rows.all())  # type: ignore[arg-type]


def digest_on(session: Session, *, day: str, kind: str = "daily") -> Digest | None:
    return session.exec(select(Digest).where(Digest.date == day, Digest.kind == kind)).first()


def digest_before(session: Session, *, day: str, kind: str = "daily") -> Digest | None:
    """The latest issue of `kind` dated before `day`: where the next period starts."""
    query = (
        select(Digest)
        .where(Digest.date < day, Digest.kind == kind)
        .order_by(col(Digest.date).desc())
    )
    return session.exec(query.limit(1)).first()


def recent_digests(session: Session, *, limit: int = 60, kind: str = "daily") -> list[Digest]:
    """The latest issues of `kind`, newest first."""
    query = select(Digest).where(Digest.kind == kind).order_by(col(Digest.date).desc()).limit(limit)
    return list(session.exec(query))


def digests_between(session: Session, *, since: str, until: str) -> list[Digest]:
    """Daily issues dated in (since, until]: what a weekly issue gathers."""
    query = (
        select(Digest)
        .where(Digest.kind == "daily", Digest.date > since, Digest.date <= until)
        .order_by(col(Digest.date))
    )
    return list(session.exec(query))


def draft_intro(session: Session, *, day: str, kind: str = "daily") -> str:
    """The editorial intro curators wrote for the coming issue ('' when none)."""
    row = session.exec(
        select(IssueDraft).where(IssueDraft.date == day, IssueDraft.kind == kind)
    ).first()
    return row.intro if row else ""


def save_intro(
    session: Session, *, day: str, kind: str, intro: str, user: str, now: datetime
) -> None:
    """Keep the intro for the issue of `day`; an issue already built gets it too."""
    row = session.exec(
        select(IssueDraft).where(IssueDraft.date == day, IssueDraft.kind == kind)
    ).first()
    row = row or IssueDraft(kind=kind, date=day, updated_at=now)
    row.intro, row.updated_at, row.updated_by = intro, now, user
    session.add(row)
    saved = digest_on(session, day=day, kind=kind)
    if saved is not None:
        saved.intro = intro or None
        session.add(saved)


def insert_digest(session: Session, digest: Digest) -> Digest:
    """Save a new issue; if another process saved the same date first, return theirs."""
    try:
        with session.begin_nested():
            session.add(digest)
        return digest
    except IntegrityError:
        found = digest_on(session, day=digest.date, kind=digest.kind)
        if found is None:
            raise
        return found


def add_deliveries(
    session: Session, *, digest_id: int, subscriber_ids: Iterable[int], now: datetime
) -> None:
    """One pending row per subscriber; rows that exist already are left as they are."""
    rows = [
        {
            "digest_id": digest_id,
            "subscriber_id": sid,
            "status": "pending",
            "attempts": 0,
            "updated_at": now,
        }
        for sid in sorted(set(subscriber_ids))
    ]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Delivery).on_conflict_do_nothing(index_elements=["digest_id", "subscriber_id"])
    session.execute(stmt, rows)  # executemany: one 10,000-row VALUES takes seconds to compile


def _in_lane(lane: tuple[int, int] | None):  # noqa: ANN202
    """The SQL condition "this delivery's subscriber is in lane i of n" (True without lanes)."""
    if lane is None:
        return true()
    return col(Delivery.subscriber_id) % lane[1] == lane[0]


def recover_released(
    session: Session, *, digest_id: int, now: datetime, lane: tuple[int, int] | None = None
) -> int:
    """Rows a killed run left in `sending` had their message released: count them as sent.

    Resending them could deliver a second copy; the digest goes out at most once.
    """
    result = session.execute(
        update(Delivery)
        .where(Delivery.digest_id == digest_id, Delivery.status == "sending", _in_lane(lane))
        .values(
            status="sent",
            sent_at=now,
            updated_at=now,
            last_error="interrupted after release; assumed delivered, not resent",
        )
    )
    return result.rowcount or 0


# The per-message writes, on a connection held by the sender: plain table updates built once,
# as a session, the ORM's UPDATE path and building a statement each time cost ~1 ms a message.
_DELIVERY = Delivery.__table__  # type: ignore[attr-defined]
_SENDING = (
    update(_DELIVERY)
    # Conditional: of two senders of one delivery, only the first claims it (pending → sending).
    .where(_DELIVERY.c.id == bindparam("delivery_id"), _DELIVERY.c.status.in_(OPEN))
    .values(
        status="sending",
        attempts=_DELIVERY.c.attempts + 1,
        message_id=bindparam("msgid"),
        last_error=None,
        updated_at=bindparam("now"),
    )
)
_SENT = (
    update(_DELIVERY)
    # Conditional: only a claimed row becomes sent (a row another run closed stays as it is).
    .where(_DELIVERY.c.id == bindparam("delivery_id"), _DELIVERY.c.status == "sending")
    .values(status="sent", last_error=None, sent_at=bindparam("at"), updated_at=bindparam("at"))
)


def mark_sending(conn: Connection, *, delivery_id: int, message_id: str, now: datetime) -> bool:
    """Claim the delivery just before its message is released (from then on it may reach its
    reader). False: another sender claimed it first, this one must not release it."""
    params = {"delivery_id": delivery_id, "msgid": message_id, "now": now}
    return conn.execute(_SENDING, params).rowcount == 1


def mark_sent(
    conn: Connection, *, sent: Sequence[tuple[int, datetime]], reset: Iterable[int] = ()
) -> None:
    """(delivery id, when the server took it) rows are sent; `reset` subscribers' rejection
    counts go back to zero."""
    if sent:
        conn.execute(_SENT, [{"delivery_id": i, "at": at} for i, at in sent])
    if ids := sorted(set(reset)):
        table = Subscriber.__table__  # type: ignore[attr-defined]
        conn.execute(update(table).where(table.c.id.in_(ids)).values(failures=0))


# Every status transition names the statuses it leaves from, so a step repeated (a retried
# job, a second sender) changes nothing once the row moved on: sent and rejected are final.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "sending": OPEN,
    "sent": ("sending",),
    "failed": (*OPEN, "sending"),
    "rejected": (*OPEN, "sending"),
    "skipped": OPEN,
}


def set_delivery_status(
    session: Session,
    *,
    delivery_id: int,
    status: str,
    now: datetime,
    last_error: str | None = None,
    message_id: str | None = None,
    tried: bool = False,
) -> bool:
    """Move one delivery to `status` if its current status allows it (TRANSITIONS); False
    when it had moved on already and nothing was written. `tried` counts an attempt."""
    table = _DELIVERY
    values: dict[str, object] = {"status": status, "updated_at": now, "last_error": last_error}
    if tried:
        values["attempts"] = table.c.attempts + 1
    if message_id is not None:  # recorded at release, so a recovered row says what went out
        values["message_id"] = message_id
    if status == "sent":
        values["sent_at"] = now
    stmt = (
        update(table)
        .where(table.c.id == delivery_id, table.c.status.in_(TRANSITIONS[status]))
        .values(**values)
    )
    return session.execute(stmt).rowcount == 1


def count_rejection(session: Session, *, subscriber_id: int, bounce_after: int) -> bool:
    """One more permanent rejection for a subscriber, in one conditional statement; True
    when the address is now set aside as bounced (`bounce_after` rejections in a row)."""
    table = Subscriber.__table__  # type: ignore[attr-defined]
    session.execute(
        update(table).where(table.c.id == subscriber_id).values(failures=table.c.failures + 1)
    )
    bounced = session.execute(
        update(table)
        .where(
            table.c.id == subscriber_id,
            table.c.failures >= bounce_after,
            table.c.status != "bounced",
        )
        .values(status="bounced")
    )
    return bounced.rowcount == 1


def close_issue(session: Session, *, digest_id: int, now: datetime) -> bool:
    """Stamp the issue sent once no delivery is left open; True when this call stamped it."""
    counts = delivery_counts(session, digest_id=digest_id)
    if any(counts.get(s, 0) for s in (*OPEN, "sending")):
        return False
    result = session.execute(
        update(Digest)
        .where(col(Digest.id) == digest_id, col(Digest.sent_at).is_(None))
        .values(sent_at=now)
    )
    return result.rowcount == 1


def open_deliveries(
    session: Session, *, digest_id: int, lane: tuple[int, int] | None = None
) -> list[tuple[Delivery, Subscriber]]:
    """Deliveries still to send (of one lane), with their subscriber, in a stable order."""
    query = (
        select(Delivery, Subscriber)
        .join(Subscriber, col(Subscriber.id) == Delivery.subscriber_id)
        .where(Delivery.digest_id == digest_id, col(Delivery.status).in_(OPEN), _in_lane(lane))
        .order_by(col(Delivery.id))
    )
    return list(session.exec(query).all())  # type: ignore[arg-type]


def delivery_counts(session: Session, *, digest_id: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in session.exec(select(Delivery.status).where(Delivery.digest_id == digest_id)):
        counts[status] = counts.get(status, 0) + 1
    return counts
