"""Score extraction on ../shared/corpora/extraction-eval the way trafilatura's evaluation does.

For each page of `evaldata.subset.json`, a `with` segment found in the text is a true
positive (missing: false negative) and a `without` segment found is a false positive (absent:
true negative); texts are whitespace-normalised and a crash or None counts as empty.
Printed side by side: raw `trafilatura.extract` with default options, the same with the
options of trafilatura's own evaluation, and `veille.extract.extract_item` (the pipeline's
function, quality checks and fallback included, no feed text available). Then pages per
second, one process and a process pool, and what the quality checks said on these pages
(every page here is an article, so each verdict is a false alarm).

    .venv/bin/python -m bench.extraction [--limit N] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import trafilatura

from veille.extract import extract_item

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "extraction-eval"
_WS = re.compile(r"\s+")


@dataclass
class Score:
    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0

    def add(self, text: str | None, expected: dict) -> None:
        body = _WS.sub(" ", text or "").strip()
        for seg in expected.get("with", []):
            found = _WS.sub(" ", seg).strip() in body
            self.tp += found
            self.fn += not found
        for seg in expected.get("without", []):
            found = _WS.sub(" ", seg).strip() in body
            self.fp += found
            self.tn += not found

    def row(self) -> tuple[float, float, float, float]:
        p = self.tp / max(self.tp + self.fp, 1)
        r = self.tp / max(self.tp + self.fn, 1)
        acc = (self.tp + self.tn) / max(self.tp + self.tn + self.fp + self.fn, 1)
        f1 = 2 * self.tp / max(2 * self.tp + self.fp + self.fn, 1)
        return p, r, acc, f1


def load_pages(corpus: Path, limit: int | None) -> list[tuple[str, bytes, dict]]:
    entries = json.loads((corpus / "evaldata.subset.json").read_text())
    pages = []
    for url, expected in sorted(entries.items()):
        path = corpus / expected.get("dir", "cache") / expected["file"]
        if not path.exists():
            path = corpus / "eval" / expected["file"]
        pages.append((url, path.read_bytes(), expected))
    return pages[:limit] if limit else pages


def raw_default(data: bytes, url: str) -> str | None:
    return trafilatura.extract(data)


def raw_upstream(data: bytes, url: str) -> str | None:
    return trafilatura.extract(
        data, include_comments=False, include_tables=True, include_formatting=False
    )


def pipeline(data: bytes, url: str) -> str:
    return extract_item(data, url=url).text


def _run(fn: Callable[[bytes, str], str | None], data: bytes, url: str) -> str | None:
    try:
        return fn(data, url)
    except Exception:
        return None


def _verdict(args: tuple[bytes, str]) -> tuple[str, str, str]:
    data, url = args
    ext = extract_item(data, url=url)
    return ext.kind, ext.reason, ext.text


def _page_score(text: str | None, expected: dict) -> Score:
    score = Score()
    score.add(text, expected)
    return score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    if not args.corpus.exists():
        raise SystemExit(f"{args.corpus} is absent: the benchmark needs the shared corpora")
    pages = load_pages(args.corpus, args.limit)
    megabytes = sum(len(d) for _, d, _ in pages) / 1e6
    load = os.getloadavg()[0]
    print(
        f"{len(pages)} pages, {megabytes:.1f} MB, trafilatura {trafilatura.__version__}, "
        f"{os.cpu_count()} cores, load {load:.1f}\n"
    )

    # pages/s: wall clock, and CPU time of this process (steadier on a shared machine)
    print(f"{'extractor':<38} {'P':>6} {'R':>6} {'acc':>6} {'F1':>6} {'pages/s':>8} {'cpu':>6}")
    per_page: dict[str, list[Score]] = {}
    for name, fn in (
        ("trafilatura.extract (defaults)", raw_default),
        ("trafilatura.extract (upstream eval)", raw_upstream),
        ("veille extract_item", pipeline),
    ):
        total, scores = Score(), []
        wall, cpu = time.perf_counter(), time.process_time()
        for url, data, expected in pages:
            scores.append(_page_score(_run(fn, data, url), expected))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        for page_score in scores:
            for field in ("tp", "fn", "fp", "tn"):
                setattr(total, field, getattr(total, field) + getattr(page_score, field))
        per_page[name] = scores
        p, r, acc, f1 = total.row()
        print(
            f"{name:<38} {p:6.3f} {r:6.3f} {acc:6.3f} {f1:6.4f} "
            f"{len(pages) / wall:8.1f} {len(pages) / cpu:6.1f}"
        )

    start = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(_verdict, [(d, u) for u, d, _ in pages], chunksize=4))
    rate = len(pages) / (time.perf_counter() - start)
    print(f"{'extract_item, pool of ' + str(args.workers):<38} {'':>27} {rate:8.1f}")

    reasons = Counter(reason for _, reason, _ in results)
    print("\nVerdicts on these article pages (anything but 'ok' is a false alarm here):")
    for reason, count in reasons.most_common():
        print(f"  {count:4d}  {reason}")

    # Where extract_item differs from raw trafilatura (defaults), page by page, and why.
    causes: dict[str, list[int]] = {}
    raw, upstream = (
        per_page["trafilatura.extract (defaults)"],
        per_page["trafilatura.extract (upstream eval)"],
    )
    ours = per_page["veille extract_item"]
    for i, (_, reason, _) in enumerate(results):
        d_tp, d_fp = ours[i].tp - raw[i].tp, ours[i].fp - raw[i].fp
        if not d_tp and not d_fp:
            continue
        if reason != "ok":
            cause = f"quality verdict {reason!r}"
        elif (ours[i].tp, ours[i].fp) == (upstream[i].tp, upstream[i].fp):
            cause = "readers' comments left out (raw defaults keep them)"
        else:
            cause = "other extraction differences (parsed tree, metadata pass)"
        row = causes.setdefault(cause, [0, 0, 0])
        row[0], row[1], row[2] = row[0] + 1, row[1] + d_tp, row[2] + d_fp
    print("\nextract_item against raw defaults (+TP is a gain, +FP a loss):")
    for cause, (count, d_tp, d_fp) in sorted(causes.items()):
        print(f"  {count:3d} pages  TP {d_tp:+d}  FP {d_fp:+d}  {cause}")


if __name__ == "__main__":
    main()
