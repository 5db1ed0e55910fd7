"""Which stories go into the digest of a day: a selection over the store.

An issue covers the items first stored since the previous issue (the first issue covers one
day). An item is in scope when it has at least one topic (the curator's labels once judged,
else the classifier's) and no curator excluded it. Items of one story make one entry, shown
through the story's representative; a story whose representative a curator excluded stays
out, and a story that was in one of the recent issues does not come back. Once built, an issue
is frozen on its Digest row so every later rendering (email, archive, feeds) is the same.

Under the digest policy `hold` (hold.py), items that wait for a curator are left out of the
issue and listed apart (`Plan.held`); freezing the issue marks them, and the next issue takes
them again with its own items: judged by then, they go out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from veille.digest.entry import Entry, cut, plain_text, safe_url
from veille.digest.hold import CARRY_DAYS, HoldPolicy
from veille.digest.rank import Section, group
from veille.store import digests as q
from veille.store import holds, judgements
from veille.store.labels import effective_labels
from veille.store.models import Digest, Item
from veille.types import TOPICS

FIRST_PERIOD = timedelta(days=1)
REPEAT_LOOKBACK = 14  # issues whose stories are not repeated


@dataclass(frozen=True)
class Plan:
    """An issue: saved (digest_id set) or a preview of what would be saved."""

    day: date
    period_start: datetime | None
    period_end: datetime
    entries: tuple[Entry, ...]
    digest_id: int | None = None
    kind: str = "daily"  # daily | weekly
    intro: str = ""  # the curators' editorial note, written on the preview
    # Policy `hold`: what waits for a curator (shown apart in the preview, never sent) and the
    # earlier waiting items that no longer wait (their mark is cleared when the issue is saved).
    held: tuple[Entry, ...] = ()
    held_ids: tuple[int, ...] = ()
    released_ids: tuple[int, ...] = ()

    def sections(self, topics: tuple[str, ...] | list[str] = TOPICS) -> list[Section]:
        return group(self.entries, now=self.period_end, topics=tuple(topics or TOPICS))

    def count(self, topics: tuple[str, ...] | list[str] = TOPICS) -> int:
        return sum(len(s.entries) for s in self.sections(topics))


def local_day(now: datetime, tz: str) -> date:
    return now.astimezone(ZoneInfo(tz)).date()


def plan(
    session: Session, *, day: date, now: datetime, tz: str, policy: HoldPolicy = HoldPolicy()
) -> Plan:
    """The issue of `day`: the saved one if it exists, else what would be saved now."""
    saved = q.digest_on(session, day=day.isoformat())
    if saved is not None:
        return from_digest(saved)
    end_of_day = datetime.combine(day + timedelta(days=1), time(), ZoneInfo(tz)).astimezone(UTC)
    end = min(now, end_of_day)
    previous = q.digest_before(session, day=day.isoformat())
    start = previous.period_end if previous and previous.period_end else end - FIRST_PERIOD
    recent = q.recent_digests(session, limit=REPEAT_LOOKBACK)
    seen_stories = {e.get("story_id") for d in recent for e in d.entries} - {None}
    seen_items = {e["item_id"] for d in recent for e in d.entries}
    fresh = q.items_first_seen(session, since=start, until=end)
    # Items earlier issues held back (whatever the policy now: switching to `send` lets them go).
    carried = holds.waiting(session, since=end - CARRY_DAYS, until=end)
    known = {i.id for i in fresh}
    candidates = [
        i for i in [*fresh, *(c for c in carried if c.id not in known)] if i.id not in seen_items
    ]
    judged = judgements.per_source(session) if policy.holds else {}
    waiting = {i.id for i in candidates if policy.waits(i, judged)}
    entries = entries_for(
        session, candidates, skip_stories=seen_stories, waits=lambda i: policy.waits(i, judged)
    )
    held_items = [i for i in candidates if i.id in waiting]
    shown = [i for i in held_items if _could_go(i)]
    names = _names(session, shown)
    return Plan(
        day=day,
        period_start=start,
        period_end=end,
        entries=tuple(entries),
        held=tuple(_entry(i, names, [i], held=True) for i in shown),
        held_ids=tuple(sorted(waiting)),  # type: ignore[arg-type]
        released_ids=tuple(sorted(c.id for c in carried if c.id not in waiting)),  # type: ignore[misc]
        intro=q.draft_intro(session, day=day.isoformat()),
    )


def freeze(session: Session, issue: Plan, *, now: datetime) -> Plan:
    """Save the issue (once per day, whatever runs at the same time) and return it saved."""
    if issue.digest_id is not None:
        return issue
    mine = Digest(
        date=issue.day.isoformat(),
        created_at=now,
        period_start=issue.period_start,
        period_end=issue.period_end,
        entries=[e.to_json() for e in issue.entries],
        item_count=len(issue.entries),
        kind=issue.kind,
        intro=issue.intro or None,
    )
    row = q.insert_digest(session, mine)
    if row is mine:  # saved by this call, not by another process first
        holds.mark(session, held=issue.held_ids, released=issue.released_ids, now=now)
    return from_digest(row)


def from_digest(row: Digest) -> Plan:
    return Plan(
        day=date.fromisoformat(row.date),
        period_start=row.period_start,
        period_end=row.period_end or row.created_at,
        entries=tuple(Entry.from_json(e) for e in row.entries),
        digest_id=row.id,
        kind=row.kind,
        intro=row.intro or "",
    )


def recent_entries(
    session: Session,
    *,
    now: datetime,
    days: int = 30,
    limit: int = 200,
    policy: HoldPolicy = HoldPolicy(),
) -> list[Entry]:
    """In-scope stories first stored in the last `days`, newest first (for the output feeds);
    items that wait for a curator are left out."""
    items = q.items_first_seen(session, since=now - timedelta(days=days), until=now, limit=limit)
    judged = judgements.per_source(session) if policy.holds else {}
    found = entries_for(session, items, waits=lambda i: policy.waits(i, judged))
    return sorted(found, key=lambda e: (e.date, e.item_id), reverse=True)


def entries_for(
    session: Session,
    candidates: list[Item],
    *,
    skip_stories: set[int] | frozenset = frozenset(),
    waits: Callable[[Item], bool] = lambda item: False,
) -> list[Entry]:
    """One entry per story among the in-scope candidates; items that `waits` are left out."""

    def goes(item: Item) -> bool:
        return _in_scope(item) and not waits(item)

    in_scope = [i for i in candidates if goes(i) and i.story_id not in skip_stories]
    story_ids = {i.story_id for i in in_scope if i.story_id is not None}
    members = q.story_members(session, story_ids=story_ids)
    story_rows = q.stories(session, ids=story_ids)
    raw_names = q.source_names(
        session,
        ids={m.source_id for ms in members.values() for m in ms} | {i.source_id for i in in_scope},
    )
    names = {sid: plain_text(name) for sid, name in raw_names.items()}
    entries: list[Entry] = []
    done: set[int] = set()
    for item in in_scope:
        if item.story_id is None:
            entries.append(_entry(item, names, [item]))
            continue
        if item.story_id in done:
            continue
        done.add(item.story_id)
        story = members[item.story_id] or [item]
        rep_id = (
            story_rows[item.story_id].representative_id if item.story_id in story_rows else None
        )
        rep = next((m for m in story if m.id == rep_id), None)
        if rep is not None and rep.excluded:
            continue
        scope = [m for m in story if goes(m)] or [item]
        chosen = (
            rep
            if rep in scope
            else max(scope, key=lambda m: (max(m.scores.values(), default=0), -m.id))
        )
        entries.append(_entry(chosen, names, story, scope))
    return entries


def _could_go(item: Item) -> bool:
    """A waiting item worth a curator's look before the issue: it has or nearly has a topic."""
    return not item.excluded and any(t in TOPICS for t in [*effective_labels(item), *item.unsure])


def _names(session: Session, items: list[Item]) -> dict[int, str]:
    raw = q.source_names(session, ids={i.source_id for i in items})
    return {sid: plain_text(name) for sid, name in raw.items()}


def _in_scope(item: Item) -> bool:
    """Not excluded, and at least one topic of the taxonomy (a stray label does not count)."""
    return not item.excluded and any(t in TOPICS for t in effective_labels(item))


def _entry(
    item: Item,
    names: dict[int, str],
    story: list[Item],
    scope: list[Item] | None = None,
    *,
    held: bool = False,
) -> Entry:
    scope = scope or [item]
    source = names.get(item.source_id, "")
    labels = set(effective_labels(item))
    if held:  # a waiting item is shown under the topics the curator is asked about as well
        labels |= set(item.unsure)
    ranks = [m.digest_rank for m in scope if m.digest_rank is not None]
    summary = item.edited_summary or item.summary or cut(plain_text(item.feed_summary))
    updated = max(d for d in (item.updated_at, item.reviewed_at, item.first_seen_at) if d)
    return Entry(
        item_id=item.id or 0,
        title=plain_text(item.title) or item.canonical_url,
        url=safe_url(item.url) or safe_url(item.canonical_url),
        source=source,
        date=item.published_at or item.first_seen_at,
        updated=updated,
        summary=plain_text(summary),
        topics=tuple(t for t in TOPICS if t in labels),
        scores={t: float(s) for t, s in item.scores.items() if t in labels},
        curated=item.curator_labels is not None,
        also=tuple(
            sorted({names[m.source_id] for m in story if names.get(m.source_id, source) != source})
        ),
        story_id=item.story_id,
        pinned=any(m.pinned for m in scope),
        rank=min(ranks) if ranks else None,
        image=safe_url(item.image),
        lang=item.lang or "",
    )
