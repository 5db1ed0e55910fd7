"""The digest policy (`VEILLE_DIGEST_POLICY`): precision first for subscribers.

`send` is the classifier's call, as it comes. `hold` (the default) lets an item go out by itself
only when the model is sure of it and its source is taught; otherwise it waits for a curator:

- the classifier was unsure of it: some topic scored inside the model's unsure band around its
  threshold (`Prediction.unsure`, stored on the item as `Item.unsure`);
- its source is new to the curators: fewer than `VEILLE_NEW_SOURCE_REVIEWS` of its items were
  judged, so curators teach the model each new feed first;
- its source is mostly off-topic by the curators' judgements and the classifier filed the item
  under a topic: once TRUST_AFTER of a source's items were judged, its estimated on-topic share
  (judged items curators filed under a topic, plus one, over judged items plus two) below
  SOURCE_TRUST makes what the classifier files from it wait. Such feeds give most of the stray
  entries a model that never saw them sends out; curators' calls on the held items raise the
  share again if the source does carry the topics. Measured on whole-source scores of the seed
  labels, chosen on half the sources and judged on the other half (`python -m bench.policy`):
  precision of what goes out unreviewed +0.058 at the same share held (16 of 20 halvings).

A curator-judged item (accepted or corrected on the review page) never waits, nor does a
pinned one. A waiting item is not in the issue being built, is shown "en attente" in the digest
preview, comes first in the review queue, and goes out in the next issue once judged (see
`select.plan`). Items older than `CARRY_DAYS` are stale news: they no longer wait.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from veille.settings import Settings

CARRY_DAYS = timedelta(days=7)  # a held item still judged in time goes out this long after
SOURCE_TRUST = 0.5  # estimated on-topic share under which a judged source's filed items wait
TRUST_AFTER = 10  # judged items a source needs before its on-topic share is estimated


class Judged(Protocol):
    """What the rule reads of an item (a stored Item or a review-queue row; a row without
    `labels`, the classifier's topics, is never held for its source's trust)."""

    id: int | None
    source_id: int
    unsure: list[str]
    pinned: bool
    curator_labels: list[str] | None
    first_seen_at: datetime


class Taught(Protocol):
    """A source's curator-judged items (store.judgements.SourceJudgements)."""

    judged: int
    relevant: int  # of them, filed under some topic by the curator


def on_topic_share(taught: Taught | int) -> float:
    """The source's estimated on-topic share, 1 until TRUST_AFTER of its items were judged
    (or when only their count is known)."""
    if isinstance(taught, int) or taught.judged < TRUST_AFTER:
        return 1.0
    return (taught.relevant + 1) / (taught.judged + 2)


@dataclass(frozen=True, slots=True)
class HoldPolicy:
    mode: str = "send"  # hold | send
    new_source_reviews: int = 0  # judged items a source needs before its items go out alone
    min_on_topic: float = 0.0  # SOURCE_TRUST in the settings' policy; 0: no source is distrusted

    @classmethod
    def of(cls, settings: Settings) -> HoldPolicy:
        return cls(settings.digest_policy, settings.new_source_reviews, SOURCE_TRUST)

    @property
    def holds(self) -> bool:
        return self.mode == "hold"

    def reason(
        self,
        item: Judged,
        judged: Mapping[int, Taught | int],
        filed: Container[int] | None = None,
    ) -> str:
        """Why the item waits for a curator: "unsure", "new_source", "off_topic_source", or ""
        when it may go.

        `judged` gives per source id its curator-judged items (store.judgements.per_source),
        or only how many there are (then no source is distrusted). `filed`: for items that do
        not carry their `labels` (review-queue rows), the ids the classifier filed under a
        topic (store.judgements.filed).
        """
        if not self.holds or item.curator_labels is not None or item.pinned:
            return ""
        if item.unsure:
            return "unsure"
        taught = judged.get(item.source_id, 0)
        count = taught if isinstance(taught, int) else taught.judged
        if count < self.new_source_reviews:
            return "new_source"
        labels = getattr(item, "labels", None)
        is_filed = bool(labels) if labels is not None else filed is not None and item.id in filed
        if is_filed and on_topic_share(taught) < self.min_on_topic:
            return "off_topic_source"
        return ""

    def waits(self, item: Judged, judged: Mapping[int, Taught | int]) -> bool:
        return bool(self.reason(item, judged))

    def held_before_issue(
        self,
        items: Iterable[Judged],
        judged: Mapping[int, Taught | int],
        now: datetime,
        filed: Container[int] | None = None,
    ) -> set[int]:
        """Ids of the items that wait and may still go out (not older than CARRY_DAYS): the
        review queue puts them first."""
        fresh = now - CARRY_DAYS
        return {
            i.id
            for i in items
            if i.id is not None and i.first_seen_at >= fresh and self.reason(i, judged, filed) != ""
        }
