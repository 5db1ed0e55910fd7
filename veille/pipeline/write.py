"""The one write of a refresh: everything a source brought, in one transaction.

Under the story-filing lock (store.stories.lock_filing: two processes filing near
duplicates at once see each other's stories), in this order:

1. GUIDs stored meanwhile (a retried or concurrent refresh of the source) are dropped;
2. each item's story is chosen (decide.choose_story: an exact copy's, else a near
   duplicate's among the band candidates the store returns, else a new story);
3. new items are inserted complete, items an earlier run left unextracted are completed
   (only where still unextracted), their band keys filed, each touched story settled;
4. the source's schedule and its reader's fetch state are set.

Nothing here is re-read by id and updated later: a run stopped before the commit leaves
nothing, and the next run does the whole source again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session

from veille import dedupe, metrics
from veille.pipeline import decide
from veille.store import Source, session_scope
from veille.store import stories as q
from veille.store.items import existing_guids, insert_new_items
from veille.store.sources import update_source

if TYPE_CHECKING:
    from veille.pipeline.offsets import SourceOffset
    from veille.pipeline.refresh import Extracted
    from veille.pipeline.run import Classifier, Run
    from veille.sources.readers import SourceRead


def save(
    run: Run,
    source: Source,
    got: SourceRead | None,
    ready: list[Extracted],
    model: Classifier | None,
    offset: SourceOffset | None = None,
) -> list[int]:
    """Write what one refresh brought (`got` None: only items left unextracted), its items
    scored with the source's `offset`; returns the ids of the new items."""
    extracted = [e for e in ready if e.signed is not None]
    docs = [decide.classifier_input(e.work.title, e.signed.ext) for e in extracted]  # type: ignore[union-attr]
    delta = offset.delta if offset is not None else None
    scored = list(model.predict(docs, delta)) if model is not None and docs else [None] * len(docs)
    values: dict[int, dict[str, object]] = {}
    for e, doc, prediction in zip(extracted, docs, scored, strict=True):
        assert e.signed is not None
        values[e.work.key] = decide.extracted_values(
            e.signed.ext,
            doc,
            text_hash=e.signed.text_hash,
            sig=e.signed.sig,
            image=(e.row or {}).get("image") if e.row else (e.item.image if e.item else None),
            prediction=prediction,
            now=run.now,
        )
    if got is None and not values:
        return []
    with session_scope(run.engine) as session:
        if values:
            q.lock_filing(session)
        if got is not None and any(e.row for e in ready):
            stored = existing_guids(
                session, source_id=source.id, guids=(str(e.row["guid"]) for e in ready if e.row)
            )
            ready = [e for e in ready if e.row is None or e.row["guid"] not in stored]
        if any(e.item for e in ready):  # items another run finished meanwhile are left alone
            pending = q.still_pending(session, ids=(e.work.key for e in ready if e.item))
            ready = [e for e in ready if e.item is None or e.work.key in pending]
        if values:
            _file(session, run, source, ready, values)
        new = insert_new_items(
            session, rows=[{**e.row, **values.get(e.work.key, {})} for e in ready if e.row]
        )
        done = [(e.work.key, values[e.work.key]) for e in ready if e.item and e.work.key in values]
        q.complete_items(session, rows=done)
        if values:
            _index(session, run, ready, values, new)
        if got is not None:
            update_source(
                session,
                source_id=source.id,
                values=decide.after_success(
                    interval=source.interval,
                    state=got.state,
                    warning=got.warning,
                    max_age=got.max_age,
                    now=run.now,
                ),
            )
    for e in ready:
        if e.signed is not None:
            run.count(e.signed.ext.kind)
            metrics.EXTRACTIONS.labels(kind=e.signed.ext.kind).inc()
    for v in values.values():
        for topic in v.get("labels", ()):  # type: ignore[union-attr]
            metrics.CLASSIFIED.labels(topic=topic).inc()
    return list(new.values())


def _file(
    session: Session,
    run: Run,
    source: Source,
    ready: list[Extracted],
    values: dict[int, dict[str, object]],
) -> None:
    """Choose each item's story (sets values[key]["story_id"])."""
    filed = [e for e in ready if e.signed is not None]
    rows = q.exact_candidates(
        session,
        canonical_urls=[_canonical(e) for e in filed],
        hashes=[e.signed.text_hash for e in filed if e.signed and e.signed.text_hash],
    )
    known = [dedupe.KnownItem(r[0], r[1], r[2], r[3], r[4]) for r in rows]
    story_of: dict[int, int | None] = {r[0]: r[5] for r in rows}
    published = {e.work.key: _published(e) for e in filed}
    keys = {k for e in filed for k in e.signed.bands}  # type: ignore[union-attr]
    candidates: list[dedupe.Candidate] = []
    if keys:
        lo, hi = min(published.values()) - run.window, max(published.values()) + run.window
        found = q.band_candidates(session, keys=keys, since=lo, until=hi)
        candidates = [dedupe.Candidate(*r) for r in found]
    sources = q.story_sources(session, story_ids={c.story_id for c in candidates})
    for e in filed:
        assert e.signed is not None
        item = decide.Filing(
            e.work.key,
            _guid(e),
            _canonical(e),
            e.signed.text_hash,
            e.signed.sig,
            published[e.work.key],
        )
        story_id = decide.choose_story(
            item,
            source=source.name,
            known=known,
            story_of=story_of,
            candidates=candidates,
            story_sources=sources,
            window=run.window,
        )
        if story_id is None:
            story_id = q.new_story(session, now=run.now)
        values[e.work.key]["story_id"] = story_id
        sources.setdefault(story_id, set()).add(source.name)
        # A copy known to this write joins the story of the first telling.
        if e.signed.text_hash or item.canonical_url:
            known.append(
                dedupe.KnownItem(
                    item.key, source.name, item.guid, item.canonical_url, e.signed.text_hash
                )
            )
        story_of[item.key] = story_id


def _index(
    session: Session,
    run: Run,
    ready: list[Extracted],
    values: dict[int, dict[str, object]],
    new: dict[str, int],
) -> None:
    """File the band keys of the items just stored and settle each story they touched."""
    bands: list[tuple[int, int, object]] = []
    ids: list[int] = []
    for e in ready:
        if e.signed is None:
            continue
        item_id = new.get(str(e.row["guid"])) if e.row else e.work.key
        if item_id is None:
            continue
        ids.append(item_id)
        keys = e.signed.bands or ((q.NO_BANDS,) if e.signed.sig else ())
        bands.extend((k, item_id, _published(e)) for k in keys)
    q.add_bands(session, rows=bands)  # type: ignore[arg-type]
    touched = {values[e.work.key]["story_id"] for e in ready if e.work.key in values}
    members = q.stories_members(session, story_ids=touched)  # type: ignore[arg-type]
    q.set_stories(session, rows=decide.representatives(members), now=run.now)


def record_failure(run: Run, source: Source, values: dict[str, object]) -> None:
    with session_scope(run.engine) as session:
        update_source(session, source_id=source.id, values=values)


def _guid(e: Extracted) -> str:
    return str(e.row["guid"]) if e.row else e.item.guid  # type: ignore[union-attr]


def _canonical(e: Extracted) -> str:
    return str(e.row["canonical_url"]) if e.row else e.item.canonical_url  # type: ignore[union-attr]


def _published(e: Extracted):  # noqa: ANN202
    if e.row:
        return e.row["published_at"]
    return e.item.published_at or e.item.first_seen_at  # type: ignore[union-attr]
