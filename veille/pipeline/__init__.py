"""The one orchestrator (L2): the only place that sequences several stages.

report = pipeline.pull(engine, settings, specs=sources.load_sources(path))
"""

from veille.pipeline.pull import (
    PullReport,
    SourceOutcome,
    fetch_limits,
    next_fetch_at,
    pull,
)
from veille.pipeline.read import Reader, SourceRead
from veille.pipeline.units import refresh_ids

__all__ = [
    "PullReport",
    "Reader",
    "SourceOutcome",
    "SourceRead",
    "fetch_limits",
    "next_fetch_at",
    "pull",
    "refresh_ids",
]
