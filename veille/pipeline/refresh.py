"""`refresh(run, source)`: one source, top to bottom (Miniflux's RefreshFeed).

1. read the source through its kind's reader (veille.sources.readers), with the fetch state
   the reader left on the row last time;
2. pick the entries the source does not have yet (decide.new_entries), plus the items an
   earlier run stored without extracting them;
3. fetch their article pages and extract them in the worker processes (pages.py);
4. classify them with the run's model and the source's offset (offsets.py: what curators'
   judgements of its items since the model was trained say), then write **once**
   (write.py): new items inserted complete (text, story, topics, doc_title), stories
   filed, the source's schedule and fetch state, in one transaction.

Any failure is recorded on the source's row and never ends the run; a run stopped half-way
leaves nothing half-written (the next run does it again).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace

from veille.errors import SourceError
from veille.pipeline import decide, write
from veille.pipeline.offsets import SourceOffset, source_offset
from veille.pipeline.pages import Signed, Work, fetch_and_extract
from veille.pipeline.run import Classifier, Run, SourceOutcome
from veille.sources.readers import READERS, SourceRead
from veille.store import Item, Source, session_scope
from veille.store.items import existing_guids
from veille.store.stories import pending_items

log = logging.getLogger(__name__)
NEW_KEYS = 1 << 60  # placeholder keys of items not stored yet (after every real id)


@dataclass(frozen=True, slots=True)
class Extracted:
    """One item ready to write: its row (new items) or id (stored ones), and what
    extraction, dedupe and the classifier made of it."""

    work: Work
    row: dict[str, object] | None  # a new item's row; None for a stored item
    item: Item | None  # a stored item left unextracted
    signed: Signed | None  # None: an ingest-only run


async def refresh(run: Run, source: Source, *, read: bool = True) -> SourceOutcome:
    """Refresh one source; with `read=False` only finish the items an earlier run left
    unextracted. Returns its outcome (also added to the run's report)."""
    started = time.perf_counter()
    extra = {"source": source.name, "url": source.url, "stage": "fetch"}
    async with run.sources:
        try:
            got = await _read(run, source) if read else SourceRead(not_modified=True)
            new = await run.db(_new_rows, run, source, got) if got.entries else []
            got = replace(got, entries=())  # the feed's other entries are not kept in memory
            stored = await run.db(_pending, run, source) if run.enrich else []
            if run.enrich and (new or stored):
                run.load_model_soon()  # read while the pages download and extract
            ready = await _extract(run, new, stored)
            model = await run.classifier() if run.enrich and ready else None
            scored = model is not None and any(e.signed for e in ready)
            offset = await run.db(_offset, run, source, model) if scored else None
            ids = await run.db(write.save, run, source, got if read else None, ready, model, offset)
        except Exception as exc:  # one source, however broken, never ends the run
            if not read:  # its items stay unextracted for the next run; the source is fine
                log.exception("unextracted items not finished", extra=extra)
                return SourceOutcome(source.name, "unchanged")
            if not isinstance(exc, SourceError):  # a bug or a store refusal: keep the traceback
                log.exception("source crashed a stage", extra=extra)
                exc = SourceError(f"internal error: {type(exc).__name__}: {exc}")
            return await _failed(run, source, exc, started, extra)
    elapsed = time.perf_counter() - started
    if not read:
        return SourceOutcome(source.name, "unchanged", seconds=elapsed)
    if got.warning:
        log.info("source read with a warning", extra={**extra, "reason": got.warning})
    status = "unchanged" if got.not_modified else "ok"
    outcome = SourceOutcome(source.name, status, new_items=len(ids), seconds=elapsed)
    log.info(
        "source fetched",
        extra={**extra, "outcome": status, "new_items": len(ids), "seconds": round(elapsed, 3)},
    )
    run.report.add(outcome)
    run.report.new_item_ids.extend(ids)
    return outcome


async def _read(run: Run, source: Source) -> SourceRead:
    reader = READERS.get(source.kind)
    if reader is None:
        raise SourceError(f"unknown kind of source {source.kind!r}")
    return await reader.read(source, dict(source.fetch_state or {}), run.read_context)


def _new_rows(run: Run, source: Source, got: SourceRead) -> list[dict[str, object]]:
    with session_scope(run.engine) as session:
        known = existing_guids(session, source_id=source.id, guids=(e.guid for e in got.entries))
    listing = source.kind != "feed" and not got.is_feed
    entries = decide.new_entries(got.entries, known, listing=listing)
    return [decide.item_row(source.id, entry, run.now) for entry in entries]


def _offset(run: Run, source: Source, model: Classifier) -> SourceOffset | None:
    """The source's offset for the run's model (judgements made since it was trained)."""
    with session_scope(run.engine) as session:
        return source_offset(session, model, source.id, until=run.now)  # run.now: classified_at


def _pending(run: Run, source: Source) -> list[Item]:
    with session_scope(run.engine) as session:
        return pending_items(session, source_id=source.id, since=run.now - run.window)


async def _extract(run: Run, new: list[dict[str, object]], stored: list[Item]) -> list[Extracted]:
    works = [
        (
            Work(
                NEW_KEYS + n,
                str(r["url"]),
                str(r["title"]),
                str(r["feed_content"]),
                str(r["feed_summary"]),
            ),
            r,
            None,
        )
        for n, r in enumerate(new)
    ] + [(Work(i.id, i.url, i.title, i.feed_content, i.feed_summary), None, i) for i in stored]
    if not run.enrich:
        return [Extracted(w, r, i, None) for w, r, i in works]
    done = await asyncio.gather(*(fetch_and_extract(run, w) for w, _, _ in works))
    return [Extracted(w, r, i, s) for (w, r, i), s in zip(works, done, strict=True)]


async def _failed(
    run: Run, source: Source, exc: Exception, started: float, extra: dict[str, object]
) -> SourceOutcome:
    error = decide.clean(str(exc))[:1000]
    reader = READERS.get(source.kind)
    state = dict(source.fetch_state or {})
    values = decide.after_failure(
        interval=source.interval,
        failures=source.consecutive_failures,
        error=error,
        retry_after=getattr(exc, "retry_after", None),  # a 429/503 that asked us to wait
        state=reader.after_failure(state) if reader else state,
        now=run.now,
    )
    try:
        await run.db(write.record_failure, run, source, values)
    except Exception:
        log.exception("source failure not recorded", extra=extra)
    log.warning("source failed", extra={**extra, "reason": error})
    outcome = SourceOutcome(
        source.name, "failed", error=error, seconds=time.perf_counter() - started
    )
    run.report.add(outcome)
    return outcome
