"""Growth: a cold pull into a fresh store at several sizes; per-item time should stay flat.

Sizes are 1k, 5k and 20k items (20 per feed). The bodies here are light pages (a small article
template around real article texts) rather than the heavy real pages of the main run: 26,000
extractions of the real pages would take some 11 minutes on 2 cores alone, and what growth
asks is whether the cost *per item* climbs with the store (queries, dedupe index, memory),
which light pages show more sharply, since extraction is a smaller share of the time.
"""

from __future__ import annotations

from pathlib import Path

from bench.ours import Veille
from bench.report import Row, check, na
from bench.synthweb import SynthWeb, WebSpec

ITEMS_PER_FEED = 20


def growth_rows(
    sizes: tuple[int, ...], home: Path, latency_ms: float, fail_share: float, timeout: float
) -> list[Row]:
    spec = WebSpec(
        sources=max(sizes) // ITEMS_PER_FEED,
        items=ITEMS_PER_FEED,
        latency_ms=latency_ms,
        fail_share=fail_share,
        light=True,
    )
    rows: list[Row] = []
    per_item: list[float] = []
    with SynthWeb(spec) as web:
        for size in sizes:
            v = Veille(home / f"growth-{size}", web.feed_urls(size // ITEMS_PER_FEED))
            missing = v.missing("pull")
            if missing:
                return [na("growth", f"{size} items", missing)]
            web.reset()
            run = v.run("pull", timeout=timeout)
            items = v.items()
            if not run.ok or not items:
                rows.append(na("growth", f"{size} items", run.why() if not run.ok else "no item"))
                continue
            ms = run.wall_s / items * 1000
            per_item.append(ms)
            rows.append(
                Row(
                    "growth",
                    f"{size} items: per item",
                    ms,
                    "ms",
                    note=f"{items} stored in {run.wall_s:.1f} s; CPU {run.cpu_s:.1f} s; "
                    f"peak {run.tree_mb:.0f} MB; store {v.store_bytes() / items:.0f} B/item",
                )
            )
            if size == max(sizes):
                rows.append(
                    check(
                        "growth",
                        f"peak RSS at {size}",
                        run.tree_mb,
                        "MB",
                        "≤ 400 MB",
                        run.tree_mb <= 400,
                        "process tree PSS",
                    )
                )
                rows.append(
                    Row(
                        "growth",
                        f"store size at {size}",
                        v.store_bytes() / items,
                        "B/item",
                        note=f"{v.store_bytes() / 1e6:.1f} MB in all",
                    )
                )
    if len(per_item) == len(sizes):
        mean = sum(per_item) / len(per_item)
        spread = max(abs(ms - mean) / mean for ms in per_item)
        rows.append(
            check(
                "growth",
                "per-item time spread",
                spread * 100,
                "%",
                "≤ ±20%",
                spread <= 0.2,
                "largest deviation from the mean of the sizes",
            )
        )
    return rows
