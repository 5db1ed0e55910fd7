"""The store's statistics and health queries, on SQLite and PostgreSQL: days cut in the
configured time zone, effective labels counted once, and the one health probe."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from veille.store import Item, Source, health, session_scope, stats
from veille.store.db import make_engine

PARIS = ZoneInfo("Europe/Paris")


def _seed(engine: Engine, rows: list[tuple[datetime, list[str], list[str] | None]]) -> None:
    with session_scope(engine) as s:
        src = Source(name="Source", url="https://example.org/feed", created_at=rows[0][0])
        s.add(src)
        s.flush()
        for n, (seen, labels, judged) in enumerate(rows):
            s.add(
                Item(
                    source_id=src.id,
                    guid=f"g{n}",
                    url=f"https://example.org/{n}",
                    canonical_url=f"https://example.org/{n}",
                    first_seen_at=seen,
                    updated_at=seen,
                    labels=labels,
                    curator_labels=judged,
                    reviewed_at=seen if judged is not None else None,
                )
            )


def _days(first: date, n: int, zone: ZoneInfo) -> list[tuple[str, datetime]]:
    days = [first + timedelta(days=i) for i in range(n)]
    return [(d.isoformat(), datetime.combine(d, time(), tzinfo=zone)) for d in days]


def test_days_are_cut_at_local_midnight(engine: Engine) -> None:
    """23:30 UTC on 30 November is 00:30 on 1 December in Paris: it counts for 1 December
    (UTC days put it on 30 November). Across the clock change of 29 March the day is 23 h."""
    _seed(
        engine,
        [
            (datetime(2026, 11, 30, 22, 30, tzinfo=UTC), ["social_innovation"], None),
            (datetime(2026, 11, 30, 23, 30, tzinfo=UTC), ["social_innovation"], []),
            (datetime(2026, 12, 1, 12, 0, tzinfo=UTC), [], ["open_collaboration"]),
        ],
    )
    with session_scope(engine) as s:
        found = stats.per_day(s, days=_days(date(2026, 11, 29), 4, PARIS))
        utc = stats.per_day(s, days=_days(date(2026, 11, 29), 4, ZoneInfo("UTC")))
    assert found["2026-11-30"] == {"": 1, "social_innovation": 1}
    # The curator's empty list wins over the model's label: counted, with no topic.
    assert found["2026-12-01"] == {"": 2, "open_collaboration": 1}
    assert utc["2026-11-30"][""] == 2 and utc["2026-12-01"][""] == 1


def test_a_short_day_at_the_clock_change(engine: Engine) -> None:
    # 29 March 2026 in Paris runs from 23:00 UTC on the 28th to 22:00 UTC on the 29th.
    _seed(
        engine,
        [
            (datetime(2026, 3, 28, 22, 59, tzinfo=UTC), [], None),
            (datetime(2026, 3, 28, 23, 0, tzinfo=UTC), [], None),
            (datetime(2026, 3, 29, 21, 59, tzinfo=UTC), [], None),
            (datetime(2026, 3, 29, 22, 0, tzinfo=UTC), [], None),
        ],
    )
    with session_scope(engine) as s:
        found = stats.per_day(s, days=_days(date(2026, 3, 28), 3, PARIS))
    assert {k: v[""] for k, v in found.items()} == {
        "2026-03-28": 1,
        "2026-03-29": 2,
        "2026-03-30": 1,
    }


def test_status_counts_and_shares(engine: Engine) -> None:
    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    _seed(
        engine,
        [
            (now, ["social_innovation"], None),
            (now, ["social_innovation"], ["collaborative_consumption"]),
            (now, ["off_topic"], None),  # a stray label counts as none
        ],
    )
    with session_scope(engine) as s:
        assert stats.item_counts(s) == (3, 2)
        shares = stats.reviewed_share(s)
        assert stats.failing_sources(s) == []
        assert stats.top_sources(s, since=now) == [("Source", 3)]
    assert shares[""] == (3, 1)
    assert shares["social_innovation"] == (1, 0)
    assert shares["collaborative_consumption"] == (1, 1)
    assert shares["none"] == (1, 0)


def test_the_health_probe(engine: Engine) -> None:
    seen = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    with session_scope(engine) as s:
        s.add(Source(name="A", url="https://a.example/feed", created_at=seen))
        s.add(Source(name="B", url="https://b.example/feed", created_at=seen, last_success_at=seen))
        s.add(Source(name="C", url="https://c.example/feed", created_at=seen, enabled=False))
    found = health.probe(engine)
    assert found.ok and found.error is None
    assert (found.last_pull, found.enabled_sources) == (seen, 2)
    assert health.probe(engine, pulls=False) == health.Probe()


def test_the_health_probe_reports_an_unreachable_database() -> None:
    """Nothing listens on port 9 of loopback: one line, never an exception."""
    engine = make_engine("postgresql://postgres@127.0.0.1:9/veille")
    try:
        found = health.probe(engine)
    finally:
        engine.dispose()
    assert not found.ok
    assert "127.0.0.1" in found.error and "\n" not in found.error
