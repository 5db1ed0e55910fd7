"""A run: what every `refresh` of it shares, and the two ways to start one.

`pull()` syncs feeds.yaml into the source rows and refreshes every due source (the CLI, the
scheduler, the demo); `refresh_ids()` refreshes exactly the sources it is given (a worker's
task). Both open one `Run`: the settings, one polite fetcher, one pool of worker processes
(parsing and extraction), one thread for database writes, the serving model loaded once,
the run's `now`, and its counters. Concurrency lives here; `refresh` is one source, top to
bottom.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy.engine import Engine

from veille import metrics
from veille.errors import ConfigError, ModelError
from veille.fetch import Fetcher, FetchLimits
from veille.pipeline import workers
from veille.pipeline.workers import WorkerPool
from veille.settings import Settings
from veille.sources.readers import ReadContext
from veille.store import Source, session_scope, utcnow
from veille.store.sources import due_sources, source_names, sources_by_id, sync_sources
from veille.store.stories import (
    NO_BANDS,
    add_bands,
    prune_bands,
    sources_with_pending,
    unindexed_signatures,
)
from veille.types import Doc, Prediction, SourceSpec

log = logging.getLogger(__name__)
T = TypeVar("T")
IN_FLIGHT_PER_WORKER = 8  # fetched pages waiting for a worker, per extraction process
FETCHING = 64  # article pages being downloaded at once (a hanging server holds one slot)
# Sources being refreshed at once; the others wait with nothing loaded. A thousand feeds
# arriving together do not put 20,000 entries and their pages in memory for the whole run;
# 48 sources of ~20 items keep far more pages ready than FETCHING and the workers take,
# even with a few held up by a hanging server.
SOURCES_IN_FLIGHT = 48


class Classifier(Protocol):
    version: str
    trained_until: datetime | None

    def predict(self, docs: list[Doc], offset: Any = None) -> list[Prediction]: ...

    def source_offset(self, docs: list[Doc], labels: list[list[str]]) -> Any: ...


@dataclass(frozen=True, slots=True)
class SourceOutcome:
    name: str
    status: str  # ok | unchanged | failed
    new_items: int = 0
    error: str | None = None
    seconds: float = 0.0


@dataclass(slots=True)
class PullReport:
    sources: int = 0
    ok: int = 0
    unchanged: int = 0
    failed: int = 0
    new_items: int = 0
    seconds: float = 0.0
    requests: dict[str, int] = field(default_factory=dict)  # HTTP exchanges by status
    new_item_ids: list[int] = field(default_factory=list)  # for the stages after ingestion
    extractions: dict[str, int] = field(default_factory=dict)  # items by text kept
    outcomes: list[SourceOutcome] = field(default_factory=list)

    def add(self, outcome: SourceOutcome) -> None:
        self.outcomes.append(outcome)
        self.new_items += outcome.new_items
        setattr(self, outcome.status, getattr(self, outcome.status) + 1)


@dataclass
class Run:
    """The per-run context every `refresh` of the run shares."""

    engine: Engine
    settings: Settings
    fetcher: Fetcher
    pool: WorkerPool
    writer: ThreadPoolExecutor  # the run's one thread for database work
    now: datetime
    enrich: bool = True  # False: store new items as read; the next run extracts them
    load_model: Callable[[], Classifier | None] = lambda: None
    report: PullReport = field(default_factory=PullReport)
    sources: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(1))
    fetching: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(1))
    slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(1))
    held: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(1))
    _model: asyncio.Future[Classifier | None] | None = None

    @property
    def window(self) -> timedelta:
        return timedelta(days=self.settings.dedupe_window_days)

    @property
    def read_context(self) -> ReadContext:
        return ReadContext(
            get=self.fetcher.get,
            parse=self.parse,
            max_feed_bytes=self.settings.max_feed_bytes,
            max_page_bytes=self.settings.max_page_bytes,
            max_entries=self.settings.max_entries_per_fetch,
        )

    async def parse(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """CPU work off the event loop: in the worker processes once they are up (both cores
        parse while the loop fetches), in a thread before that."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool.started(), partial(fn, *args, **kwargs))

    async def db(self, fn: Callable[..., T], *args: Any) -> T:
        """Database work in the run's one writer thread: SQLite takes one writer at a time,
        and the event loop never waits on the database."""
        return await asyncio.get_running_loop().run_in_executor(self.writer, fn, *args)

    def load_model_soon(self) -> None:
        # Loading the model (reading and checking its arrays, a quarter of a second) runs in
        # a thread while the first pages download and extract; once per run.
        if self._model is None:
            self._model = asyncio.ensure_future(asyncio.to_thread(self.load_model))

    async def classifier(self) -> Classifier | None:
        self.load_model_soon()
        assert self._model is not None
        return await self._model

    def count(self, kind: str) -> None:
        self.report.extractions[kind] = self.report.extractions.get(kind, 0) + 1


@asynccontextmanager
async def open_run(
    engine: Engine, settings: Settings, *, now: datetime, enrich: bool = True
) -> AsyncIterator[Run]:
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="veille-store")
    # One set of worker processes parses feeds and extracts pages; an ingest-only run
    # spares them the extraction stack.
    pool = WorkerPool(settings.extract_workers, workers.PARSE + (workers.EXTRACT if enrich else ()))
    slots = pool.workers * IN_FLIGHT_PER_WORKER
    try:
        async with Fetcher(fetch_limits(settings)) as fetcher:
            run = Run(
                engine=engine,
                settings=settings,
                fetcher=fetcher,
                pool=pool,
                writer=writer,
                now=now,
                enrich=enrich,
                load_model=partial(load_classifier, settings.models_dir),
                sources=asyncio.Semaphore(SOURCES_IN_FLIGHT),
                fetching=asyncio.Semaphore(FETCHING),
                slots=asyncio.Semaphore(slots),
                # Pages in memory, downloading or waiting for a worker, are bounded too:
                # without it downloads ran ahead of extraction (860 MB for 6,000 items).
                held=asyncio.Semaphore(FETCHING + 2 * slots),
            )
            yield run
            run.report.requests = dict(fetcher.statuses)
    finally:
        await asyncio.to_thread(writer.shutdown, wait=True)
        await pool.aclose()


def fetch_limits(settings: Settings) -> FetchLimits:
    return FetchLimits(
        user_agent=settings.user_agent,
        max_connections=settings.max_connections,
        max_per_host=settings.max_per_host,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        total_timeout=settings.total_timeout,
        max_redirects=settings.max_redirects,
        retries=settings.retries,
        allow_networks=tuple(settings.allow_networks),
    )


def load_classifier(models_dir: Path) -> Classifier | None:
    """The serving model (the shipped seed when the current one cannot be read), or None
    (items stay unclassified) with one warning."""
    from veille.classify.artefacts import load_serving

    try:
        return load_serving(models_dir)
    except ModelError as exc:
        log.warning("items will not be classified", extra={"reason": str(exc)})
        return None


def pull(
    engine: Engine,
    settings: Settings,
    *,
    specs: tuple[SourceSpec, ...],
    names: tuple[str, ...] = (),
    force: bool = False,
    now: datetime | None = None,
    on_start: Callable[[int], None] | None = None,
    on_source: Callable[[SourceOutcome], None] | None = None,
    enrich: bool = True,
) -> PullReport:
    """Refresh every due source (or `names`; all of them with `force`).

    With `enrich` (the default) each new item is stored with its text, story and topics;
    without, items are stored as read and wait for the next pull, which finishes every
    item left unextracted."""
    now = now or utcnow()
    started = time.perf_counter()
    with session_scope(engine) as session:
        sync_sources(session, specs=specs, now=now)
        unknown = sorted(set(names) - set(source_names(session)))
        if unknown:
            raise ConfigError(f"unknown source {unknown[0]!r} (not in the sources file)")
        due = due_sources(session, now=now, names=names, force=force)
    if on_start:
        on_start(len(due))
    report = asyncio.run(_refresh_all(engine, settings, due, now, on_source, enrich, True))
    return _done(report, started)


def refresh_ids(
    engine: Engine,
    settings: Settings,
    source_ids: list[int] | tuple[int, ...],
    *,
    now: datetime | None = None,
) -> PullReport:
    """Refresh exactly the sources `source_ids` (enabled ones; an id that no longer exists
    is logged and skipped), whether due or not: what a worker's task calls."""
    now = now or utcnow()
    started = time.perf_counter()
    with session_scope(engine) as session:
        sources = sources_by_id(session, ids=list(source_ids))
    missing = sorted(set(source_ids) - {s.id for s in sources})
    if missing:
        log.warning("sources gone or disabled: skipped", extra={"sources": missing})
    report = asyncio.run(_refresh_all(engine, settings, sources, now, None, True, False))
    return _done(report, started)


def _done(report: PullReport, started: float) -> PullReport:
    report.seconds = time.perf_counter() - started
    log.info(
        "pull done",
        extra={
            "stage": "pull",
            "sources": report.sources,
            "ok": report.ok,
            "unchanged": report.unchanged,
            "failed": report.failed,
            "new_items": report.new_items,
            "seconds": round(report.seconds, 2),
            "requests": report.requests,
        },
    )
    return report


async def _refresh_all(
    engine: Engine,
    settings: Settings,
    due: list[Source],
    now: datetime,
    on_source: Callable[[SourceOutcome], None] | None,
    enrich: bool,
    leftovers: bool,
) -> PullReport:
    from veille.pipeline.refresh import refresh

    async with open_run(engine, settings, now=now, enrich=enrich) as run:
        run.report.sources = len(due)
        if enrich:
            await run.db(_prune, engine, now - run.window * 2)

        async def one(source: Source) -> None:
            outcome = await refresh(run, source)
            metrics.FETCHES.labels(outcome=outcome.status).inc()
            if on_source:
                on_source(outcome)

        # Items an earlier run stored without extracting them (an ingest-only pull), of
        # sources not due now: finished without reading their source.
        others = await run.db(_pending_elsewhere, engine, due, now, run) if leftovers else []
        await asyncio.gather(*(one(s) for s in due), *(refresh(run, s, read=False) for s in others))
    metrics.ITEMS_STORED.inc(run.report.new_items)
    return run.report


def _prune(engine: Engine, before: datetime) -> None:
    """Forget band keys beyond any window; index items filed before the index existed."""
    from veille import dedupe

    with session_scope(engine) as session:
        prune_bands(session, before=before)
        old = unindexed_signatures(session, since=before)
        rows = [(k, i, p) for i, sig, p in old for k in dedupe.band_keys(sig) or [NO_BANDS]]
        add_bands(session, rows=rows)


def _pending_elsewhere(engine: Engine, due: list[Source], now: datetime, run: Run) -> list[Source]:
    if not run.enrich:
        return []
    with session_scope(engine) as session:
        ids = sources_with_pending(session, since=now - run.window)
        skip = {s.id for s in due}
        return sources_by_id(session, ids=[i for i in ids if i not in skip])
