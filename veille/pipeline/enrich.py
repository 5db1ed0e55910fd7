"""After ingestion, each new item: article page → text → story → topics.

Per item the page is fetched through the run's polite Fetcher (robots.txt applies) and its
text extracted in a process pool, so both cores work while the next pages download. A
bounded number of items is in flight at once, which caps memory whatever the run's size.
Once a source's items are extracted they are written in one transaction: exact duplicates and
near duplicates join a story (the in-memory `StoryIndex` rebuilt from the window's
signatures), and the classifier files them under topics.

Items are extracted once: only new items (and items a stopped run left unextracted) come
here, so a re-pull never re-extracts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session

from veille import metrics
from veille.errors import FetchError
from veille.fetch import PAGE_ACCEPT, Fetcher
from veille.pipeline.workers import WorkerPool
from veille.store import Item, session_scope
from veille.store import stories as q
from veille.types import Doc, Extraction, Prediction, classifier_doc

if TYPE_CHECKING:
    from veille import dedupe, extract

log = logging.getLogger(__name__)
IN_FLIGHT_PER_WORKER = 8  # fetched pages waiting for a worker, per extraction process
FETCHING = 64  # article pages being downloaded at once (a hanging server holds one slot)
# Sources whose items are loaded and in progress at once. The others wait with their item ids
# only: a thousand feeds arriving together no longer put 20,000 items and their tasks in
# memory for the whole run. 32 sources of ~20 items keep far more pages ready than FETCHING
# and the workers take, even with a few held up by a hanging page.
SOURCES_IN_FLIGHT = 32


class Classifier(Protocol):
    version: str

    def predict(self, docs: list[Doc]) -> list[Prediction]: ...


@dataclass
class Enricher:
    """Per-run state of the stages after ingestion. The pool, the story index and the model
    are made on first use, so a run with nothing new (all 304s) pays for none of them."""

    engine: Engine
    fetcher: Fetcher
    pool: WorkerPool
    writer: Executor  # the run's one thread for database writes
    max_page_bytes: int
    window: timedelta
    now: datetime
    load_model: Callable[[], Classifier | None] = lambda: None
    fetch_pages: bool = True
    counts: dict[str, int] = field(default_factory=dict)
    _slots: asyncio.Semaphore | None = None
    _fetching: asyncio.Semaphore | None = None
    _held: asyncio.Semaphore | None = None
    _sources: asyncio.Semaphore | None = None
    _index: dedupe.StoryIndex | None = None
    _model: asyncio.Task[Classifier | None] | None = None

    def _story_index(self) -> dedupe.StoryIndex:
        if self._index is None:
            self._index = dedupe.StoryIndex()
            with session_scope(self.engine) as session:
                self._index.add_many(q.recent_signatures(session, since=self.now - self.window))
        return self._index

    def _classifier(self) -> asyncio.Task[Classifier | None]:
        # Loading the model (reading and checking its arrays, a quarter of a second) runs in
        # a thread while the first pages download and extract.
        if self._model is None:
            self._model = asyncio.ensure_future(asyncio.to_thread(self.load_model))
        return self._model

    async def enrich(self, source_name: str, item_ids: list[int]) -> None:
        """Extract, dedupe and classify one source's new items; store them together."""
        if not item_ids:
            return
        _import_dedupe()
        model = self._classifier()
        if self._sources is None:
            self._sources = asyncio.Semaphore(SOURCES_IN_FLIGHT)
        async with self._sources:
            with session_scope(self.engine) as session:
                items = q.items_to_enrich(session, ids=item_ids)
            done = await asyncio.gather(*(self._extract(item) for item in items))
            classifier = await model
            # The one writer thread: stories and the index stay consistent (one source at a
            # time) and the event loop keeps fetching while scores and rows are computed.
            await asyncio.get_running_loop().run_in_executor(
                self.writer, self._write, source_name, items, done, classifier
            )

    def _write(
        self,
        source: str,
        items: list[Item],
        done: list[Signed],
        model: Classifier | None,
    ) -> None:
        docs = [
            classifier_doc(
                title=i.title,
                page_title=d.ext.title,
                text=d.ext.text,
                summary=d.ext.summary,
                lang=d.ext.lang,
            )
            for i, d in zip(items, done, strict=True)
        ]
        predictions = self._classify(model, docs)
        rows = list(zip(items, done, predictions, docs, strict=True))
        with session_scope(self.engine) as session:
            self._store(session, source, rows)

    async def _extract(self, item: Item) -> Signed:
        if self._slots is None:
            slots = self.pool.workers * IN_FLIGHT_PER_WORKER
            self._slots = asyncio.Semaphore(slots)
            self._fetching = asyncio.Semaphore(FETCHING)
            # Pages in memory, downloading or waiting for a worker, are bounded too: without
            # it downloads ran ahead of extraction (a 6,000-item pull peaked at 860 MB).
            self._held = asyncio.Semaphore(FETCHING + 2 * slots)
        assert self._fetching is not None and self._held is not None
        async with self._held:
            return await self._fetch_and_extract(item)

    async def _fetch_and_extract(self, item: Item) -> Signed:
        assert self._fetching is not None and self._slots is not None
        async with self._fetching:
            body, charset, error = await self._page(item)
        async with self._slots:
            job = partial(
                extract_and_sign,
                body,
                url=item.url,
                feed_content=item.feed_content,
                feed_summary=item.feed_summary,
                title=item.title,
                http_charset=charset,
                fetch_error=error,
            )
            try:
                pool = await self.pool.get()
                return await asyncio.get_running_loop().run_in_executor(pool, job)
            except Exception as exc:  # a dead worker must not cost the item its feed text
                log.warning("extraction crashed", extra={"item": item.id, "reason": str(exc)})
                return extract_and_sign(
                    None,
                    url=item.url,
                    feed_content=item.feed_content,
                    feed_summary=item.feed_summary,
                    title=item.title,
                    fetch_error=f"extract_error: {type(exc).__name__}",
                )

    async def _page(self, item: Item) -> tuple[bytes | None, str | None, str | None]:
        if not self.fetch_pages:
            return None, None, "article pages not fetched (VEILLE_FETCH_ARTICLES=false)"
        if not item.url.startswith(("http://", "https://")):
            return None, None, "no link"
        try:
            response = await self.fetcher.get(
                item.url, max_bytes=self.max_page_bytes, robots=True, accept=PAGE_ACCEPT
            )
        except FetchError as exc:
            return None, None, str(exc)
        if not response.ok:
            return None, None, response.error()
        return response.body, _charset(response.content_type), None

    def _store(
        self,
        session: Session,
        source: str,
        done: list[tuple[Item, Signed, Prediction | None, Doc]],
    ) -> None:
        hashes = {i.id: d.text_hash for i, d, _, _ in done}
        rows = q.exact_candidates(
            session,
            canonical_urls=[i.canonical_url for i, _, _, _ in done],
            hashes=[h for h in hashes.values() if h],
        )
        known = [dedupe.KnownItem(r[0], r[1], r[2], r[3], r[4]) for r in rows]
        story_of: dict[int, int | None] = {r[0]: r[5] for r in rows}
        updates: list[tuple[int, dict[str, object]]] = []
        for item, signed, pred, doc in done:
            ext, sig = signed.ext, signed.sig
            values = _extraction_values(ext, self.now)
            values["doc_title"] = doc.title  # with text, summary, lang: what was scored
            values["content_hash"] = hashes[item.id]
            story_id = self._story(session, item, sig, source, hashes[item.id], known, story_of)
            values["story_id"] = story_id
            values["minhash"] = sig
            if not item.image and ext.image and ext.image.startswith(("http://", "https://")):
                values["image"] = ext.image
            if pred is not None:
                values.update(
                    labels=list(pred.labels),
                    scores=dict(pred.scores),
                    unsure=list(pred.unsure),
                    model_version=pred.model_version,
                    classified_at=self.now,
                )
                for topic in pred.labels:
                    metrics.CLASSIFIED.labels(topic=topic).inc()
            updates.append((item.id, values))
            metrics.EXTRACTIONS.labels(kind=ext.kind).inc()
            self.counts[ext.kind] = self.counts.get(ext.kind, 0) + 1
            # A copy known to this run joins the story of the first telling.
            if hashes[item.id]:
                known.append(
                    dedupe.KnownItem(
                        item.id, source, item.guid, item.canonical_url, hashes[item.id]
                    )
                )
            story_of[item.id] = story_id
        # The source's items in one statement, then each story they touched settled once.
        q.update_items(session, rows=updates)
        self._settle_stories(session, {v["story_id"] for _, v in updates})

    def _story(
        self,
        session: Session,
        item: Item,
        sig: bytes | None,
        source: str,
        digest: str | None,
        known: list[dedupe.KnownItem],
        story_of: dict[int, int | None],
    ) -> int:
        """The story an item joins: an exact copy's, else a near duplicate's, else its own."""
        published = item.published_at or item.first_seen_at
        match = dedupe.find_exact(
            source=source,
            guid=item.guid,
            canonical_url=item.canonical_url,
            content_hash=digest,
            known=[k for k in known if k.item_id != item.id],
        )
        story_id = story_of.get(match.item_id) if match else None
        index = self._story_index()
        if story_id is None and sig is not None:
            story_id = index.find(sig, published, source, self.window)
        if story_id is None:
            story_id = q.new_story(session, now=self.now)
        if sig is not None:
            index.add(item.id, story_id, sig, published, source)
        return story_id

    def _settle_stories(self, session: Session, story_ids: set[int]) -> None:
        members = q.stories_members(session, story_ids=story_ids)
        settled = []
        for story_id, rows in members.items():
            chosen = dedupe.choose_representative(
                [dedupe.StoryMember(i, p, n, pr) for i, p, n, pr in rows]
            )
            settled.append((story_id, chosen, len(rows)))
        q.set_stories(session, rows=settled, now=self.now)

    @staticmethod
    def _classify(model: Classifier | None, docs: list[Doc]) -> list[Prediction | None]:
        if model is None:
            return [None] * len(docs)
        return list(model.predict(docs))


@dataclass(frozen=True, slots=True)
class Signed:
    """An item's extraction with the keys dedupe needs, all computed in the worker."""

    ext: Extraction
    sig: bytes | None  # MinHash signature
    text_hash: str | None  # exact-copy key of the text


def extract_and_sign(html: bytes | None, **kwargs: object) -> Signed:
    """Runs in an extraction worker: the text, its MinHash signature and its exact-copy
    hash, pure functions of the text that would otherwise cost the writer thread (and the
    main process's one core) about 14 ms an item."""
    _import_stages()
    ext = extract.extract_item(html, **kwargs)  # type: ignore[arg-type]
    title = ext.title or str(kwargs.get("title") or "")
    sig = dedupe.signature(ext.text, title) if ext.text else None
    return Signed(ext, sig, dedupe.canonical_text_hash(ext.text) or None)


def _import_stages() -> None:
    """Bind the extraction and dedupe stages on first use: importing them (trafilatura,
    datasketch, scipy) costs most of a second, which a run where every source answers 304
    never pays. The pull's own process needs only dedupe (`_import_dedupe`): extraction runs
    in the workers, and here only when a worker died."""
    global dedupe, extract
    from veille import dedupe, extract


def _import_dedupe() -> None:
    global dedupe
    from veille import dedupe


def _extraction_values(ext: Extraction, now: datetime) -> dict[str, object]:
    return {
        "text": ext.text,
        "html_excerpt": ext.html_excerpt,
        "extraction": ext.kind,
        "extraction_reason": ext.reason[:500],
        "lang": ext.lang,
        "summary": ext.summary,
        "author": ext.author,
        "site_name": ext.site_name,
        "extracted_at": now,
    }


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip("\"' ")
    return None
