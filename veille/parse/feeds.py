"""Feeds (RSS 0.9x/1.0/2.0, Atom, JSON Feed) into `Entry` values.

feedparser reads every XML dialect, including broken ones; a feed it flags as malformed
("bozo") but that still yields entries is used, with a warning for the source's row. The
body is always handed over as a stream: feedparser opens URLs and local files when given a
string, which a hostile feed must never make it do.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from datetime import UTC, datetime

import feedparser

from veille.errors import ParseError
from veille.parse.cap import newest_entries
from veille.parse.entry import (
    ParsedFeed,
    bounded_guid,
    each_entry,
    safe_url,
    too_many,
    unique_texts,
)
from veille.parse.jsonfeed import is_json_feed, parse_json_feed
from veille.parse.urls import canonical_url, plain_text
from veille.types import Entry

_FEED_MARKERS = (b"<rss", b"<feed", b"<rdf:rdf", b"<channel")
_BLANK = b"\xef\xbb\xbf \t\r\n"
# An entity declaration with its quoted value (which may hold ">").
_ENTITY_DECL = re.compile(rb"<!ENTITY(?:\"[^\"]*\"|'[^']*'|[^>\"'])*>", re.I)
_WIDE_ENTITY = ("<!ENTITY".encode("utf-16-le"), "<!ENTITY".encode("utf-16-be"))
_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)


def looks_like_feed(body: bytes, content_type: str = "") -> bool:
    """Sniff whether a response is a feed rather than an HTML page (for `kind: page`)."""
    ctype = content_type.lower()
    if any(t in ctype for t in ("rss", "atom", "feed+json", "rdf")):
        return True
    if "html" in ctype:
        return False
    head = body[:1024].lstrip(_BLANK).lower()
    if head.startswith(b"{"):
        return is_json_feed(body)
    return any(m in head for m in _FEED_MARKERS)


def parse_feed(
    body: bytes,
    *,
    url: str,
    headers: Mapping[str, str] | None = None,
    max_entries: int | None = None,
) -> ParsedFeed:
    """Entries of a feed body fetched from `url` (headers give the charset and base URL);
    the newest `max_entries` of them when the feed holds more."""
    if body.lstrip(_BLANK).startswith(b"{"):
        return parse_json_feed(body, url=url, max_entries=max_entries)
    body = _without_entity_declarations(body)
    hdrs = {k.lower(): v for k, v in (headers or {}).items()}
    hdrs.setdefault("content-location", url)
    dropped = 0
    if max_entries is not None:
        capped, dropped = newest_entries(body, max_entries)
        if capped is not body and dropped:
            body = capped
            hdrs["content-type"] = "application/xml"  # re-encoded as UTF-8 when re-written
    result = feedparser.parse(
        io.BytesIO(body), response_headers=hdrs, sanitize_html=False, resolve_relative_uris=True
    )
    # A server that calls a feed text/plain is common and harmless: not worth a warning.
    harmless = isinstance(result.get("bozo_exception"), feedparser.NonXMLContentType)
    problem = _one_line(result.get("bozo_exception")) if result.bozo and not harmless else None
    version = result.get("version") or ""
    if not result.entries and not version:
        if b"<html" in body[:4096].lower():
            found = _HTML_TITLE.search(body[:65536].decode("utf-8", "replace"))
            title = plain_text(found[1])[:80] if found else ""
            raise ParseError("not a feed: an HTML page" + (f" ({title})" if title else ""))
        raise ParseError(f"not a feed: {problem or 'no feed element'}")
    feed = result.get("feed", {})
    link = safe_url(url, feed.get("link")) or url
    entries, skipped = each_entry(lambda raw: entry_from_feedparser(raw, base=link), result.entries)
    warnings = [
        f"malformed feed: {problem}" if problem else None,
        skipped,
        too_many(dropped, max_entries or 0) if dropped else None,
    ]
    warning = "; ".join(w for w in warnings if w) or None
    return ParsedFeed(
        entries=entries,
        title=plain_text(feed.get("title")),
        link=link,
        version=version,
        warning=warning,
    )


def _without_entity_declarations(body: bytes) -> bytes:
    """Drop a DOCTYPE's entity declarations. feedparser's fallback parser expands the ones it
    deems safe, and a 100 kB entity used 10,000 times is 1 GB; real feeds do not need them."""
    if any(wide in body for wide in _WIDE_ENTITY):
        raise ParseError("refused: the feed declares XML entities")
    return _ENTITY_DECL.sub(b"", body) if b"<!entity" in body.lower() else body


def entry_from_feedparser(raw: Mapping, *, base: str) -> Entry | None:
    """One feedparser entry as an `Entry`; None when it has neither link, id nor text."""
    link = safe_url(base, raw.get("link"))
    guid = str(raw.get("id") or "").strip()
    if not link and guid.startswith(("http://", "https://")):
        link = safe_url(base, guid)
    title = plain_text(raw.get("title"))
    summary_html = raw.get("summary") or ""
    guid = bounded_guid(guid or (canonical_url(link) if link else ""), title, summary_html)
    if not guid:
        return None
    content = next((p["value"] for p in raw.get("content") or [] if p.get("value")), "")
    authors = [a.get("name") for a in raw.get("authors") or [] if isinstance(a, Mapping)]
    return Entry(
        guid=guid,
        url=link,
        canonical_url=canonical_url(link) if link else "",
        title=title,
        summary=plain_text(summary_html),
        content=content,
        published=_time(raw.get("published_parsed") or raw.get("updated_parsed")),
        authors=unique_texts(authors or [raw.get("author")]),
        categories=unique_texts([t.get("term") or t.get("label") for t in raw.get("tags") or []]),
        image=_image(raw, base),
    )


def _time(parsed: object) -> datetime | None:
    # feedparser gives a UTC struct_time; out-of-range values from broken feeds are dropped.
    try:
        return datetime(*parsed[:6], tzinfo=UTC) if parsed else None  # type: ignore[index]
    except (TypeError, ValueError, OverflowError):
        return None


def _image(raw: Mapping, base: str) -> str | None:
    candidates: list[object] = [m.get("url") for m in raw.get("media_thumbnail") or []]
    candidates += [
        m.get("url")
        for m in raw.get("media_content") or []
        if m.get("medium") == "image" or str(m.get("type", "")).startswith("image/")
    ]
    candidates += [
        link.get("href")
        for link in raw.get("links") or []
        if link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("image/")
    ]
    image = raw.get("image")
    if isinstance(image, Mapping):
        candidates.append(image.get("href"))
    return next((u for u in (safe_url(base, c) for c in candidates) if u), None)


def _one_line(exc: object) -> str:
    lines = str(exc or "unknown error").strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:300]
