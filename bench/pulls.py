"""The rows measured on the main synthetic web: cold and warm pull, ceiling, naive, peers.

Each function resets the web's transient failures before its tool runs (the warm pull follows
the cold one without a reset: a transient failure is spent once) and returns table rows.
Ratios against the cold pull need its items/s (`Cold`); when there is none, its note says
why, and the dependent rows show it. A cold pull killed at its timeout still gives a rate
(items stored by then over the time allowed), marked partial.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from bench import ceiling, peers
from bench.corpus import ROOT, Corpus
from bench.measure import Run, run_measured
from bench.ours import Veille
from bench.report import Row, check, na
from bench.synthweb import SynthWeb


@dataclass(frozen=True)
class Cold:
    ips: float | None  # the cold pull's items/s
    note: str = ""  # why there is none, or what to know about it


FEEDS_ONLY = "peers (feeds only)"


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    keys = sorted(set(after) | set(before))
    return {k: after.get(k, 0) - before.get(k, 0) for k in keys if after.get(k) != before.get(k)}


def _breakdown(counts: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in counts.items() if k != "article refetch") or "none"


def _articles_requested(counts: dict[str, int]) -> int:
    return sum(v for k, v in counts.items() if k.startswith("article") and k != "article refetch")


def _resources(run: Run) -> str:
    return f"CPU {run.cpu_s:.1f} s, peak {run.tree_mb:.0f} MB"


def cold_and_warm(
    web: SynthWeb, home: Path, timeout: float, profile: Path | None = None
) -> tuple[list[Row], Veille, Cold]:
    """Rows, the veille installation (its store feeds the digest), and the cold items/s."""
    v = Veille(home / "pull", web.feed_urls())
    missing = v.missing("pull")
    if missing:
        return [na("cold pull", "wall time", missing)], v, Cold(None, missing)
    web.reset()
    if profile is not None:
        profile.parent.mkdir(parents=True, exist_ok=True)
    cold = v.run("pull", timeout=timeout, profile=profile)
    counts = web.stats()["counts"]
    items, extracted, cores = v.items(), v.extracted(), os.cpu_count() or 1
    if not cold.ok and not (cold.timed_out and items):
        return [na("cold pull", "wall time", cold.why())], v, Cold(None, f"cold pull {cold.why()}")
    announced = f"{web.spec.sources * web.spec.items} items announced"
    ips = items / cold.wall_s
    if cold.timed_out:  # items are stored first, then extracted: count the finished ones
        ips = v.done() / cold.wall_s
        announced = f"{cold.why()} with {v.done()} of the {announced} done: partial"
    rows = [
        Row(
            "cold pull",
            "wall time",
            cold.wall_s,
            "s",
            note=announced + (f"; under pyinstrument ({profile.name})" if profile else ""),
        ),
        Row("cold pull", "items stored", items, note=f"{extracted} with article text"),
        Row("cold pull", "items/s", ips, "/s"),
        Row(
            "cold pull",
            "CPU",
            cold.cpu_s,
            "s",
            note=f"{cold.cpu_s / cold.wall_s / cores:.0%} of {cores} cores over the wall time",
        ),
        Row(
            "cold pull",
            "peak RSS",
            cold.tree_mb,
            "MB",
            note=f"process tree PSS; largest process {cold.maxrss_mb:.0f} MB",
        ),
        Row(
            "cold pull",
            "requests",
            sum(counts.values()) - counts.get("article refetch", 0),
            note=_breakdown(counts),
        ),
    ]
    if not _articles_requested(counts):
        return rows, v, Cold(None, "`veille pull` fetched no article page: it does not extract")
    if cold.timed_out:
        why = "the cold pull did not finish: no warm pull on a partial store"
        rows.append(na("warm pull", "wall time / cold", why, "≤ 3%"))
        return rows, v, Cold(ips, "from a cold pull killed at its timeout (partial)")
    return rows + _warm(web, v, cold, timeout), v, Cold(ips)


def _warm(web: SynthWeb, v: Veille, cold: Run, timeout: float) -> list[Row]:
    mark = v.last_extraction()
    args = ["pull", "--force"] if "--force" in v.help_text("pull") else ["pull"]
    before = web.stats()["counts"]
    warm = v.run(*args, timeout=timeout)
    counts = _delta(web.stats()["counts"], before)
    if not warm.ok:
        return [na("warm pull", "wall time / cold", warm.why(), "≤ 3%")]
    share = warm.wall_s / cold.wall_s
    re_extracted = v.extracted_since(mark)
    refetched = counts.pop("article refetch", 0)
    return [
        check(
            "warm pull",
            "wall time / cold",
            share * 100,
            "%",
            "≤ 3%",
            share <= 0.03,
            f"{warm.wall_s:.2f} s with `veille {' '.join(args)}`; {_resources(warm)}",
        ),
        Row("warm pull", "requests", sum(counts.values()), note=_breakdown(counts)),
        check(
            "warm pull",
            "pages re-extracted",
            re_extracted,
            "",
            "0",
            re_extracted == 0,
            f"{refetched} article bodies downloaded again",
        ),
    ]


def ceiling_rows(corpus: Corpus, count: int, pages: int, cold: Cold) -> list[Row]:
    """The ceiling over `pages` of the `count` bodies the web serves (a random sample)."""
    ceil = ceiling.measure(corpus, ceiling.sample(count, pages))
    share = cold.ips / ceil.items_per_s if cold.ips is not None else None
    return [
        Row(
            "ceiling",
            "trafilatura alone",
            ceil.items_per_s,
            "items/s",
            note=f"{ceil.pages} of the {count} pages, {ceil.workers} processes, "
            f"{ceil.wall_s:.1f} s, {ceil.texts} gave text",
        ),
        check(
            "ceiling",
            "cold pull / ceiling",
            share,
            "",
            "≥ 0.8",
            share is not None and share >= 0.8,
            cold.note,
        ),
    ]


def naive_rows(web: SynthWeb, home: Path, sources: int, cold: Cold, timeout: float) -> list[Row]:
    web.reset()
    out = home / "naive.jsonl"
    cmd = [sys.executable, "-m", "bench.naive", str(out), *web.feed_urls(sources)]
    run = run_measured(cmd, cwd=ROOT, timeout=timeout)
    if not run.ok:
        return [na("naive", "items/s", f"naive script {run.why()}")]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    ips = result["items"] / run.wall_s
    speedup = cold.ips / ips if cold.ips is not None and ips else None
    return [
        Row(
            "naive",
            "items/s",
            ips,
            "/s",
            note=f"sequential over the first {sources} sources: {result['items']} items in "
            f"{run.wall_s:.1f} s, {result['failures']} failures skipped; {_resources(run)}",
        ),
        check(
            "naive",
            "speed-up of the cold pull",
            speedup,
            "×",
            "≥ 5×",
            speedup is not None and speedup >= 5,
            cold.note,
        ),
    ]


def _ours_feeds_only(web: SynthWeb, home: Path, timeout: float) -> tuple[Run, int] | str:
    """`veille pull --ingest-only` (no article page) in a fresh data folder."""
    v = Veille(home / "feeds-ingest-only", web.feed_urls(), VEILLE_FETCH_ARTICLES="false")
    missing = v.missing("pull", "--ingest-only")
    if missing:
        return missing
    web.reset()
    run = v.run("pull", "--ingest-only", timeout=timeout)
    if not run.ok:
        return run.why()
    if _articles_requested(web.stats()["counts"]):
        return "`veille pull` fetched article pages despite VEILLE_FETCH_ARTICLES=false"
    return run, v.items()


def peer_rows(web: SynthWeb, home: Path, timeout: float) -> list[Row]:
    """The peers' job is the feed stage: fetch, parse, store. veille's is `pull
    --ingest-only`."""
    rows = []
    got_ours = _ours_feeds_only(web, home, timeout)
    ours = None if isinstance(got_ours, str) else got_ours[0]
    if ours is None:
        rows.append(na(FEEDS_ONLY, "veille pull --ingest-only", str(got_ours)))
    else:
        note = f"fetch, parse, store; {got_ours[1]} items; {_resources(ours)}"
        rows.append(Row(FEEDS_ONLY, "veille pull --ingest-only", ours.wall_s, "s", note=note))
    for name, runner in (("newsboat", peers.newsboat), ("rss2email", peers.rss2email)):
        web.reset()
        got = runner(web.feed_urls(), home / name, timeout)
        if isinstance(got, str):
            rows.append(na(FEEDS_ONLY, name, got))
            continue
        run, items = got
        how = "16 reload threads" if name == "newsboat" else "sequential"
        rows.append(
            Row(FEEDS_ONLY, name, run.wall_s, "s", note=f"{how}; {items} items; {_resources(run)}")
        )
        faster = run.wall_s / ours.wall_s if ours is not None else None
        rows.append(
            check(
                FEEDS_ONLY,
                f"veille faster than {name}",
                faster,
                "×",
                "> 1×",
                faster is not None and faster > 1,
                "" if faster is not None else "needs `veille pull --ingest-only`",
            )
        )
    return rows
