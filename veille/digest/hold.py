"""The digest policy (`VEILLE_DIGEST_POLICY`): precision first for subscribers.

`send` is the classifier's call, as it comes. `hold` (the default) lets an item go out by itself
only when the model is sure of it and its source is taught; otherwise it waits for a curator:

- the classifier was unsure of it: some topic scored inside the model's unsure band around its
  threshold (`Prediction.unsure`, stored on the item as `Item.unsure`);
- its source is new to the curators: fewer than `VEILLE_NEW_SOURCE_REVIEWS` of its items were
  judged, so curators teach the model each new feed first.

A curator-judged item (accepted or corrected on the review page) never waits, nor does a
pinned one. A waiting item is not in the issue being built, is shown "en attente" in the digest
preview, comes first in the review queue, and goes out in the next issue once judged (see
`select.plan`). Items older than `CARRY_DAYS` are stale news: they no longer wait.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from veille.settings import Settings

CARRY_DAYS = timedelta(days=7)  # a held item still judged in time goes out this long after


class Judged(Protocol):
    """What the rule reads of an item (a stored Item or a review-queue row)."""

    id: int | None
    source_id: int
    unsure: list[str]
    pinned: bool
    curator_labels: list[str] | None
    first_seen_at: datetime


@dataclass(frozen=True, slots=True)
class HoldPolicy:
    mode: str = "send"  # hold | send
    new_source_reviews: int = 0  # judged items a source needs before its items go out alone

    @classmethod
    def of(cls, settings: Settings) -> HoldPolicy:
        return cls(settings.digest_policy, settings.new_source_reviews)

    @property
    def holds(self) -> bool:
        return self.mode == "hold"

    def reason(self, item: Judged, judged: Mapping[int, int]) -> str:
        """Why the item waits for a curator: "unsure", "new_source", or "" when it may go.

        `judged` is the count of curator-judged items per source id
        (store.holds.judged_per_source).
        """
        if not self.holds or item.curator_labels is not None or item.pinned:
            return ""
        if item.unsure:
            return "unsure"
        if judged.get(item.source_id, 0) < self.new_source_reviews:
            return "new_source"
        return ""

    def waits(self, item: Judged, judged: Mapping[int, int]) -> bool:
        return bool(self.reason(item, judged))

    def held_before_issue(
        self, items: Iterable[Judged], judged: Mapping[int, int], now: datetime
    ) -> set[int]:
        """Ids of the items that wait and may still go out (not older than CARRY_DAYS): the
        review queue puts them first."""
        fresh = now - CARRY_DAYS
        return {
            i.id
            for i in items
            if i.id is not None and i.first_seen_at >= fresh and self.waits(i, judged)
        }
