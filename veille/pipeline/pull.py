"""The one orchestrator: sources → fetch → parse → store, for every due source at once.

`pull()` syncs feeds.yaml into the source rows, fetches the due sources concurrently through
one polite Fetcher, parses each body off the event loop, stores the new entries (one
transaction per source, so a failure never loses what other sources brought) and moves each
source's schedule: its interval after a success, an exponential backoff capped at a day after
a failure (a source is never disabled for failing; a curator decides that).

New entries flow through `_ingest_entries`, then `enrich.Enricher` fetches each new item's
article, extracts its text in a process pool, files it into a story and classifies it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from veille import metrics
from veille.errors import ConfigError, ModelError, SourceError
from veille.fetch import Fetcher, FetchLimits
from veille.pipeline import workers
from veille.pipeline.enrich import Classifier, Enricher
from veille.pipeline.read import Reader, SourceRead
from veille.pipeline.workers import WorkerPool
from veille.settings import Settings
from veille.store import Source, session_scope, utcnow
from veille.store.items import existing_guids, insert_items
from veille.store.sources import due_sources, source_names, sync_sources, update_source
from veille.store.stories import pending_item_ids
from veille.types import Entry, SourceSpec

log = logging.getLogger(__name__)
MAX_BACKOFF = 86400  # a failing source is retried at least daily
MAX_AGE_CAP = 86400  # a feed's Cache-Control: max-age delays its next fetch by a day at most
MAX_NEW_FROM_LISTING = 100  # pages and sitemaps: newest links per run, not a site's archive


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


def next_fetch_at(
    now: datetime, interval: int, failures: int, retry_after: float | None = None
) -> datetime:
    """The schedule: the interval after a success; after failures, the interval doubled per
    failure, capped at a day (or the interval when longer); never before a Retry-After."""
    delay = float(interval)
    if failures:
        delay = min(interval * 2 ** (failures - 1), max(MAX_BACKOFF, interval))
    if retry_after:
        delay = max(delay, retry_after)
    return now + timedelta(seconds=delay)


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
    """Fetch every due source (or `names`; all of them with `force`) and store new items.

    With `enrich` (the default) each new item then gets its text, story and topics; without,
    they wait for the next pull, which picks up every item left unextracted."""
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
    report = asyncio.run(_pull_all(engine, settings, due, now, on_source, enrich))
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


async def _pull_all(
    engine: Engine,
    settings: Settings,
    due: list[Source],
    now: datetime,
    on_source: Callable[[SourceOutcome], None] | None,
    enrich: bool,
) -> PullReport:
    report = PullReport(sources=len(due))
    # One set of worker processes parses feeds and extracts pages; an ingest-only run
    # spares them the extraction stack.
    # One thread writes every row of the run: SQLite takes one writer at a time, and the
    # event loop never waits on the database.
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="veille-store")
    pool = WorkerPool(settings.extract_workers, workers.PARSE + (workers.EXTRACT if enrich else ()))
    async with Fetcher(fetch_limits(settings)) as fetcher:
        reader = Reader(
            fetcher,
            settings.max_feed_bytes,
            settings.max_page_bytes,
            pool,
            max_entries=settings.max_entries_per_fetch,
        )
        enricher = Enricher(
            engine=engine,
            fetcher=fetcher,
            pool=pool,
            writer=writer,
            max_page_bytes=settings.max_page_bytes,
            window=timedelta(days=settings.dedupe_window_days),
            now=now,
            load_model=partial(load_classifier, settings.models_dir),
            fetch_pages=settings.fetch_articles,
        )

        async def one(source: Source) -> None:
            outcome, ids = await _pull_source(engine, reader, source, now, writer)
            report.add(outcome)
            report.new_item_ids.extend(ids)
            metrics.FETCHES.labels(outcome=outcome.status).inc()
            if enrich:
                await _enrich(enricher, source.name, ids)
            if on_source:
                on_source(outcome)

        leftovers = _leftovers(engine, due, now, settings.dedupe_window_days) if enrich else {}
        try:
            await asyncio.gather(
                *(one(s) for s in due),
                *(_enrich(enricher, name, ids) for name, ids in leftovers.items()),
            )
        finally:
            await asyncio.to_thread(writer.shutdown, wait=True)
            await pool.aclose()
        report.requests = dict(fetcher.statuses)
        report.extractions = dict(enricher.counts)
    metrics.ITEMS_STORED.inc(report.new_items)
    return report


async def _enrich(enricher: Enricher, source: str, ids: list[int]) -> None:
    """Extraction, stories and topics for one source's new items. A failure leaves them
    unextracted (the next run picks them up) and never ends the run."""
    try:
        await enricher.enrich(source, ids)
    except Exception:
        log.exception("enrichment failed", extra={"source": source, "stage": "enrich"})


def _leftovers(
    engine: Engine, due: list[Source], now: datetime, window_days: int
) -> dict[str, list[int]]:
    """Items a stopped run stored but never extracted, by source name."""
    names = {s.id: s.name for s in due}
    with session_scope(engine) as session:
        pending = pending_item_ids(session, since=now - timedelta(days=window_days), limit=5000)
        for source in session.exec(select(Source)):
            names.setdefault(source.id, source.name)
    return {names[sid]: ids for sid, ids in pending.items() if sid in names}


def load_classifier(models_dir: Path) -> Classifier | None:
    """The serving model (the shipped seed when the current one cannot be read), or None
    (items stay unclassified) with one warning."""
    from veille.classify.artefacts import load_serving

    try:
        return load_serving(models_dir)
    except ModelError as exc:
        log.warning("items will not be classified", extra={"reason": str(exc)})
        return None


def _store_read(engine: Engine, source: Source, read: SourceRead, now: datetime) -> list[int]:
    with session_scope(engine) as session:
        ids = _ingest_entries(session, source, read, now) if read.entries else []
        update_source(session, source_id=source.id, values=_success(source, read, now))
    return ids


def _store_failure(engine: Engine, source: Source, values: dict[str, object]) -> None:
    with session_scope(engine) as session:
        update_source(session, source_id=source.id, values=values)


async def _pull_source(
    engine: Engine, reader: Reader, source: Source, now: datetime, writer: Executor
) -> tuple[SourceOutcome, list[int]]:
    """Read one source and store what is new; any failure is recorded on the source and
    never ends the run. Rows are written in the run's one writer thread, so the event loop
    keeps fetching while SQLite works."""
    started = time.perf_counter()
    extra = {"source": source.name, "url": source.url, "stage": "fetch"}
    loop = asyncio.get_running_loop()
    try:
        read = await reader.read(source)
        ids = await loop.run_in_executor(writer, _store_read, engine, source, read, now)
    except Exception as exc:  # one source, however broken, never ends the run
        if not isinstance(exc, SourceError):  # a bug or a store refusal: keep the traceback
            log.exception("source crashed a stage", extra=extra)
            exc = SourceError(f"internal error: {type(exc).__name__}: {exc}")
        error = _clean(str(exc))[:1000]
        values = _failure(source, exc, now, error)
        await loop.run_in_executor(writer, _store_failure, engine, source, values)
        log.warning("source failed", extra={**extra, "reason": error})
        elapsed = time.perf_counter() - started
        return SourceOutcome(source.name, "failed", error=error, seconds=elapsed), []
    if read.warning:
        log.info("source read with a warning", extra={**extra, "reason": read.warning})
    status = "unchanged" if read.not_modified else "ok"
    elapsed = time.perf_counter() - started
    log.info(
        "source fetched",
        extra={**extra, "outcome": status, "new_items": len(ids), "seconds": round(elapsed, 3)},
    )
    return SourceOutcome(source.name, status, new_items=len(ids), seconds=elapsed), ids


def _success(source: Source, read: SourceRead, now: datetime) -> dict[str, object]:
    return {
        "last_attempt_at": now,
        "last_success_at": now,
        "last_error": None,
        "consecutive_failures": 0,
        "warning": _clean(read.warning) if read.warning else None,
        "next_fetch_at": next_fetch_at(now, _interval(source.interval, read.max_age), 0),
        "etag": read.etag,
        "last_modified": read.last_modified,
        "feed_url": read.feed_url,
    }


def _interval(interval: int, max_age: int | None) -> int:
    """A feed's Cache-Control: max-age is a lower bound on the wait before the next fetch
    (it says the content will not change before), capped at MAX_AGE_CAP."""
    return max(interval, min(max_age or 0, MAX_AGE_CAP))


def _failure(source: Source, exc: Exception, now: datetime, error: str) -> dict[str, object]:
    failures = source.consecutive_failures + 1
    retry = getattr(exc, "retry_after", None)  # a 429/503 that asked us to wait
    return {
        "last_attempt_at": now,
        "last_error": error,
        "last_error_at": now,
        "consecutive_failures": failures,
        "next_fetch_at": next_fetch_at(now, source.interval, failures, retry),
        # A discovered feed that fails is forgotten: the next run reads the page again.
        **({"feed_url": None} if source.kind == "page" else {}),
    }


def _clean(text: str) -> str:
    # Databases refuse NUL and lone surrogates in text; a hostile JSON feed can carry both
    # ("\u0000", "\ud800").
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")


def _ingest_entries(session: Session, source: Source, read: SourceRead, now: datetime) -> list[int]:
    """The per-item step: new entries of one source become Item rows (GUIDs already stored
    are skipped; the database's unique key settles any race). Returns the new items' ids."""
    known = existing_guids(session, source_id=source.id, guids=(e.guid for e in read.entries))
    fresh: dict[str, Entry] = {}
    for entry in read.entries:
        if entry.guid not in known and entry.guid not in fresh:
            fresh[entry.guid] = entry
    entries = list(fresh.values())
    if source.kind != "feed" and not read.is_feed:
        entries = entries[:MAX_NEW_FROM_LISTING]
    return insert_items(session, rows=[_item_row(source.id, entry, now) for entry in entries])


def _item_row(source_id: int, entry: Entry, now: datetime) -> dict[str, object]:
    # A date in the future is a feed's mistake; it would pin the item on top of every list.
    published = entry.published if entry.published and entry.published <= now else now
    return {
        "source_id": source_id,
        "guid": _clean(entry.guid),
        "url": _clean(entry.url),
        "canonical_url": _clean(entry.canonical_url),
        "title": _clean(entry.title),
        "feed_summary": _clean(entry.summary),
        "feed_content": _clean(entry.content),
        "published_at": published,
        "first_seen_at": now,
        "updated_at": now,
        "authors": [a for a in map(_clean, entry.authors) if a],
        "categories": [c for c in map(_clean, entry.categories) if c],
        "image": _clean(entry.image) if entry.image else None,
    }
