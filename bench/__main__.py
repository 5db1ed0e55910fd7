"""`python -m bench --size small|full`: measure veille on a synthetic web, print one table.

Sections (each can be skipped with --skip): pull (cold and warm), ceiling, naive, peers,
growth, classify, digest. The table is printed and written as JSON (default
bench/results/latest.json) and Markdown (next to it, .md) for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from bench import delivery, growth, pulls
from bench.corpus import ROOT, SHARED, Corpus, CorpusMissing
from bench.report import Row, machine, markdown_table, text_table, write_json
from bench.synthweb import SynthWeb, WebSpec

SECTIONS = ("pull", "ceiling", "naive", "peers", "growth", "classify", "digest")


@dataclass(frozen=True)
class Size:
    sources: int
    items: int
    naive_sources: int  # the naive baseline is sequential: a sample gives its rate
    ceiling_pages: int  # likewise for the ceiling: a random sample of the served bodies
    growth: tuple[int, ...]
    classify: int
    subscribers: int
    timeout: float  # seconds a pull may take
    short_timeout: float  # seconds classify or digest may take


SIZES = {
    "small": Size(50, 10, 5, 500, (200, 500, 1000), 1000, 1000, 300, 120),
    "full": Size(300, 20, 15, 2000, (1000, 5000, 20000), 10000, 10000, 600, 300),
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--size", choices=sorted(SIZES), default="full")
    p.add_argument("--sources", type=int, help="override the size's number of feeds")
    p.add_argument("--items", type=int, help="override the size's items per feed")
    p.add_argument("--latency-ms", type=float, default=80.0, help="wait before each response")
    p.add_argument(
        "--fail-share",
        type=float,
        default=0.02,
        help="share of resources failing once (timeout, 500, 429)",
    )
    p.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    p.add_argument("--skip", default="", help=f"comma-separated sections: {','.join(SECTIONS)}")
    p.add_argument(
        "--profile",
        action="store_true",
        help="run the cold pull under pyinstrument (profile next to the JSON)",
    )
    args = p.parse_args(argv)
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if unknown := args.skip - set(SECTIONS):
        p.error(f"--skip: unknown section(s) {', '.join(sorted(unknown))}; use {SECTIONS}")
    if not 0 <= args.fail_share < 1:
        p.error("--fail-share must be between 0 and 1")
    return args


def _say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def run_sections(args: argparse.Namespace, size: Size, home: Path) -> list[Row]:
    todo = [s for s in SECTIONS if s not in args.skip]
    rows: list[Row] = []
    pulled, cold_ips = None, pulls.Cold(None, "the pull section was skipped")
    spec = WebSpec(size.sources, size.items, args.latency_ms, args.fail_share)
    profile = args.json.with_suffix(".profile.txt") if args.profile else None
    with SynthWeb(spec) as web:
        if "pull" in todo:
            _say(f"cold and warm pull of {size.sources} feeds × {size.items} items")
            got, pulled, cold_ips = pulls.cold_and_warm(web, home, size.timeout, profile)
            rows += got
        if "ceiling" in todo:
            _say("extraction ceiling")
            count = size.sources * size.items
            rows += pulls.ceiling_rows(Corpus(SHARED), count, size.ceiling_pages, cold_ips)
        if "naive" in todo:
            _say(f"naive baseline over {size.naive_sources} feeds")
            rows += pulls.naive_rows(web, home, size.naive_sources, cold_ips, size.timeout)
        if "peers" in todo:
            _say("peers: newsboat and rss2email")
            rows += pulls.peer_rows(web, home, size.timeout)
        cpu = web.stats()["cpu_s"]
        rows.append(
            Row(
                "synthetic web",
                "server CPU",
                cpu,
                "s",
                note=f"{min(size.sources, spec.hosts)} addresses 127.0.x.y, one port; "
                f"{args.latency_ms:g} ms latency, {args.fail_share:.0%} failing once",
            )
        )
    if "growth" in todo:
        _say(f"growth at {', '.join(map(str, size.growth))} items")
        rows += growth.growth_rows(size.growth, home, args.latency_ms, size.timeout)
    target = delivery.home_for(home, pulled)
    if "classify" in todo:
        _say(f"classification of {size.classify} items")
        rows += delivery.classify_rows(target, size.classify, size.short_timeout)
    if "digest" in todo:
        _say(f"digest to {size.subscribers} subscribers")
        rows += delivery.digest_rows(target, size.subscribers, size.short_timeout)
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    size = SIZES[args.size]
    size = replace(size, sources=args.sources or size.sources, items=args.items or size.items)
    if not (SHARED / "corpora" / "articles.jsonl").exists():
        _say(f"{SHARED / 'corpora'} is absent: the synthetic web is built from it")
        return 2
    command = "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    started, load_before = time.time(), os.getloadavg()[0]
    try:
        with tempfile.TemporaryDirectory(prefix="veille-bench-") as tmp:
            rows = run_sections(args, size, Path(tmp))
    except CorpusMissing as exc:
        _say(str(exc))
        return 2
    meta = {
        "command": command.strip(),
        "size": args.size,
        "latency_ms": args.latency_ms,
        "fail_share": args.fail_share,
        "machine": machine(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
        "duration_s": round(time.time() - started, 1),
        # The machine may be shared: the load says how much the absolute times are worth.
        "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
    }
    print(text_table(rows))
    print(
        f"\n{meta['command']}: {meta['duration_s']} s on {meta['machine']}, "
        f"load average {meta['load_average'][0]} at start, {meta['load_average'][1]} at end"
    )
    write_json(args.json, rows, meta)
    args.json.with_suffix(".md").write_text(markdown_table(rows) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
