"""Writes a retried job may repeat are conditional: the second time, nothing changes.

On SQLite and on the real PostgreSQL (the `engine` fixture runs each test on both): item
extraction written once (`complete_items`), every delivery status transition checked against
the current status, a rejection counted once, an issue stamped sent once. Two writers at the
same moment (two threads, two connections) still give one effect.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from veille.store import Delivery, Digest, Item, Source, Subscriber, session_scope, stories
from veille.store import digests as q

NOW = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)


def _item(engine: Engine) -> int:
    with session_scope(engine) as s:
        src = Source(name="Source", url="https://example.org/feed", created_at=NOW)
        s.add(src)
        s.flush()
        item = Item(
            source_id=src.id,
            guid="g1",
            url="https://example.org/a",
            canonical_url="https://example.org/a",
            first_seen_at=NOW,
            updated_at=NOW,
        )
        s.add(item)
        s.flush()
        return int(item.id)


def _delivery(engine: Engine) -> tuple[int, int, int]:
    """(digest id, subscriber id, delivery id), pending."""
    with session_scope(engine) as s:
        sub = Subscriber(email="a@example.org", status="confirmed", created_at=NOW)
        digest = Digest(date="2026-12-03", created_at=NOW)
        s.add(sub)
        s.add(digest)
        s.flush()
        q.add_deliveries(s, digest_id=digest.id, subscriber_ids=[sub.id], now=NOW)
        ((delivery, _),) = q.open_deliveries(s, digest_id=digest.id)
        return int(digest.id), int(sub.id), int(delivery.id)


def _row(engine: Engine, delivery_id: int) -> Delivery:
    with session_scope(engine) as s:
        row = s.get(Delivery, delivery_id)
        s.expunge(row)
        return row


def test_complete_items_writes_an_extraction_once(engine: Engine) -> None:
    item_id = _item(engine)
    first = {"extraction": "article", "text": "first text", "labels": ["social_innovation"]}
    again = {"extraction": "summary", "text": "second text", "labels": []}
    with session_scope(engine) as s:
        assert stories.complete_items(s, rows=[(item_id, first)]) == 1
    with session_scope(engine) as s:  # the retried job
        assert stories.complete_items(s, rows=[(item_id, again)]) == 0
    with session_scope(engine) as s:
        item = s.get(Item, item_id)
        assert (item.extraction, item.text, item.labels) == (
            "article",
            "first text",
            ["social_innovation"],
        )


def test_complete_items_counts_what_it_wrote_in_a_batch(engine: Engine) -> None:
    ids = [_item(engine)]
    with session_scope(engine) as s:
        for n in (2, 3):
            row = Item(
                source_id=s.get(Item, ids[0]).source_id,
                guid=f"g{n}",
                url=f"https://example.org/{n}",
                canonical_url=f"https://example.org/{n}",
                first_seen_at=NOW,
                updated_at=NOW,
            )
            s.add(row)
            s.flush()
            ids.append(int(row.id))
    done = {"extraction": "article", "text": "t"}
    with session_scope(engine) as s:  # one executemany: two of the three rows
        assert stories.complete_items(s, rows=[(i, done) for i in ids[:2]]) == 2
    with session_scope(engine) as s:  # the retry with one more row writes only that one
        assert stories.complete_items(s, rows=[(i, done) for i in ids]) == 1


def test_two_writers_of_one_extraction_give_one_effect(engine: Engine) -> None:
    """Writer A holds its transaction open; writer B waits for it (row lock on PostgreSQL,
    the write lock on SQLite), then finds the row extracted and writes nothing."""
    item_id = _item(engine)
    written: dict[str, int] = {}
    b_started = threading.Event()

    def writer_b() -> None:
        b_started.set()
        with session_scope(engine) as s:
            written["b"] = stories.complete_items(
                s, rows=[(item_id, {"extraction": "summary", "text": "B"})]
            )

    with session_scope(engine) as s:
        written["a"] = stories.complete_items(
            s, rows=[(item_id, {"extraction": "article", "text": "A"})]
        )
        thread = threading.Thread(target=writer_b)
        thread.start()
        b_started.wait(5)
        thread.join(0.5)  # B is blocked behind A's uncommitted write
        assert thread.is_alive()
    thread.join(30)
    assert not thread.is_alive()
    assert written == {"a": 1, "b": 0}
    with session_scope(engine) as s:
        assert s.get(Item, item_id).text == "A"


def test_every_delivery_transition_checks_the_current_status(engine: Engine) -> None:
    _, _, delivery_id = _delivery(engine)
    later = NOW + timedelta(minutes=1)
    with engine.connect() as conn:
        assert q.mark_sending(conn, delivery_id=delivery_id, message_id="<m1>", now=NOW)
        # A second sender (or the retried job) does not claim it again.
        assert not q.mark_sending(conn, delivery_id=delivery_id, message_id="<m2>", now=later)
        conn.commit()
    with session_scope(engine) as s:  # sending is not open: it cannot be skipped
        assert not q.set_delivery_status(s, delivery_id=delivery_id, status="skipped", now=later)
    with engine.connect() as conn:
        q.mark_sent(conn, sent=[(delivery_id, NOW)])
        conn.commit()
    row = _row(engine, delivery_id)
    assert (row.status, row.attempts, row.message_id) == ("sent", 1, "<m1>")
    # Sent is final: a late failure, rejection or "assumed delivered" changes nothing.
    with session_scope(engine) as s:
        for status in ("failed", "rejected", "sent", "skipped", "sending"):
            moved = q.set_delivery_status(
                s, delivery_id=delivery_id, status=status, now=later, last_error="late", tried=True
            )
            assert not moved, status
    with engine.connect() as conn:
        q.mark_sent(conn, sent=[(delivery_id, later)])  # repeated: the first time stands
        conn.commit()
    row = _row(engine, delivery_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)
    assert row.sent_at.replace(tzinfo=UTC) == NOW


def test_a_rejection_and_a_bounce_count_once(engine: Engine) -> None:
    digest_id, sub_id, delivery_id = _delivery(engine)
    with session_scope(engine) as s:
        assert q.set_delivery_status(
            s, delivery_id=delivery_id, status="rejected", now=NOW, last_error="550", tried=True
        )
        assert not q.set_delivery_status(
            s, delivery_id=delivery_id, status="rejected", now=NOW, last_error="550", tried=True
        )
    row = _row(engine, delivery_id)
    assert (row.status, row.attempts) == ("rejected", 1)
    with session_scope(engine) as s:
        bounced = [q.count_rejection(s, subscriber_id=sub_id, bounce_after=3) for _ in range(4)]
        sub = s.get(Subscriber, sub_id)
        assert (sub.failures, sub.status) == (4, "bounced")
    assert bounced == [False, False, True, False]  # set aside once
    with session_scope(engine) as s:
        assert q.close_issue(s, digest_id=digest_id, now=NOW)
        assert not q.close_issue(s, digest_id=digest_id, now=NOW + timedelta(hours=1))
        assert s.get(Digest, digest_id).sent_at.replace(tzinfo=UTC) == NOW


def test_two_senders_of_one_delivery_release_it_once(engine: Engine) -> None:
    """Two senders on two connections race to claim one delivery: exactly one wins."""
    _, _, delivery_id = _delivery(engine)
    barrier = threading.Barrier(2)
    claimed: list[bool] = []

    def sender(n: int) -> None:
        with engine.connect() as conn:
            barrier.wait(5)
            claimed.append(
                q.mark_sending(conn, delivery_id=delivery_id, message_id=f"<m{n}>", now=NOW)
            )
            conn.commit()

    threads = [threading.Thread(target=sender, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(claimed) == [False, True]
    assert _row(engine, delivery_id).attempts == 1


def test_subscriber_transitions_apply_once(engine: Engine) -> None:
    from veille.store import subscribers as subs

    with session_scope(engine) as s:
        sid = subs.save(s, subscriber=Subscriber(email="b@example.org", created_at=NOW)).id
    later = NOW + timedelta(days=1)
    with session_scope(engine) as s:
        assert subs.confirm(s, subscriber_id=sid, now=NOW)
        assert not subs.confirm(s, subscriber_id=sid, now=later)  # the second click
        assert subs.unsubscribe(s, subscriber_id=sid, now=NOW)
        assert not subs.unsubscribe(s, subscriber_id=sid, now=later)
        assert not subs.confirm(s, subscriber_id=sid, now=later)  # left: not re-confirmed
    with session_scope(engine) as s:
        sub = s.get(Subscriber, sid)
        assert sub.status == "unsubscribed"
        assert sub.confirmed_at.replace(tzinfo=UTC) == NOW
        assert sub.unsubscribed_at.replace(tzinfo=UTC) == NOW
