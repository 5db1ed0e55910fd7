"""Near duplicates → stories: items from different sources that tell the same news.

Rules, conservative on purpose (a missed duplicate costs a curator one click; a false merge
hides news):

* **Candidates** come from MinHash LSH banding — `BANDS` bands of `ROWS` hash values, so a
  new item looks at a few buckets, never at every stored item. With 50 × 3 the chance that a
  pair becomes a candidate is 0.992 at Jaccard 0.45, 0.96 at 0.4 and 0.006 at 0.05.
* **Merge** only when the estimated Jaccard similarity of the 5-word shingles is at least
  `THRESHOLD` (0.45; the estimate's standard error is about 0.03 with 256 permutations). On
  our labelled pairs (tests/fixtures/dedupe_pairs.jsonl, `python -m bench.dedupe`) copies
  with other boilerplate, syndicated copies and briefs grown into longer articles score
  0.51–0.92; two releases from one organisation sharing an "about us" paragraph score
  0.24–0.33; articles on the same topic score under 0.01. Press releases lightly rewritten by
  a local paper score 0.24–0.50 (one in six merges) and full rewrites 0.00–0.10 (none do):
  shingles cannot tell those from different news, and that is the price of never merging
  different news. The demo's two Saint-Aubin épicerie articles are such a rewrite: Jaccard
  0.19 (exact 0.22), containment of the shorter one 0.46, facts agreeing 4 to 0; the pairs
  of different releases from one organisation score containment 0.41–0.46 with 5–17 facts
  agreeing and none conflicting, so no rule on these measures merges the first without the
  second. Curators merge such a pair on the review page ("fusionner avec…").
* **Facts must agree**: among contexts both items share, more than `MAX_CONFLICT_SHARE` of
  them holding different numbers or names (another town, date, amount) vetoes the merge.
  One template filled for two towns scores up to 0.56 and is kept apart by this rule alone.
* **Too little text** (under `MIN_SHINGLES` shingles, about 25 words) never merges: such
  items are not even indexed.
* **One source, one telling**: an item never joins a story that already holds an item of
  its own source. When a source seems to repeat itself (an update, a correction, a follow-up
  under a new URL) that is news worth showing; its exact re-publications are caught earlier
  by `keys.find_exact`.
* **Time window**: items further apart in publication time than the caller's window
  (setting `dedupe_window_days`, 7 by default) are never compared.

The best match is the candidate with the highest similarity (then the earliest); its story
is returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from veille.dedupe.signature import (
    NUM_PERM,
    fact_conflicts,
    hashvalues_matrix,
    parse,
    shingle_count,
)

THRESHOLD = 0.45
BANDS, ROWS = 50, 3
MIN_SHINGLES = 20
MAX_CONFLICT_SHARE = 0.1
_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F))
_BAND_IDS = np.arange(BANDS, dtype=np.uint64) << np.uint64(32)


def band_hashes(values: np.ndarray) -> np.ndarray:
    """(n, BANDS) uint32: a hash of each band's `ROWS` hash values."""
    rows = values[:, : BANDS * ROWS].astype(np.uint64).reshape(len(values), BANDS, ROWS)
    mixed = rows[:, :, 0] * _MIX[0]
    mixed ^= rows[:, :, 1] * _MIX[1]
    mixed += rows[:, :, 2]
    return (mixed >> np.uint64(32)).astype(np.uint32)


def _composite(hashes: np.ndarray) -> np.ndarray:
    """Band number in the high half, band hash below: one sorted array serves every band."""
    return hashes.astype(np.uint64) | _BAND_IDS


def band_keys(sig: bytes) -> list[int]:
    """The LSH band keys under which an item is filed (each under 2**38, so they fit a
    signed 64-bit column), or none when its text is too short to ever match."""
    if shingle_count(sig) < MIN_SHINGLES:
        return []
    return _composite(band_hashes(hashvalues_matrix([sig])))[0].tolist()


@dataclass(frozen=True, slots=True)
class Candidate:
    """A filed item sharing a band key with the one being filed."""

    item_id: int
    story_id: int
    sig: bytes
    published: datetime
    source: str


def best_story(
    sig: bytes,
    published: datetime,
    source: str,
    candidates: list[Candidate],
    story_sources: dict[int, set[str]],
    window: timedelta,
    threshold: float = THRESHOLD,
) -> int | None:
    """The story a new item joins among its band candidates (rules in the module docstring),
    or None. `story_sources`: the sources each candidate's story already holds."""
    query = parse(sig)
    if query.shingles < MIN_SHINGLES:
        return None
    when, span = published.timestamp(), window.total_seconds()
    best: tuple[float, float, int] | None = None
    query_facts: dict[int, set[int]] | None = None
    for c in candidates:
        at = c.published.timestamp()
        if abs(at - when) > span or source in story_sources.get(c.story_id, ()):
            continue
        other = parse(c.sig)
        similarity = float(np.mean(other.hashvalues == query.hashvalues))
        if similarity < threshold:
            continue
        if query_facts is None:
            query_facts = query.fact_map()
        agree, conflict = fact_conflicts(query_facts, other.fact_map())
        if conflict > MAX_CONFLICT_SHARE * (agree + conflict):
            continue
        rank = (similarity, -at, c.story_id)
        if best is None or rank > best:
            best = rank
    return best[2] if best else None


@dataclass(slots=True)  # not frozen: frozen dataclasses are slow to build, and 20k are
class _Entry:
    item_id: int
    story_id: int
    source: str
    published: float  # POSIX seconds
    sig: bytes
    serial: int  # tells a re-added item from its stale band keys


class StoryIndex:
    """Items of the recent window, searchable by near-duplicate signature.

    Band keys live in one sorted array (binary search) plus a dict for the items added since
    the last rebuild, so building from 20k stored signatures is one vectorised sort, and a
    lookup costs a few searches whatever the size.
    """

    def __init__(self, threshold: float = THRESHOLD, num_perm: int = NUM_PERM) -> None:
        if num_perm != NUM_PERM:
            raise ValueError(f"signatures have {NUM_PERM} permutations, not {num_perm}")
        self.threshold = threshold
        self._entries: dict[int, _Entry] = {}
        self._story_sources: dict[int, dict[str, int]] = {}
        self._serial = 0
        # Every band key ever added, with its entry's serial, in batches (rebuild input).
        self._batches: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._sorted_keys = np.empty(0, dtype=np.uint64)
        self._sorted_items = np.empty(0, dtype=np.int64)
        self._recent: dict[int, list[int]] = {}
        self._recent_count = 0

    def __len__(self) -> int:
        return len(self._entries)

    def add(
        self, item_id: int, story_id: int, sig: bytes, published: datetime, source: str
    ) -> None:
        """Index an item (again: a second add replaces the first)."""
        self.add_many([(item_id, story_id, sig, published, source)])

    def add_many(self, rows: list[tuple[int, int, bytes, datetime, str]]) -> None:
        """Index many items at once: what the pipeline does at the start of a run."""
        fresh: list[_Entry] = []
        for item_id, story_id, sig, published, source in rows:
            self._forget(item_id)
            shingles = shingle_count(sig)
            if shingles < MIN_SHINGLES:
                continue  # too little text to ever match: not worth a place in the index
            self._serial += 1
            entry = _Entry(item_id, story_id, source, published.timestamp(), sig, self._serial)
            self._entries[item_id] = entry
            sources = self._story_sources.setdefault(story_id, {})
            sources[source] = sources.get(source, 0) + 1
            fresh.append(entry)
        if not fresh:
            return
        hashes = band_hashes(hashvalues_matrix([e.sig for e in fresh]))
        ids = np.fromiter((e.item_id for e in fresh), np.int64, len(fresh))
        serials = np.fromiter((e.serial for e in fresh), np.int64, len(fresh))
        self._batches.append((serials, ids, hashes))
        if self._recent_count + len(fresh) > max(256, len(self._entries) // 4):
            self._rebuild()
            return
        for item_id, row in zip(ids.tolist(), _composite(hashes).tolist(), strict=True):
            for key in row:
                self._recent.setdefault(key, []).append(item_id)
        self._recent_count += len(fresh)

    def find(self, sig: bytes, published: datetime, source: str, window: timedelta) -> int | None:
        """The story this item belongs to, or None (rules in the module docstring)."""
        query = parse(sig)
        if query.shingles < MIN_SHINGLES:
            return None
        span = window.total_seconds()
        when = published.timestamp()
        candidates, sources = [], {}
        for item_id in self._candidates(query.hashvalues):
            entry = self._entries.get(item_id)
            if entry is None or abs(entry.published - when) > span:
                continue
            at = datetime.fromtimestamp(entry.published, UTC)
            candidates.append(Candidate(item_id, entry.story_id, entry.sig, at, entry.source))
            sources[entry.story_id] = set(self._story_sources[entry.story_id])
        return best_story(sig, published, source, candidates, sources, window, self.threshold)

    def remove_older_than(self, t: datetime) -> int:
        """Forget items published before `t`; returns how many were dropped."""
        cutoff = t.timestamp()
        old = [i for i, e in self._entries.items() if e.published < cutoff]
        for item_id in old:
            self._forget(item_id)
        if old:
            self._rebuild()
        return len(old)

    def _forget(self, item_id: int) -> None:
        # Its band keys stay until the next rebuild; lookups skip ids no longer indexed.
        entry = self._entries.pop(item_id, None)
        if entry is None:
            return
        sources = self._story_sources[entry.story_id]
        sources[entry.source] -= 1
        if sources[entry.source] <= 0:
            del sources[entry.source]
        if not sources:
            del self._story_sources[entry.story_id]

    def _candidates(self, hashvalues: np.ndarray) -> set[int]:
        keys = _composite(band_hashes(hashvalues.reshape(1, -1)))[0]
        found: set[int] = set()
        if len(self._sorted_keys):
            lo = np.searchsorted(self._sorted_keys, keys, side="left")
            hi = np.searchsorted(self._sorted_keys, keys, side="right")
            for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
                if b > a:
                    found.update(self._sorted_items[a:b].tolist())
        for key in keys.tolist():
            found.update(self._recent.get(key, ()))
        return found

    def _rebuild(self) -> None:
        """One sorted array of the band keys of every live entry; stale keys dropped."""
        serials = np.concatenate([b[0] for b in self._batches])
        ids = np.concatenate([b[1] for b in self._batches])
        hashes = np.concatenate([b[2] for b in self._batches])
        live = np.fromiter((e.serial for e in self._entries.values()), np.int64, len(self))
        keep = np.isin(serials, live)
        serials, ids, hashes = serials[keep], ids[keep], hashes[keep]
        self._batches = [(serials, ids, hashes)] if len(ids) else []
        # Sorting each band's 32-bit hashes is several times faster than one 64-bit sort;
        # band-major order then makes the composite keys globally sorted.
        by_band = np.ascontiguousarray(hashes.T)
        order = np.argsort(by_band, axis=1)
        sorted_hashes = np.take_along_axis(by_band, order, axis=1)
        self._sorted_keys = (sorted_hashes.astype(np.uint64) | _BAND_IDS[:, None]).ravel()
        self._sorted_items = ids[order].ravel()
        self._recent, self._recent_count = {}, 0


@dataclass(frozen=True, slots=True)
class StoryMember:
    item_id: int
    published: datetime
    text_length: int
    source_primary: bool = False


COMPLETE_SHARE = 0.8  # "as complete": at least 80% of the longest member's text


def choose_representative(candidates: list[StoryMember]) -> int:
    """The item that stands for a story: a `primary` source's when there is one; among
    those, the earliest of the members whose text is about as complete as the longest."""
    if not candidates:
        raise ValueError("a story needs at least one member")
    pool = [m for m in candidates if m.source_primary] or candidates
    longest = max(m.text_length for m in pool)
    complete = [m for m in pool if m.text_length >= COMPLETE_SHARE * longest]
    return min(complete, key=lambda m: (m.published, m.item_id)).item_id
