"""The weekly issue: the week's best stories per topic, for readers who chose "weekly".

It gathers the entries of the daily issues saved since the previous weekly issue (a week at
most), one per story, ranks them per topic as a daily issue is ranked (pins, curators' order,
confidence, recency, source diversity) and keeps the `cap` best of each topic. It is saved as
an issue of kind "weekly", dated the day it goes out, with its own archive pages and feed.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import Session

from veille.digest.entry import Entry
from veille.digest.rank import group
from veille.digest.select import Plan, from_digest
from veille.store import digests as q
from veille.types import TOPICS

WEEK = timedelta(days=7)


def is_weekly_day(day: date, weekday: int) -> bool:
    return day.weekday() == weekday


def plan_week(session: Session, *, day: date, now: datetime, cap: int) -> Plan:
    """The weekly issue dated `day`: the saved one if it exists, else what would be saved."""
    saved = q.digest_on(session, day=day.isoformat(), kind="weekly")
    if saved is not None:
        return from_digest(saved)
    previous = q.digest_before(session, day=day.isoformat(), kind="weekly")
    since = max(previous.date if previous else "", (day - WEEK).isoformat())
    dailies = q.digests_between(session, since=since, until=day.isoformat())
    entries = best_of([Entry.from_json(e) for d in dailies for e in d.entries], now=now, cap=cap)
    start = dailies[0].period_start if dailies else None
    intro = q.draft_intro(session, day=day.isoformat(), kind="weekly")
    return Plan(
        day=day,
        period_start=start,
        period_end=now,
        entries=tuple(entries),
        kind="weekly",
        intro=intro,
    )


def best_of(entries: list[Entry], *, now: datetime, cap: int) -> list[Entry]:
    """One entry per story (the latest issue's wins), then the `cap` best of each topic."""
    seen: dict[object, Entry] = {}
    for e in entries:
        seen[e.story_id if e.story_id is not None else ("item", e.item_id)] = e
    sections = group(list(seen.values()), now=now, topics=TOPICS)
    return [e for s in sections for e in s.entries[:cap]]
