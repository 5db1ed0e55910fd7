"""Building `Entry` values safely, whatever the format they were read from."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from veille.parse.urls import absolute_url, plain_text
from veille.types import Entry

MAX_URL = 2048  # longer "URLs" are treated as absent: no browser or index keeps them
MAX_GUID = 512  # longer ids are hashed: PostgreSQL indexes cap a key near 2.7 kB
Raw = TypeVar("Raw")


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What a feed, listing page or sitemap yielded."""

    entries: tuple[Entry, ...]
    title: str = ""
    link: str = ""  # the site the feed belongs to
    version: str = ""  # rss20, atom10, json11, html, sitemap …
    warning: str | None = None  # e.g. a feed flagged malformed but still used


def safe_url(base: str, link: object) -> str:
    """`link` made absolute against `base`; "" when absent, not http(s) or absurdly long."""
    if not isinstance(link, str) or len(link) > MAX_URL:
        return ""
    return absolute_url(base, link)


def bounded_guid(guid: str, *fallback: str) -> str:
    """The id as given, hashed when too long; from `fallback` texts when empty ("" if none)."""
    if not guid:
        joined = "\n".join(f for f in fallback if f)
        return (
            "sha1:" + hashlib.sha1(joined.encode("utf-8", "replace")).hexdigest() if joined else ""
        )
    if len(guid) <= MAX_GUID:
        return guid
    return "sha1:" + hashlib.sha1(guid.encode("utf-8", "replace")).hexdigest()


def unique_texts(values: list[object]) -> tuple[str, ...]:
    """Plain-text values, blanks and repeats removed, order kept."""
    seen: dict[str, None] = {}
    for v in values:
        text = plain_text(v) if isinstance(v, str) else ""
        if text:
            seen.setdefault(text, None)
    return tuple(seen)


def each_entry(
    build: Callable[[Raw], Entry | None], raws: Iterable[Raw]
) -> tuple[tuple[Entry, ...], str | None]:
    """`build` applied to every raw entry: one that raises is skipped, never the whole feed.

    Returns the entries and a warning naming how many were skipped and why (None if none)."""
    entries: list[Entry] = []
    skipped: list[str] = []
    for raw in raws:
        try:
            entry = build(raw)
        except Exception as exc:  # noqa: BLE001 - hostile input: one entry, not the feed
            skipped.append(f"{type(exc).__name__}: {str(exc)[:120]}")
            continue
        if entry:
            entries.append(entry)
    if not skipped:
        return tuple(entries), None
    return tuple(entries), f"{len(skipped)} unreadable entries skipped ({skipped[0]})"


def too_many(dropped: int, kept: int) -> str:
    return (
        f"{dropped} older entries not read: the feed holds more than {kept} "
        "(VEILLE_MAX_ENTRIES_PER_FETCH)"
    )
