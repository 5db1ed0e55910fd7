"""The one orchestrator (L2): the only place that sequences several stages.

report = pipeline.pull(engine, settings, specs=sources.load_sources(path))
report = pipeline.refresh_ids(engine, settings, [source_id, …])   # a worker's task

`refresh(run, source)` (refresh.py) is one source top to bottom; `run.py` opens the run it
shares with the others; `decide.py` holds its decisions as pure functions; `write.py` its
one write per source.
"""

from veille.pipeline.decide import next_fetch_at
from veille.pipeline.refresh import refresh
from veille.pipeline.run import (
    PullReport,
    Run,
    SourceOutcome,
    fetch_limits,
    load_classifier,
    open_run,
    pull,
    refresh_ids,
)

__all__ = [
    "PullReport",
    "Run",
    "SourceOutcome",
    "fetch_limits",
    "load_classifier",
    "next_fetch_at",
    "open_run",
    "pull",
    "refresh",
    "refresh_ids",
]
