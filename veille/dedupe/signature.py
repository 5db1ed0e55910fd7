"""An item's near-duplicate signature: a MinHash of its word shingles plus a few "facts".

Shingles are runs of `SHINGLE_WORDS` consecutive words of the title and of the text (not
across the two), after NFKC and case folding. Five-word shingles are the classic choice for
near-duplicate web pages (Broder): short enough to survive light edits, long enough that two
articles about the same topic share almost none (under 0.01 on our pairs), while a copy with
other boilerplate keeps 0.54–0.90. The MinHash (datasketch, `NUM_PERM` 32-bit values)
estimates their Jaccard similarity with a standard error of about 0.03 near 0.5 (with 128
values it was 0.045, enough to push real copies under the threshold).

Facts guard against the worst false merge: one template filled for two towns ("La fête du
vélo revient à Angers le 25 mai…" / "…à Tours le 2 juin…") shares most shingles. A fact is a
number or a capitalised word not starting a sentence, keyed by the words around it; when two
texts put *different* facts in the *same* context, they tell different news. Facts are a
consistent sample (the `MAX_FACTS` smallest context hashes), so two copies keep the same ones.

The signature is bytes, stored in `Item.minhash`: a 9-byte header (version, number of
permutations, shingle count, fact count), the hash values, then the facts.
"""

from __future__ import annotations

import re
import struct
import unicodedata
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from datasketch import MinHash

VERSION = 1
NUM_PERM = 256
SHINGLE_WORDS = 5
MAX_FACTS = 64
_HEADER = struct.Struct("<BHIH")
_WORD = re.compile(r"\w+")
# A token with its letters and inner apostrophes/dots/commas/hyphens ("Ker-Uhel", "1,5").
_TOKEN = re.compile(r"\w+(?:['’.,-]\w+)*")
_SENTENCE_END = frozenset('.!?:…«»"“”\n')


@dataclass(frozen=True, slots=True)
class Signature:
    hashvalues: np.ndarray  # uint32[num_perm]
    shingles: int
    facts: np.ndarray  # uint32[n, 2]: (context hash, value hash), sorted by context

    def fact_map(self) -> dict[int, set[int]]:
        out: dict[int, set[int]] = {}
        for ctx, val in self.facts.tolist():
            out.setdefault(ctx, set()).add(val)
        return out


@lru_cache(maxsize=1)
def _template() -> MinHash:
    # Imported here: datasketch brings scipy.integrate and scipy.stats (70 MB, 1-2 s), which
    # only the extraction workers need; the process that files stories reads signatures
    # with numpy alone.
    from datasketch import MinHash

    # Scheme named so a future default cannot silently change stored signatures.
    return MinHash(num_perm=NUM_PERM, seed=1, scheme="affine32")  # permutations made once


def _words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def _shingles(words: list[str]) -> set[str]:
    if not words:
        return set()
    if len(words) <= SHINGLE_WORDS:
        return {" ".join(words)}
    return {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}


def _hash(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def _facts(text: str) -> set[tuple[int, int]]:
    text = unicodedata.normalize("NFKC", text)
    matches = list(_TOKEN.finditer(text))
    words = [m.group().casefold() for m in matches]
    found: set[tuple[int, int]] = set()
    for i, m in enumerate(matches):
        token = m.group()
        if not token[0].isdigit():
            if not token[0].isupper():
                continue
            # A capital opens a sentence when the last non-space character before it ends
            # one (or there is none); only the gap since the previous token can hold it.
            gap = text[matches[i - 1].end() if i else 0 : m.start()].rstrip()
            if (gap and gap[-1] in _SENTENCE_END) or (not gap and not i):
                continue
        context = " ".join(words[j] if 0 <= j < len(words) else "" for j in (i - 2, i - 1, i + 1))
        found.add((_hash(context), _hash(words[i])))
    return found


def signature(text: str, title: str = "") -> bytes:
    """The compact near-duplicate signature of an item (see the module docstring)."""
    shingles = _shingles(_words(title)) | _shingles(_words(text))
    minhash = _template().copy()
    if shingles:
        minhash.update_batch([s.encode("utf-8") for s in shingles])
    facts = sorted(_facts(title) | _facts(text))[:MAX_FACTS]
    return pack(minhash.hashvalues, len(shingles), facts)


def pack(hashvalues: np.ndarray, shingles: int, facts: list[tuple[int, int]]) -> bytes:
    """The bytes of a signature: header, hash values, facts."""
    values = np.asarray(hashvalues, dtype=np.uint32)
    pairs = np.asarray(facts, dtype=np.uint32).reshape(-1, 2)
    header = _HEADER.pack(VERSION, len(values), shingles, len(pairs))
    return header + values.tobytes() + pairs.tobytes()


def shingle_count(sig: bytes) -> int:
    """The number of shingles behind a signature; ValueError when it is not one of ours."""
    if len(sig) < _HEADER.size:
        raise ValueError("signature too short")
    version, num_perm, shingles, nfacts = _HEADER.unpack_from(sig)
    if (
        version != VERSION
        or num_perm != NUM_PERM
        or len(sig) != _HEADER.size + 4 * num_perm + 8 * nfacts
    ):
        raise ValueError(f"not a version {VERSION} signature of {NUM_PERM} permutations")
    return shingles


def hashvalues_matrix(sigs: list[bytes]) -> np.ndarray:
    """The hash values of many signatures as one (n, NUM_PERM) array, in one copy."""
    end = _HEADER.size + 4 * NUM_PERM
    joined = b"".join(sig[_HEADER.size : end] for sig in sigs)
    return np.frombuffer(joined, dtype=np.uint32).reshape(len(sigs), NUM_PERM)


def parse(sig: bytes) -> Signature:
    """Read a signature written by `signature`; ValueError when it is not one."""
    shingles = shingle_count(sig)
    num_perm, nfacts = NUM_PERM, _HEADER.unpack_from(sig)[3]
    values = np.frombuffer(sig, dtype=np.uint32, count=num_perm, offset=_HEADER.size)
    facts = np.frombuffer(
        sig, dtype=np.uint32, count=2 * nfacts, offset=_HEADER.size + 4 * num_perm
    ).reshape(-1, 2)
    return Signature(values, shingles, facts)


def fact_conflicts(a: dict[int, set[int]], b: dict[int, set[int]]) -> tuple[int, int]:
    """(agreements, conflicts): shared contexts whose facts meet, and those whose facts differ."""
    agree = conflict = 0
    for ctx in a.keys() & b.keys():
        if a[ctx] & b[ctx]:
            agree += 1
        else:
            conflict += 1
    return agree, conflict
