"""Dedupe stage: exact duplicates by key, near duplicates grouped into stories.

Pure functions and an in-memory index over plain values; the pipeline loads and stores.
"""

from veille.dedupe.keys import ExactMatch, KnownItem, canonical_text_hash, find_exact
from veille.dedupe.signature import signature
from veille.dedupe.stories import StoryIndex, StoryMember, choose_representative

__all__ = [
    "ExactMatch",
    "KnownItem",
    "StoryIndex",
    "StoryMember",
    "canonical_text_hash",
    "choose_representative",
    "find_exact",
    "signature",
]
