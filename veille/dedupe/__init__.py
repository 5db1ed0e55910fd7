"""Dedupe stage: exact duplicates by key, near duplicates grouped into stories.

Pure functions and an in-memory index over plain values; the pipeline loads and stores
(the store keeps the band keys of `band_keys`, the pipeline decides with `best_story`).
"""

from veille.dedupe.keys import ExactMatch, KnownItem, canonical_text_hash, find_exact
from veille.dedupe.signature import signature
from veille.dedupe.stories import (
    Candidate,
    StoryIndex,
    StoryMember,
    band_keys,
    best_story,
    choose_representative,
)

__all__ = [
    "Candidate",
    "band_keys",
    "best_story",
    "ExactMatch",
    "KnownItem",
    "StoryIndex",
    "StoryMember",
    "canonical_text_hash",
    "choose_representative",
    "find_exact",
    "signature",
]
