"""Sitemaps (https://www.sitemaps.org/protocol.html), plain or gzipped, and sitemap indexes.

Parsed with defusedxml: no DTD, no entities, no external references, so a hostile sitemap can
neither blow up memory nor read a local file. Google News tags give titles and dates when
present; otherwise an entry is only a URL, and extraction fills in the rest later.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.etree.ElementTree import Element
from xml.etree.ElementTree import ParseError as XMLParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from veille.errors import ParseError
from veille.parse.entry import ParsedFeed, safe_url
from veille.parse.urls import canonical_url, plain_text
from veille.types import Entry


@dataclass(frozen=True, slots=True)
class Sitemap:
    parsed: ParsedFeed  # the pages it lists, newest first when dates are given
    children: tuple[str, ...]  # a sitemap index's sitemaps, newest first


def parse_sitemap(body: bytes, *, url: str, max_bytes: int = 50_000_000) -> Sitemap:
    if body[:2] == b"\x1f\x8b":
        body = gunzip(body, max_bytes)
    try:
        root = fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise ParseError(f"sitemap refused: {type(exc).__name__}") from None
    except XMLParseError as exc:
        raise ParseError(f"not a sitemap: {exc}") from None
    kind = _local(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        raise ParseError(f"not a sitemap: root element <{kind}>")
    rows = []
    for node in root:
        loc = safe_url(url, _child_text(node, "loc"))
        if loc:
            news = next((n for n in node if _local(n.tag) == "news"), None)
            date = _date(_child_text(news, "publication_date")) if news is not None else None
            title = plain_text(_child_text(news, "title")) if news is not None else ""
            rows.append((date or _date(_child_text(node, "lastmod")), loc, title))
    oldest = datetime.min.replace(tzinfo=UTC)
    rows.sort(key=lambda r: r[0] or oldest, reverse=True)
    if kind == "sitemapindex":
        return Sitemap(
            ParsedFeed(entries=(), link=url, version="sitemap"),
            tuple(dict.fromkeys(loc for _, loc, _ in rows)),
        )
    entries: dict[str, Entry] = {}
    for date, loc, title in rows:
        key = canonical_url(loc)
        if key and key not in entries:
            entries[key] = Entry(guid=key, url=loc, canonical_url=key, title=title, published=date)
    return Sitemap(ParsedFeed(entries=tuple(entries.values()), link=url, version="sitemap"), ())


def gunzip(body: bytes, max_bytes: int) -> bytes:
    """Decompress a `.xml.gz` body, refusing more than `max_bytes` out (gzip bombs)."""
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise ParseError(f"not a gzip file: {exc}") from None
    if len(out) > max_bytes:
        raise ParseError(f"sitemap larger than {max_bytes} bytes once decompressed")
    return out


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1].lower()


def _child_text(node: Element | None, name: str) -> str:
    if node is None:
        return ""
    for child in node:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return ""


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
