"""Exact duplicates: the same item seen again, by its GUID, canonical URL or text.

The rules, in the order they are tried:

1. Same source and same GUID: it *is* the stored item (a re-pull). The caller updates it if
   the feed changed it, and never re-extracts an unchanged page.
2. Same source and same canonical URL under a new GUID: a feed that re-published the item
   (a CMS migration, an edited post): update the stored item, never add a second one.
3. Another source, same canonical URL: the same article relayed by another feed; not stored
   twice.
4. Same normalised text hash, any source: the same text under another address (a mirror, a
   tracking URL); not stored twice. The hash ignores case, spacing, punctuation and Unicode
   compatibility forms (NFKC) but keeps accents: "côte" and "cote" are different words.
   Texts under `MIN_HASH_CHARS` normalised characters get no hash — a one-line teaser or an
   empty text would otherwise make unrelated items "identical".

Lookups themselves are the database's job (indexed columns); `find_exact` decides among the
rows it returned, so the rules live in one pure function.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

MIN_HASH_CHARS = 200
_NOT_WORD = re.compile(r"[\W_]+")

MatchOn = Literal["guid", "canonical_url", "content_hash"]


def normalise(text: str) -> str:
    """NFKC, case-folded, words separated by single spaces, punctuation and symbols gone."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _NOT_WORD.sub(" ", folded).strip()


def canonical_text_hash(text: str) -> str:
    """SHA-256 of the normalised text, or "" when the text is too short to identify an item."""
    norm = normalise(text)
    if len(norm) < MIN_HASH_CHARS:
        return ""
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class KnownItem:
    """A stored item, as far as exact matching needs it."""

    item_id: int
    source: str
    guid: str
    canonical_url: str
    content_hash: str | None = None


@dataclass(frozen=True, slots=True)
class ExactMatch:
    item_id: int
    on: MatchOn
    same_source: bool

    @property
    def update(self) -> bool:
        """True: refresh the stored item; False: the new one is a copy, drop it."""
        return self.same_source and self.on in ("guid", "canonical_url")


def find_exact(
    *,
    source: str,
    guid: str,
    canonical_url: str,
    content_hash: str | None,
    known: Iterable[KnownItem],
) -> ExactMatch | None:
    """The stored item this one duplicates exactly, by the rules of the module docstring."""
    best: tuple[int, ExactMatch] | None = None
    for item in known:
        same = item.source == source
        if same and item.guid == guid:
            rank, on = 0, "guid"
        elif same and canonical_url and item.canonical_url == canonical_url:
            rank, on = 1, "canonical_url"
        elif canonical_url and item.canonical_url == canonical_url:
            rank, on = 2, "canonical_url"
        elif content_hash and item.content_hash == content_hash:
            rank, on = 3, "content_hash"
        else:
            continue
        if best is None or (rank, item.item_id) < (best[0], best[1].item_id):
            best = (rank, ExactMatch(item.item_id, on, same))  # type: ignore[arg-type]
    return best[1] if best else None
