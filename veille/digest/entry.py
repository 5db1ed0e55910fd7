"""One digest entry: a story as a reader sees it, frozen into the issue when it is built.

Entries are plain values so the email, the archive page and the feeds render the very same
thing, and so an issue re-renders identically from the JSON kept on its Digest row. Text is
made plain here (tags stripped, entities decoded); templates escape it on output, so a hostile
title can only ever show as inert text.
"""

from __future__ import annotations

import html
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

import nh3

SUMMARY_CHARS = 320
_SPACES = re.compile(r"\s+")
# Characters XML 1.0 forbids (feeds would not even serialise) and noncharacters.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_SENTENCE_END = re.compile(r"[.!?…](?=\s)")


@dataclass(frozen=True)
class Entry:
    item_id: int
    title: str
    url: str  # http(s) only, else empty
    source: str
    date: datetime  # published, else first seen; aware UTC
    updated: datetime  # last change to the item or its curation, for feeds
    summary: str = ""
    topics: tuple[str, ...] = ()  # in the taxonomy's order
    scores: dict[str, float] = field(default_factory=dict)  # the model's
    curated: bool = False  # a curator set the topics: they are certain
    also: tuple[str, ...] = ()  # the story's other sources
    story_id: int | None = None
    pinned: bool = False
    rank: int | None = None  # curator's order, lower first
    image: str = ""  # http(s) only
    lang: str = ""

    def score(self, topic: str) -> float:
        """Confidence in a topic: certain when a curator gave it, else the model's score."""
        if topic not in self.topics:
            return 0.0
        return 1.0 if self.curated else self.scores.get(topic, 1.0)

    def to_json(self) -> dict:
        out = asdict(self)
        out["date"] = self.date.isoformat()
        out["updated"] = self.updated.isoformat()
        return out

    @classmethod
    def from_json(cls, data: dict) -> Entry:
        data = dict(data)
        data["date"] = datetime.fromisoformat(data["date"])
        data["updated"] = datetime.fromisoformat(data["updated"])
        data["topics"] = tuple(data.get("topics", ()))
        data["also"] = tuple(data.get("also", ()))
        return cls(**data)


def plain_text(value: str | None) -> str:
    """Text with any markup removed (script and style bodies dropped) and spaces collapsed."""
    if not value:
        return ""
    value = _NOT_XML.sub("", value)
    stripped = nh3.clean(value, tags=set(), attributes={}) if "<" in value else value
    return _SPACES.sub(" ", _NOT_XML.sub("", html.unescape(stripped))).strip()


def cut(text: str, limit: int = SUMMARY_CHARS) -> str:
    """At most `limit` characters, ending on a sentence when one ends late enough."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    ends = [m.end() for m in _SENTENCE_END.finditer(head + " ")]
    if ends and ends[-1] >= limit // 2:
        return head[: ends[-1]].strip()
    return head.rsplit(" ", 1)[0].rstrip(" ,;:") + "…"


def safe_url(url: str | None) -> str:
    """The URL if it is an absolute http(s) link, else '' (no javascript:, data:, …)."""
    if not url:
        return ""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    if any(ch in url for ch in ' "<>\\`') or any(ord(ch) < 32 for ch in url):
        return ""
    return url
