"""Run one pull as `veille pull --force` would, in this process, and write what happened:
per source its outcome and seconds, the whole run's seconds and peak memory (this process
and its worker processes). Usage: python -m tests.faults.measured OUT.json"""

from __future__ import annotations

import json
import resource
import sys
import time

from veille.pipeline import pull
from veille.settings import load_settings
from veille.sources import load_sources
from veille.store import open_store


def main(out: str) -> None:
    started = time.perf_counter()
    settings = load_settings()
    engine = open_store(settings.db_url)
    outcomes = []
    report = pull(
        engine,
        settings,
        specs=load_sources(settings.sources),
        force=True,
        on_source=lambda o: outcomes.append(
            {"name": o.name, "status": o.status, "error": o.error, "seconds": o.seconds}
        ),
    )
    engine.dispose()
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    with open(out, "w") as f:
        json.dump(
            {
                "seconds": time.perf_counter() - started,
                "peak_mb": round(peak_self, 1),
                "peak_worker_mb": round(peak_children, 1),  # 0: the pool was not reaped yet
                "new_items": report.new_items,
                "outcomes": outcomes,
            },
            f,
        )


if __name__ == "__main__":
    main(sys.argv[1])
