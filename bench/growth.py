"""Growth: one store grown by pulls to 1k, 5k and 20k items; per-item time should stay flat.

What growth asks is whether the cost *per item* climbs as the store grows (queries, the
dedupe index of the window's items, memory), so:
- each pull adds new feeds to the same store (20 items each) and is timed on its new items
  alone: the 5k point is the 4,000 items that take the store from 1k to 5k, the 20k point the
  15,000 that take it from 5k to 20k, each against everything stored before (the sources
  already pulled are not due again); 20,000 items in all rather than 26,000 for three fresh
  stores, and the later items meet the fuller store;
- light pages (a small article template around real article texts) rather than the heavy real
  pages of the main run: extraction of those would take most of the run on 2 cores, and light
  pages show a climb more sharply, extraction being a smaller share;
- no failures: a request hanging until the timeout costs the same at any size;
- the fixed cost of a pull (start-up, migrations, loading the model, starting the workers:
  a pull of one feed into a fresh store, measured in the same run) is taken off, with that
  feed's items, before dividing by the items.
"""

from __future__ import annotations

from pathlib import Path

from bench.ours import Veille
from bench.report import Row, check, na
from bench.synthweb import SynthWeb, WebSpec

ITEMS_PER_FEED = 20
SECTION = "growth"


def growth_rows(sizes: tuple[int, ...], home: Path, latency_ms: float, timeout: float) -> list[Row]:
    spec = WebSpec(
        sources=max(sizes) // ITEMS_PER_FEED,
        items=ITEMS_PER_FEED,
        latency_ms=latency_ms,
        fail_share=0.0,
        light=True,
    )
    rows: list[Row] = []
    per_item: list[float] = []
    with SynthWeb(spec) as web:
        # The fixed cost: a pull of one feed into a fresh store pays start-up, migrations,
        # the model's loading and the workers' start, as every size does, for 20 items.
        one = Veille(home / "growth-one", web.feed_urls(1))
        missing = one.missing("pull")
        if missing:
            return [na(SECTION, "per-item time", missing)]
        web.reset()
        fixed = one.run("pull", timeout=timeout)
        if not fixed.ok or not one.done():
            return [na(SECTION, "per-item time", f"a pull of one feed: {fixed.why()}")]
        rows.append(
            Row(
                SECTION,
                "fixed cost of a pull",
                fixed.wall_s,
                "s",
                note=f"one feed of {one.done()} items, fresh store: start-up, migrations, "
                "model, workers",
            )
        )
        base, before, home_dir = one.done(), 0, home / "growth"
        for size in sizes:
            # The same data folder each time, with more feeds: only the new ones are due.
            v = Veille(home_dir, web.feed_urls(size // ITEMS_PER_FEED))
            web.reset()
            run = v.run("pull", timeout=timeout)
            # A run killed at its timeout still gives a rate: the items it finished.
            items = (v.done() if run.timed_out else v.items()) - before
            if items <= 0 or not (run.ok or run.timed_out):
                rows.append(na(SECTION, f"{size} items", run.why() if not run.ok else "no item"))
                break  # the next size would not start from this one
            # What the items beyond the one feed's cost, per item: the fixed part cancels.
            ms = max(run.wall_s - fixed.wall_s, 0.0) / max(items - base, 1) * 1000
            per_item.append(ms)
            rows.append(
                Row(
                    SECTION,
                    f"{size} items: per item",
                    ms,
                    "ms",
                    note=("partial: " if run.timed_out else "")
                    + f"{items} new items on {before} stored in {run.wall_s:.1f} s "
                    f"({run.wall_s / items * 1000:.2f} ms/item before the fixed cost); "
                    f"CPU {run.cpu_s:.1f} s; peak {run.tree_mb:.0f} MB",
                )
            )
            before += items
            if size == max(sizes):
                stored = v.store_bytes()
                rows.append(
                    check(
                        SECTION,
                        f"peak RSS at {size}",
                        run.tree_mb,
                        "MB",
                        "≤ 400 MB",
                        run.tree_mb <= 400,
                        f"process tree PSS of the pull that took the store to {before} items",
                    )
                )
                rows.append(
                    Row(
                        SECTION,
                        f"store size at {size}",
                        stored / v.items(),
                        "B/item",
                        note=f"{stored / 1e6:.1f} MB of SQLite in all",
                    )
                )
    if per_item and len(per_item) == len(sizes):
        mean = sum(per_item) / len(per_item)
        spread = max(abs(ms - mean) / mean for ms in per_item) if mean else 0.0
        rows.append(
            check(
                SECTION,
                "per-item time spread",
                spread * 100,
                "%",
                "≤ ±20%",
                spread <= 0.2,
                "largest deviation from the mean of the sizes",
            )
        )
    return rows
