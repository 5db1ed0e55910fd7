"""JSON Feed 1.0 and 1.1 (https://www.jsonfeed.org/version/1.1/) into `Entry` values."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime

from veille.errors import ParseError
from veille.parse.entry import (
    ParsedFeed,
    bounded_guid,
    each_entry,
    safe_url,
    too_many,
    unique_texts,
)
from veille.parse.urls import canonical_url, plain_text
from veille.types import Entry

VERSION_PREFIX = "https://jsonfeed.org/version/"


def is_json_feed(body: bytes) -> bool:
    return b"jsonfeed.org/version" in body[:4096]


def parse_json_feed(body: bytes, *, url: str, max_entries: int | None = None) -> ParsedFeed:
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"not a feed: invalid JSON ({exc})") from None
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith(VERSION_PREFIX):
        raise ParseError("not a feed: JSON without a jsonfeed.org version")
    items = doc.get("items")
    if not isinstance(items, list):
        raise ParseError("not a feed: JSON Feed without an items list")
    link = safe_url(url, doc.get("home_page_url")) or url
    version = "json" + str(doc["version"]).removeprefix(VERSION_PREFIX).replace(".", "")
    items = [item for item in items if isinstance(item, dict)]
    dropped = 0
    if max_entries is not None and len(items) > max_entries:
        # Newest first (ISO dates sort as text; undated ones keep their place, last).
        order = sorted(range(len(items)), key=lambda i: (_when(items[i]), -i), reverse=True)
        dropped = len(items) - max_entries
        items = [items[i] for i in sorted(order[:max_entries])]
    entries, skipped = each_entry(lambda item: _entry(item, link), items)
    if dropped:
        skipped = "; ".join(filter(None, [skipped, too_many(dropped, max_entries or 0)]))
    return ParsedFeed(
        entries=entries,
        title=plain_text(_text(doc.get("title"))),
        link=link,
        version=version,
        warning=skipped,
    )


def _entry(item: Mapping, base: str) -> Entry | None:
    link = safe_url(base, item.get("url")) or safe_url(base, item.get("external_url"))
    title = plain_text(_text(item.get("title")))
    content = _text(item.get("content_html")) or _text(item.get("content_text"))
    summary = plain_text(_text(item.get("summary")) or content)
    guid = bounded_guid(
        _text(item.get("id")).strip() or (canonical_url(link) if link else ""), title, summary
    )
    if not guid:
        return None
    authors = item.get("authors") or ([item["author"]] if item.get("author") else [])
    return Entry(
        guid=guid,
        url=link,
        canonical_url=canonical_url(link) if link else "",
        title=title,
        summary=summary,
        content=content,
        published=_date(item.get("date_published")) or _date(item.get("date_modified")),
        authors=unique_texts([a.get("name") for a in authors if isinstance(a, Mapping)]),
        categories=unique_texts(list(item.get("tags") or [])),
        image=safe_url(base, item.get("image")) or safe_url(base, item.get("banner_image")) or None,
    )


def _when(item: Mapping) -> str:
    value = item.get("date_published") or item.get("date_modified")
    return value if isinstance(value, str) else ""


def _text(value: object) -> str:
    # Ids may be numbers in the wild (1.0 allowed it loosely); anything else counts as absent.
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _date(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
