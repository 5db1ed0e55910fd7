"""Plain values that travel between stages. Stages take and return these, nothing richer.

Everything here is a frozen dataclass so it pickles into the extraction process pool and
compares by value in tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

# The taxonomy of ../shared/taxonomy.md: machine names are fixed, order is the digest's order.
TOPICS: tuple[str, ...] = ("social_innovation", "collaborative_consumption", "open_collaboration")
TOPIC_NAMES: dict[str, dict[str, str]] = {
    "social_innovation": {"fr": "Innovation sociale", "en": "Social innovation"},
    "collaborative_consumption": {
        "fr": "Consommation collaborative",
        "en": "Collaborative consumption",
    },
    "open_collaboration": {"fr": "Collaboration ouverte", "en": "Open collaboration"},
}
LANGUAGES: tuple[str, ...] = ("fr", "en")

# C0/C1 controls (tab and newlines aside: they are whitespace), which lxml refuses, and the
# bidirectional controls (U+202A-202E, U+2066-2069, U+200E/F, U+061C) that make a title or a
# source name display as something else ("right-to-left override" spoofing).
UNSAFE_CHARS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def safe_text(text: str) -> str:
    """`text` without control or bidirectional-override characters."""
    return UNSAFE_CHARS.sub("", text) if UNSAFE_CHARS.search(text) else text


def finalize_text(value: object) -> object:
    """Jinja `finalize`: what a page prints never carries controls or bidi overrides (items
    stored before they were stripped at parse time included). Markup stays markup."""
    if isinstance(value, str) and UNSAFE_CHARS.search(value):
        return type(value)(UNSAFE_CHARS.sub("", value))
    return value


SourceKind = str  # one of veille.sources.readers.KINDS (feed, page, sitemap)
ExtractionKind = Literal["article", "feed_content", "summary"]


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """One source as declared in feeds.yaml (the source of truth for what we follow)."""

    name: str
    url: str
    kind: SourceKind = "feed"
    language: str | None = None
    tags: tuple[str, ...] = ()
    topics_hint: tuple[str, ...] = ()
    interval: int = 3600  # seconds
    enabled: bool = True
    selector: str | None = None  # kind=page: CSS selector for article links
    primary: bool = False  # wins as a story's representative


@dataclass(frozen=True, slots=True)
class Entry:
    """One item as read from a feed, listing page or sitemap, before extraction."""

    guid: str  # the source's id for it; the canonical URL when the source gives none
    url: str
    canonical_url: str
    title: str = ""
    summary: str = ""  # plain text
    content: str = ""  # the feed's full content, HTML as given (sanitised later)
    published: datetime | None = None  # aware UTC
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    image: str | None = None


@dataclass(frozen=True, slots=True)
class Extraction:
    """The text we keep for an item and where it came from."""

    text: str
    kind: ExtractionKind
    reason: str  # why this text was used, e.g. "ok", "cookie_wall", "fetch_failed: timeout"
    html_excerpt: str = ""  # sanitised HTML, safe to render
    summary: str = ""  # 2-3 sentences, <= ~400 chars, cut on a sentence boundary
    lang: str = "other"  # fr | en | other
    title: str | None = None
    author: str | None = None
    site_name: str | None = None
    image: str | None = None


@dataclass(frozen=True, slots=True)
class Doc:
    """What the classifier reads."""

    title: str
    text: str
    summary: str = ""
    lang: str | None = None


def classifier_doc(
    *, title: str, page_title: str | None, text: str, summary: str, lang: str | None
) -> Doc:
    """The one document the classifier reads of an item: the pull scores it, training,
    re-scoring, `veille evaluate` and the "why" panel rebuild it from the same fields.

    `title` is the feed's title, `page_title` the article page's (it wins when there is
    one); `text` and `summary` are the extracted ones, as stored on the item.
    """
    return Doc(title=page_title or title or "", text=text or "", summary=summary or "", lang=lang)


@dataclass(frozen=True, slots=True)
class Prediction:
    labels: tuple[str, ...]  # topics at or above their threshold; empty = off-topic
    scores: dict[str, float] = field(default_factory=dict)  # topic -> calibrated probability
    unsure: tuple[str, ...] = ()  # topics whose score falls in the band around the threshold
    model_version: str = ""


@dataclass(frozen=True, slots=True)
class Example:
    """A labelled document the classifier learns from: a seed label or a curator's call."""

    key: str  # corpus id of a seed label; the item's guid for a curator label
    doc: Doc
    labels: tuple[str, ...]  # empty = off-topic
    source: str = ""  # where it was published: lets cross-validation hold sources out
    url: str | None = None  # matches a curator's item with a seed record of the same page
    curated: bool = False  # a curator's call; wins over a seed label for the same item
