"""The pull's decisions, as pure functions over plain values: no I/O, no clock, no settings.

What `refresh` asks here, in its order: which entries are new, what row each new item
becomes, which story it joins, what the classifier reads, and when the source is fetched
next (its interval after a success; after failures an exponential backoff capped at a day,
never before a Retry-After; a source is never disabled for failing, a curator decides that).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from veille import dedupe
from veille.types import Doc, Entry, Extraction, Prediction, classifier_doc

MAX_BACKOFF = 86400  # a failing source is retried at least daily
MAX_AGE_CAP = 86400  # a feed's Cache-Control: max-age delays its next fetch by a day at most
MAX_NEW_FROM_LISTING = 100  # pages and sitemaps: newest links per run, not a site's archive


def next_fetch_at(
    now: datetime, interval: int, failures: int, retry_after: float | None = None
) -> datetime:
    """The schedule: the interval after a success; after failures, the interval doubled per
    failure, capped at a day (or the interval when longer); never before a Retry-After."""
    delay = float(interval)
    if failures:
        delay = min(interval * 2 ** (failures - 1), max(MAX_BACKOFF, interval))
    if retry_after:
        delay = max(delay, retry_after)
    return now + timedelta(seconds=delay)


def interval_after(interval: int, max_age: int | None) -> int:
    """A feed's Cache-Control: max-age is a lower bound on the wait before the next fetch
    (it says the content will not change before), capped at MAX_AGE_CAP."""
    return max(interval, min(max_age or 0, MAX_AGE_CAP))


def after_success(
    *, interval: int, state: dict[str, Any], warning: str | None, max_age: int | None, now: datetime
) -> dict[str, object]:
    """The source row's values after a read."""
    return {
        "last_attempt_at": now,
        "last_success_at": now,
        "last_error": None,
        "consecutive_failures": 0,
        "warning": clean(warning) if warning else None,
        "next_fetch_at": next_fetch_at(now, interval_after(interval, max_age), 0),
        "fetch_state": state,
    }


def after_failure(
    *,
    interval: int,
    failures: int,
    error: str,
    retry_after: float | None,
    state: dict[str, Any],
    now: datetime,
) -> dict[str, object]:
    """The source row's values after a failed read (`failures` before this one)."""
    return {
        "last_attempt_at": now,
        "last_error": error,
        "last_error_at": now,
        "consecutive_failures": failures + 1,
        "next_fetch_at": next_fetch_at(now, interval, failures + 1, retry_after),
        "fetch_state": state,
    }


def new_entries(entries: Iterable[Entry], known: set[str], *, listing: bool) -> list[Entry]:
    """Entries whose GUID the source does not have yet, first telling of each GUID kept; a
    listing page or sitemap gives its newest MAX_NEW_FROM_LISTING links at most."""
    fresh: dict[str, Entry] = {}
    for entry in entries:
        if entry.guid not in known and entry.guid not in fresh:
            fresh[entry.guid] = entry
    out = list(fresh.values())
    return out[:MAX_NEW_FROM_LISTING] if listing else out


def clean(text: str) -> str:
    """Databases refuse NUL and lone surrogates in text; a hostile JSON feed can carry both
    ("\\u0000", "\\ud800")."""
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")


def item_row(source_id: int, entry: Entry, now: datetime) -> dict[str, object]:
    """The row of a new item as its source gave it."""
    # A date in the future is a feed's mistake; it would pin the item on top of every list.
    published = entry.published if entry.published and entry.published <= now else now
    return {
        "source_id": source_id,
        "guid": clean(entry.guid),
        "url": clean(entry.url),
        "canonical_url": clean(entry.canonical_url),
        "title": clean(entry.title),
        "feed_summary": clean(entry.summary),
        "feed_content": clean(entry.content),
        "published_at": published,
        "first_seen_at": now,
        "updated_at": now,
        "authors": [a for a in map(clean, entry.authors) if a],
        "categories": [c for c in map(clean, entry.categories) if c],
        "image": clean(entry.image) if entry.image else None,
    }


def classifier_input(title: str, ext: Extraction) -> Doc:
    """What the classifier reads of an item: the one document of types.classifier_doc."""
    return classifier_doc(
        title=title, page_title=ext.title, text=ext.text, summary=ext.summary, lang=ext.lang
    )


def extracted_values(
    ext: Extraction,
    doc: Doc,
    *,
    text_hash: str | None,
    sig: bytes | None,
    image: str | None,
    prediction: Prediction | None,
    now: datetime,
) -> dict[str, object]:
    """An item's columns once extracted, filed and classified (its story set by the caller)."""
    values: dict[str, object] = {
        "text": ext.text,
        "html_excerpt": ext.html_excerpt,
        "extraction": ext.kind,
        "extraction_reason": ext.reason[:500],
        "lang": ext.lang,
        "summary": ext.summary,
        "author": ext.author,
        "site_name": ext.site_name,
        "extracted_at": now,
        "doc_title": doc.title,  # with text, summary, lang: what was scored
        "content_hash": text_hash,
        "minhash": sig,
    }
    if not image and ext.image and ext.image.startswith(("http://", "https://")):
        values["image"] = ext.image
    if prediction is not None:
        values.update(
            labels=list(prediction.labels),
            scores=dict(prediction.scores),
            unsure=list(prediction.unsure),
            model_version=prediction.model_version,
            classified_at=now,
        )
    return values


@dataclass(frozen=True, slots=True)
class Filing:
    """One item to file: `key` is its id (or a placeholder for an item not stored yet)."""

    key: int
    guid: str
    canonical_url: str
    text_hash: str | None
    sig: bytes | None
    published: datetime


def choose_story(
    item: Filing,
    *,
    source: str,
    known: list[dedupe.KnownItem],
    story_of: Mapping[int, int | None],
    candidates: list[dedupe.Candidate],
    story_sources: dict[int, set[str]],
    window: timedelta,
) -> int | None:
    """The story an item joins: an exact copy's, else a near duplicate's (dedupe's rules),
    else None (a story of its own)."""
    match = dedupe.find_exact(
        source=source,
        guid=item.guid,
        canonical_url=item.canonical_url,
        content_hash=item.text_hash,
        known=[k for k in known if k.item_id != item.key],
    )
    story_id = story_of.get(match.item_id) if match else None
    if story_id is None and item.sig is not None:
        story_id = dedupe.best_story(
            item.sig, item.published, source, candidates, story_sources, window
        )
    return story_id


def representatives(
    members: Mapping[int, list[tuple[int, datetime | None, int, bool]]],
) -> list[tuple[int, int, int]]:
    """(story id, representative item id, size) of each story from its members."""
    out = []
    for story_id, rows in members.items():
        chosen = dedupe.choose_representative(
            [dedupe.StoryMember(i, p, n, pr) for i, p, n, pr in rows]
        )
        out.append((story_id, chosen, len(rows)))
    return out
