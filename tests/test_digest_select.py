"""Selection over the store (SQLite and PostgreSQL): scope, stories, curation, periods, freezing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlmodel import select as sql_select

from tests.fixtures.digest.seed import seed_items
from veille.digest import issue as issues
from veille.digest import select
from veille.store import Digest, Item, session_scope
from veille.types import TOPICS

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # 07:00 in Paris
DAY = date(2026, 11, 25)
TZ = "Europe/Paris"
IN_SCOPE = {
    "epicerie",
    "budget",
    "tzc",
    "repair",
    "covoit",
    "amap",
    "osm",
    "opendata",
    "curated",
    "hostile",
}


def keys_of(plan: select.Plan, ids: dict[str, int]) -> set[str]:
    by_id = {v: k for k, v in ids.items()}
    return {by_id[e.item_id] for e in plan.entries}


def test_in_scope_stories_once_each_with_curation_honoured(engine) -> None:  # noqa: ANN001
    ids = seed_items(engine, NOW)
    with session_scope(engine) as s:
        plan = select.plan(s, day=DAY, now=NOW, tz=TZ)
    # excluded, off-topic, stored before the period and the story's second item stay out
    assert keys_of(plan, ids) == IN_SCOPE
    assert plan.period_end == NOW and plan.period_start == NOW - timedelta(days=1)
    entries = {e.item_id: e for e in plan.entries}
    epicerie = entries[ids["epicerie"]]
    assert epicerie.also == ("Ouest-France",) and epicerie.source == "Territoires Solidaires"
    assert epicerie.topics == ("social_innovation", "collaborative_consumption")
    curated = entries[ids["curated"]]
    assert curated.topics == ("open_collaboration",) and curated.curated
    assert curated.summary.startswith("Le réseau des tiers-lieux publie un guide")
    tzc = entries[ids["tzc"]].summary  # no summary: a cut of the feed's, markup removed
    assert tzc.startswith("Le ministère a habilité dix nouveaux territoires")
    assert "<" not in tzc and len(tzc) <= 320
    hostile = entries[ids["hostile"]]
    assert hostile.url == "" and hostile.image == "" and "<" not in hostile.title
    assert hostile.title == "Coopérative d'habitants"
    sections = plan.sections()
    assert [s.topic for s in sections] == list(TOPICS)
    assert sections[1].entries[0].item_id == ids["amap"]  # pinned first
    assert plan.count() == len(IN_SCOPE)
    assert plan.count(["open_collaboration"]) == 4  # budget and curated join osm, opendata


def test_story_follows_its_representative(engine) -> None:  # noqa: ANN001
    ids = seed_items(engine, NOW, only={"epicerie", "epicerie-of"})
    with session_scope(engine) as s:
        rep = s.get(Item, ids["epicerie"])
        rep.curator_labels = []  # the curator says off-topic: the other source stands in
        s.add(rep)
    with session_scope(engine) as s:
        plan = select.plan(s, day=DAY, now=NOW, tz=TZ)
    assert [e.item_id for e in plan.entries] == [ids["epicerie-of"]]
    assert plan.entries[0].also == ("Territoires Solidaires",)
    with session_scope(engine) as s:
        rep = s.get(Item, ids["epicerie"])
        rep.excluded = True  # excluding the representative drops the story
        s.add(rep)
    with session_scope(engine) as s:
        assert select.plan(s, day=DAY, now=NOW, tz=TZ).entries == ()


def test_previous_issue_bounds_the_period_and_stories_do_not_repeat(engine, settings) -> None:  # noqa: ANN001
    ids = seed_items(engine, NOW)
    with session_scope(engine) as s:  # the story's first item was in yesterday's issue
        first = s.get(Item, ids["epicerie"])
        first.first_seen_at = NOW - timedelta(hours=8)
        s.add(first)
    yesterday = issues.build(
        engine, settings=settings, now=NOW - timedelta(hours=7), day=DAY - timedelta(days=1)
    )
    assert yesterday is not None and yesterday.digest_id is not None
    with session_scope(engine) as s:
        today = select.plan(s, day=DAY, now=NOW, tz=TZ)
    assert today.period_start == NOW - timedelta(hours=7)
    assert keys_of(yesterday, ids) == {"budget", "tzc", "opendata", "curated", "covoit", "epicerie"}
    assert keys_of(today, ids) == {"repair", "amap", "osm", "hostile"}  # no epicerie again


def test_an_issue_is_frozen_once_per_day(engine, settings) -> None:  # noqa: ANN001
    ids = seed_items(engine, NOW, only={"repair", "osm"})
    first = issues.build(engine, settings=settings, now=NOW)
    with session_scope(engine) as s:  # a new item arrives after the issue was built
        item = s.get(Item, ids["repair"])
        s.add(
            Item(
                source_id=item.source_id,
                guid="late",
                url="https://e.org/late",
                canonical_url="https://e.org/late",
                title="Tard",
                labels=["social_innovation"],
                first_seen_at=NOW + timedelta(minutes=5),
                updated_at=NOW,
            )
        )
    again = issues.build(engine, settings=settings, now=NOW + timedelta(minutes=10))
    assert first is not None and again is not None
    assert again.digest_id == first.digest_id and again.entries == first.entries
    with session_scope(engine) as s:
        rows = s.exec(sql_select(Digest)).all()
        assert len(rows) == 1 and rows[0].item_count == 2 and rows[0].date == "2026-11-25"
        # a plan raced against the saved one gets the saved one back
        raced = select.freeze(s, select.Plan(DAY, None, NOW, ()), now=NOW)
        assert raced.digest_id == first.digest_id and len(raced.entries) == 2


def test_an_empty_day_builds_nothing_unless_asked(engine, settings) -> None:  # noqa: ANN001
    seed_items(engine, NOW, only={"offtopic", "excluded"})
    assert issues.build(engine, settings=settings, now=NOW) is None
    with session_scope(engine) as s:
        assert s.exec(sql_select(Digest)).all() == []
    empty = issues.build(engine, settings=settings.model_copy(update={"send_empty": True}), now=NOW)
    assert empty is not None and empty.digest_id is not None and empty.entries == ()
