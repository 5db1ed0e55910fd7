"""Curators fix stories: merge two stories the dedupe missed, split an item out of a wrong one.

Dedupe gives a story only to an item it sees for the first time, so a later pull never moves
an item a curator placed: the fix stays. Each fix is a Review row ("merge", "split") with the
item's story before and after, so the item's history shows who did it and when; the next
issue reads the stories as they are (one entry per story). The representative of every story
touched is chosen again by the dedupe's own rule.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from veille import dedupe
from veille.errors import VeilleError
from veille.store import reviews
from veille.store import stories as q
from veille.store.items import get_item
from veille.store.models import Item


class StoryFixError(VeilleError):
    """A merge or split that cannot be done (unknown item, the same story…)."""


def _item(session: Session, item_id: int) -> Item:
    item = get_item(session, item_id=item_id)
    if item is None:
        raise StoryFixError(f"no item {item_id}")
    return item


def merge(session: Session, *, item_id: int, other_id: int, user: str, now: datetime) -> int:
    """Put every item of `item_id`'s story into `other_id`'s story; returns that story."""
    item, other = _item(session, item_id), _item(session, other_id)
    if item.id == other.id:
        raise StoryFixError("an item cannot be merged with itself")
    if other.story_id is None:
        q.move_items(session, items=[other], story_id=q.new_story(session, now=now))
    if item.story_id == other.story_id:
        raise StoryFixError(f"items {item_id} and {other_id} are already one story")
    target, old = other.story_id, item.story_id
    movers = [item] if old is None else q.story_items(session, story_id=old)
    for mover in movers:
        reviews.record_story_change(
            session, item=mover, action="merge", story_id=target, user=user, now=now
        )
    q.move_items(session, items=movers, story_id=target)
    _settle(session, {target, old} - {None}, now)
    return target


def split(session: Session, *, item_id: int, user: str, now: datetime) -> int:
    """Take `item_id` out of its story into a story of its own; returns the new story."""
    item = _item(session, item_id)
    old = item.story_id
    if old is not None and not q.has_other_items(session, story_id=old, item_id=item_id):
        raise StoryFixError(f"item {item_id} is alone in its story already")
    new = q.new_story(session, now=now)
    reviews.record_story_change(
        session, item=item, action="split", story_id=new, user=user, now=now
    )
    q.move_items(session, items=[item], story_id=new)
    _settle(session, {new, old} - {None}, now)
    return new


def _settle(session: Session, story_ids: set[int], now: datetime) -> None:
    members = q.stories_members(session, story_ids=story_ids)
    rows = [
        (
            story_id,
            dedupe.choose_representative([dedupe.StoryMember(*m) for m in found]),
            len(found),
        )
        for story_id, found in members.items()
        if found
    ]
    q.set_stories(session, rows=rows, now=now)
