"""refresh(run, source): article pages fetched and extracted, stories formed, items stored
complete in one write per source, nothing redone."""

from __future__ import annotations

import importlib
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from tests.localweb import LocalWeb
from veille import pipeline
from veille.settings import Settings
from veille.store import Item, Source, Story, session_scope
from veille.types import TOPICS, SourceSpec

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
STORY = (
    "Les habitants de Saint-Aubin-des-Prés ont racheté l'épicerie du village, menacée de "
    "fermeture depuis le départ à la retraite de son gérant. Cent vingt familles ont pris des "
    "parts dans la coopérative créée pour l'occasion, une SCIC qui associe la commune, les "
    "producteurs des environs et les clients. Le magasin rouvrira en janvier avec un café "
    "associatif et un point relais pour les colis. Les bénévoles assureront l'ouverture le "
    "dimanche matin, jour de marché. La mairie met le local à disposition pour un loyer "
    "symbolique pendant trois ans, le temps que l'activité trouve son équilibre."
)
OTHER = (
    "Le conseil départemental a voté mardi le budget des routes pour l'an prochain. Les "
    "travaux de la rocade nord commenceront au printemps et dureront dix-huit mois selon le "
    "calendrier présenté par le vice-président chargé des mobilités. Une déviation sera mise "
    "en place pendant toute la durée du chantier, et les poids lourds devront emprunter "
    "l'autoroute. Les riverains seront reçus en réunion publique le mois prochain."
)


def _page(title: str, text: str, boilerplate: str) -> bytes:
    paragraphs = "".join(f"<p>{s.strip()}.</p>" for s in text.split(".") if s.strip())
    return (
        f"<!doctype html><html lang='fr'><head><meta charset='utf-8'><title>{title}</title>"
        f"</head><body><nav><a href='/'>Accueil</a> <a href='/agenda'>Agenda</a></nav>"
        f"<article><h1>{title}</h1>{paragraphs}</article>"
        f"<footer><p>{boilerplate}</p></footer></body></html>"
    ).encode()


def _feed(web: LocalWeb, name: str, items: list[tuple[str, str, str]]) -> SourceSpec:
    entries = "".join(
        f"<item><title>{t}</title><link>{web.url(path)}</link><guid>{name}{path}</guid>"
        f"<description>{desc}</description><pubDate>Tue, 24 Nov 2026 09:00:00 GMT</pubDate>"
        "</item>"
        for t, path, desc in items
    )
    body = f"<?xml version='1.0'?><rss version='2.0'><channel><title>{name}</title>{entries}"
    web.route(f"/{name}.xml", body + "</channel></rss>", headers={"ETag": f'"{name}"'})
    return SourceSpec(name=name, url=web.url(f"/{name}.xml"))


def _items(engine: Engine) -> list[tuple[Item, str]]:
    with session_scope(engine) as s:
        query = select(Item, Source.name).join(Source).order_by(Item.id)
        return [(i, n) for i, n in s.exec(query)]


def test_articles_extracted_stories_formed_and_never_redone(
    web: LocalWeb, engine: Engine, settings: Settings
) -> None:
    settings = settings.model_copy(update={"fetch_articles": True, "extract_workers": 1})
    web.route("/a/epicerie", _page("Saint-Aubin rachète son épicerie", STORY, "Le Courrier"))
    web.route("/b/epicerie", _page("Une épicerie coopérative", STORY, "Territoires Infos"))
    web.route("/a/routes", _page("Le budget des routes", OTHER, "Le Courrier"))
    specs = (
        _feed(
            web,
            "courrier",
            [
                ("Saint-Aubin rachète son épicerie", "/a/epicerie", "Une SCIC pour l'épicerie."),
                ("Le budget des routes", "/a/routes", "La rocade nord."),
                ("Page disparue", "/a/gone", "Le texte du flux reste disponible pour cet article."),
            ],
        ),
        _feed(
            web,
            "territoires",
            [
                ("Une épicerie coopérative", "/b/epicerie", "Reprise par les habitants."),
            ],
        ),
    )
    report = pipeline.pull(engine, settings, specs=specs, now=NOW)
    assert report.new_items == 4
    rows = {i.url.rsplit("/", 1)[-1] + "@" + n: i for i, n in _items(engine)}
    epicerie, copy = rows["epicerie@courrier"], rows["epicerie@territoires"]
    assert epicerie.extraction == "article" and epicerie.extraction_reason == "ok"
    assert "Cent vingt familles" in epicerie.text and "Accueil" not in epicerie.text
    assert epicerie.lang == "fr" and 0 < len(epicerie.summary) <= 420
    assert "<script" not in epicerie.html_excerpt
    gone = rows["gone@courrier"]
    assert gone.extraction == "summary" and "404" in (gone.extraction_reason or "")
    assert gone.text.startswith("Le texte du flux")
    # The same story told by two sources is one story; different news is not merged.
    assert epicerie.story_id == copy.story_id != rows["routes@courrier"].story_id
    with session_scope(engine) as s:
        story = s.get(Story, epicerie.story_id)
        assert story is not None and story.size == 2
        assert story.representative_id in {epicerie.id, copy.id}
    assert all(i.minhash for i in (epicerie, copy))
    # Classified with the committed seed model as they were stored.
    assert epicerie.model_version and set(epicerie.scores) == set(TOPICS)
    assert "social_innovation" in epicerie.labels

    page_hits = len(web.hits("/a/epicerie"))
    again = pipeline.pull(engine, settings, specs=specs, force=True, now=NOW)
    assert again.new_items == 0 and again.extractions == {}
    assert len(web.hits("/a/epicerie")) == page_hits  # a re-pull never re-extracts


def test_items_a_stopped_run_left_unextracted_are_picked_up(
    web: LocalWeb, engine: Engine, settings: Settings
) -> None:
    spec = _feed(web, "courrier", [("Le budget des routes", "/a/routes", OTHER)])
    off = settings.model_copy(update={"fetch_articles": False})
    pipeline.pull(engine, off, specs=(spec,), now=NOW)
    with session_scope(engine) as s:  # as if the run had stopped before extraction
        for item in s.exec(select(Item)):
            item.extraction, item.text = None, ""
            s.add(item)
    report = pipeline.pull(engine, off, specs=(replace(spec, url=spec.url),), now=NOW)
    assert report.new_items == 0 and report.extractions == {"summary": 1}
    ((item, _),) = _items(engine)
    assert item.extraction == "summary" and "rocade nord" in item.text


def test_ingest_only_stores_items_and_the_next_pull_enriches_them(
    web: LocalWeb, engine: Engine, settings: Settings
) -> None:
    web.route("/a/epicerie", _page("Saint-Aubin rachète son épicerie", STORY, "Le Courrier"))
    spec = _feed(web, "courrier", [("Saint-Aubin rachète son épicerie", "/a/epicerie", "SCIC")])
    on = settings.model_copy(update={"fetch_articles": True, "extract_workers": 1})
    report = pipeline.pull(engine, on, specs=(spec,), now=NOW, enrich=False)
    assert report.new_items == 1 and report.extractions == {}
    ((item, _),) = _items(engine)
    assert item.extraction is None and item.story_id is None and not item.labels
    assert not web.hits("/a/epicerie")  # no article page fetched by an ingest-only pull
    report = pipeline.pull(engine, on, specs=(spec,), force=True, now=NOW)
    assert report.new_items == 0 and report.extractions == {"article": 1}
    ((item, _),) = _items(engine)
    assert item.extraction == "article" and "Cent vingt familles" in item.text
    assert item.story_id is not None and item.model_version


def test_sources_are_refreshed_a_bounded_number_at_a_time(
    web: LocalWeb, engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A source's items are loaded only when its turn comes, and written before another
    source's are loaded: a large pull does not hold every new item in memory at once."""
    from veille.pipeline import run, write

    refresh = importlib.import_module("veille.pipeline.refresh")  # the module, not the function
    monkeypatch.setattr(run, "SOURCES_IN_FLIGHT", 2)
    open_now, most = 0, 0
    extract, save = refresh._extract, write.save

    async def counted_extract(*args: object, **kwargs: object) -> object:
        nonlocal open_now, most
        open_now += 1
        most = max(most, open_now)
        return await extract(*args, **kwargs)

    def counted_save(*args: object) -> list[int]:
        nonlocal open_now
        try:
            return save(*args)
        finally:
            open_now -= 1

    monkeypatch.setattr(refresh, "_extract", counted_extract)
    monkeypatch.setattr(write, "save", counted_save)
    specs = tuple(
        _feed(web, f"feed{n}", [(f"Article {n}-{k}", f"/{n}/{k}", OTHER) for k in range(3)])
        for n in range(6)
    )
    off = settings.model_copy(update={"fetch_articles": False})
    report = pipeline.pull(engine, off, specs=specs, now=NOW)
    assert report.new_items == 18 and report.extractions == {"summary": 18}
    assert 1 <= most <= 2 and open_now == 0


def _counts(engine: Engine) -> tuple[int, int, int]:
    with session_scope(engine) as s:
        items = s.exec(select(Item)).all()
        stories = s.exec(select(Story)).all()
    return len(items), len(stories), len({i.story_id for i in items})


def test_a_retried_refresh_has_one_effect(
    web: LocalWeb, engine: Engine, settings: Settings
) -> None:
    """A source refreshed again as if its first refresh had never been recorded (a retried
    job: no validators, due again), and twice at once, stores each item and story once."""
    import asyncio

    spec = _feed(
        web,
        "courrier",
        [("Saint-Aubin", "/a/epicerie", STORY), ("Le budget des routes", "/a/routes", OTHER)],
    )
    off = settings.model_copy(update={"fetch_articles": False})
    assert pipeline.pull(engine, off, specs=(spec,), now=NOW).new_items == 2
    first = _counts(engine)
    assert first == (2, 2, 2)
    with session_scope(engine) as s:
        source = s.exec(select(Source)).one()
        source.fetch_state, source.next_fetch_at = {}, None
        s.add(source)
        source_id = source.id
    report = pipeline.refresh_ids(engine, off, [source_id], now=NOW)
    assert (report.ok, report.new_items) == (1, 0)
    assert _counts(engine) == first

    # Twice at once: both copies read the feed before either writes.
    other = _feed(web, "gazette", [("Le budget", "/g/routes", OTHER + " Et encore.")])
    with session_scope(engine) as s:
        from veille.store.sources import sync_sources

        sync_sources(s, specs=(spec, other), now=NOW)
        row = s.exec(select(Source).where(Source.name == "gazette")).one()

    async def twice() -> list[pipeline.SourceOutcome]:
        async with pipeline.open_run(engine, off, now=NOW) as run:
            return await asyncio.gather(pipeline.refresh(run, row), pipeline.refresh(run, row))

    outcomes = asyncio.run(twice())
    assert sorted(o.new_items for o in outcomes) == [0, 1]
    # No second copy and no orphan story (the gazette tells the courrier's routes story).
    assert _counts(engine) == (3, 2, 2)


def test_refresh_ids_refreshes_exactly_those_sources(
    web: LocalWeb, engine: Engine, settings: Settings
) -> None:
    a = _feed(web, "a", [("Le budget des routes", "/a/routes", OTHER)])
    b = _feed(web, "b", [("Saint-Aubin", "/b/epicerie", STORY)])
    off = settings.model_copy(update={"fetch_articles": False})
    with session_scope(engine) as s:
        from veille.store.sources import sync_sources

        sync_sources(s, specs=(a, b), now=NOW)
        ids = {row.name: row.id for row in s.exec(select(Source))}
    report = pipeline.refresh_ids(engine, off, [ids["a"], 999_999], now=NOW)
    assert (report.sources, report.ok, report.new_items) == (1, 1, 1)
    assert [n for _, n in _items(engine)] == ["a"]
    assert not web.hits("/b.xml")


def test_near_duplicates_filed_at_once_by_two_processes_join_one_story(
    web: LocalWeb, engine: Engine, settings: Settings
) -> None:
    """Two runs (threads here, processes in production) file the same news from two
    sources at the same moment: the filing lock and the band index in the database make
    them converge on one story, whichever commits first."""
    from concurrent.futures import ThreadPoolExecutor

    from veille.store.sources import sync_sources

    specs = (
        _feed(web, "courrier", [("Saint-Aubin rachète son épicerie", "/a/epicerie", STORY)]),
        _feed(web, "territoires", [("Une épicerie coopérative", "/b/epicerie", STORY + " Fin.")]),
    )
    off = settings.model_copy(update={"fetch_articles": False})
    with session_scope(engine) as s:
        sync_sources(s, specs=specs, now=NOW)
        ids = [row.id for row in s.exec(select(Source).order_by(Source.name))]
    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(lambda i: pipeline.refresh_ids(engine, off, [i], now=NOW), ids))
    assert [r.new_items for r in reports] == [1, 1]
    rows = _items(engine)
    assert len({i.story_id for i, _ in rows}) == 1
    with session_scope(engine) as s:
        story = s.get(Story, rows[0][0].story_id)
        assert story is not None and story.size == 2
