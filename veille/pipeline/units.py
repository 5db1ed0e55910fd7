"""The units of work a queue worker calls, one source set at a time.

`refresh_ids(engine, settings, source_ids)` refreshes exactly those sources: fetch, extract,
file stories, classify, store. For now it runs over `pull()`; the rewrite of the pull into
`refresh(run, source)` (issue 14, step 1) replaces its body, not its signature.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from veille.pipeline.pull import PullReport, pull
from veille.settings import Settings
from veille.sources import load_sources
from veille.store import Source, session_scope


def refresh_ids(
    engine: Engine, settings: Settings, source_ids: list[int], *, now: datetime | None = None
) -> PullReport:
    """Refresh the sources of `source_ids` now, whatever their schedule; ids that no longer
    name a source are the caller's to report (they are skipped here)."""
    wanted = sorted(set(source_ids))
    if not wanted:
        return PullReport()
    with session_scope(engine) as session:
        names = tuple(session.exec(select(Source.name).where(col(Source.id).in_(wanted))))
    if not names:
        return PullReport()
    return pull(
        engine, settings, specs=load_sources(settings.sources), names=names, force=True, now=now
    )
