"""Near-duplicate stories: precision and recall on our labelled pairs, and index speed.

1. tests/fixtures/dedupe_pairs.jsonl (pairs written for veille, French and English): item
   `a` is indexed, then `b` is looked up as the pipeline does; a pair counts as merged when
   `find` returns a's story. Precision, recall and the result per kind of pair are printed.
2. Scale: signatures of 90-word passages of ../shared/corpora/articles.jsonl (real text),
   the time to build a StoryIndex from 20,000 of them, and the cost of one `find` against
   1,000 and 20,000 indexed items.

    .venv/bin/python -m bench.dedupe
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from veille.dedupe import StoryIndex, signature

ROOT = Path(__file__).resolve().parents[1]
PAIRS = ROOT / "tests" / "fixtures" / "dedupe_pairs.jsonl"
ARTICLES = ROOT.parent / "shared" / "corpora" / "articles.jsonl"
NOW = datetime(2024, 3, 14, 9, tzinfo=UTC)
WINDOW = timedelta(days=7)
PASSAGE = 90  # words: 20,500 passages fit in the corpus


def merged(pair: dict) -> bool:
    a, b = pair["a"], pair["b"]
    index = StoryIndex()
    index.add(1, 100, signature(a["text"], a["title"]), NOW, a["source"])
    found = index.find(
        signature(b["text"], b["title"]), NOW + timedelta(hours=5), b["source"], WINDOW
    )
    return found == 100


def score_pairs() -> None:
    pairs = [json.loads(line) for line in PAIRS.read_text().splitlines() if line.strip()]
    tp = fp = fn = tn = 0
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for pair in pairs:
        got = merged(pair)
        tp += got and pair["same"]
        fp += got and not pair["same"]
        fn += not got and pair["same"]
        tn += not got and not pair["same"]
        by_kind[f"{pair['kind']} ({'same' if pair['same'] else 'different'})"][0] += got
        by_kind[f"{pair['kind']} ({'same' if pair['same'] else 'different'})"][1] += 1
    print(f"{len(pairs)} pairs: {tp + fn} same story, {fp + tn} different")
    print(
        f"precision {tp / max(tp + fp, 1):.3f}  recall {tp / max(tp + fn, 1):.3f}  "
        f"(merged {tp} of {tp + fn} same, {fp} of {fp + tn} different)"
    )
    for kind, (count, total) in sorted(by_kind.items()):
        print(f"  {kind:<32} merged {count:>2} / {total}")


def passages(limit: int) -> list[str]:
    words: list[str] = []
    out: list[str] = []
    with ARTICLES.open(encoding="utf-8") as lines:  # not splitlines(): texts hold U+2028
        records = [json.loads(line) for line in lines]
    for record in records:
        words.extend(record["text"].split())
        while len(words) >= PASSAGE and len(out) < limit:
            out.append(" ".join(words[:PASSAGE]))
            del words[:PASSAGE]
        if len(out) >= limit:
            break
    return out


def scale(n: int = 20_000, queries: int = 500) -> None:
    if not ARTICLES.exists():
        print(f"\n{ARTICLES} is absent: index scale figures skipped")
        return
    texts = passages(n + queries)
    print(f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    start = time.perf_counter()
    sigs = [signature(t) for t in texts]
    per_sig = (time.perf_counter() - start) / len(texts) * 1e3
    print(f"signature(): {per_sig:.2f} ms per {PASSAGE}-word passage ({len(sigs)} passages)")
    stored, probes = sigs[:n], sigs[n:]
    rows = [
        (i, i, s, NOW - timedelta(minutes=i % 10_000), f"s{i % 50}") for i, s in enumerate(stored)
    ]
    for size in (1_000, n):
        index = StoryIndex()
        wall, cpu = time.perf_counter(), time.process_time()
        index.add_many(rows[:size])
        build_wall, build_cpu = time.perf_counter() - wall, time.process_time() - cpu
        wall, cpu = time.perf_counter(), time.process_time()
        hits = sum(index.find(p, NOW, "probe", WINDOW) is not None for p in probes)
        find_wall = (time.perf_counter() - wall) / len(probes) * 1e6
        find_cpu = (time.process_time() - cpu) / len(probes) * 1e6
        print(
            f"index of {size:>6}: built in {build_wall * 1e3:6.0f} ms ({build_cpu * 1e3:.0f} ms "
            f"CPU), find() {find_wall:5.0f} µs ({find_cpu:.0f} µs CPU) per item, "
            f"{hits} of {len(probes)} probes matched"
        )


def main() -> None:
    score_pairs()
    scale()


if __name__ == "__main__":
    main()
