"""The work behind each scheduled job, wired once for `veille serve` and `veille run`."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.engine import Engine

from veille import pipeline, publish
from veille.digest import bounces, issue
from veille.errors import ConfigError, SourceError
from veille.pipeline.retrain import corrections_since_training, retrain_job
from veille.scheduler import Jobs
from veille.settings import Settings
from veille.sources import load_sources

log = logging.getLogger(__name__)


def pull_figures(report: pipeline.PullReport) -> dict[str, int]:
    """A pull's counts for its job history row (scheduler and `veille pull` alike)."""
    return {
        "sources": report.sources,
        "ok": report.ok,
        "unchanged": report.unchanged,
        "failed": report.failed,
        "new_items": report.new_items,
    }


def make_jobs(engine: Engine, settings: Settings) -> Jobs:
    def pull(now: datetime) -> dict[str, int]:
        # feeds.yaml is read at every run, so an edit takes effect without a restart.
        report = pipeline.pull(engine, settings, specs=load_sources(settings.sources), now=now)
        figures = pull_figures(report)
        if settings.bounce_maildir is not None:  # late bounces, read as often as the sources
            try:
                figures |= bounces.read_maildir(
                    engine,
                    folder=settings.bounce_maildir,
                    now=now,
                    soft_limit=settings.soft_bounce_limit,
                ).figures()
            except ConfigError as exc:  # the pull itself went well: say so, and why not this
                log.error("bounces not read: %s", exc, extra={"stage": "bounces"})
        if report.sources and report.failed == report.sources:
            # Recorded as a failed run: `veille run` exits 1, `veille status` shows it.
            raise SourceError(
                f"all {report.sources} sources failed (network down?): veille sources list"
            )
        return figures

    def digest(now: datetime) -> dict[str, int]:
        return issue.run(engine, settings=settings, now=now).figures()

    def publish_job(now: datetime) -> dict[str, int]:
        return publish.publish_all(engine, settings=settings, now=now).figures()

    return Jobs(
        pull=pull,
        digest=digest,
        publish=publish_job,
        retrain=retrain_job(engine, settings.models_dir),
        retrain_due=lambda: corrections_since_training(engine, settings.models_dir) > 0,
    )
