"""Per-source offsets where items are scored: the pull, re-scoring after a promotion,
`veille reclassify` and the "why" panel's terms all use the same offset of the source."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from typer.testing import CliRunner

from tests.localweb import LocalWeb
from tests.test_pipeline_refresh import OTHER, STORY, _feed, _page
from veille import pipeline, store
from veille.classify.artefacts import load_serving
from veille.classify.explain import SOURCE_TERM, contributions, log_odds
from veille.cli import _register, app
from veille.pipeline.offsets import JUDGED, offsets, predict_by_source, source_offset
from veille.pipeline.retrain import rescore
from veille.settings import Settings
from veille.store import Item, Source, open_store, session_scope
from veille.store.labels import doc_of
from veille.store.sources import sync_sources
from veille.types import TOPICS

_register()
T1 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
T2 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
# Pages that read like the topics (a village shop bought as a cooperative); curators of one
# source judge every such item of it off-topic.
PAGES = {
    f"/p/{n}": (f"Épicerie coopérative, épisode {n}", STORY.replace("Saint-Aubin", f"Vaux-{n}"))
    for n in range(4)
}


def _source_id(engine: Engine, name: str) -> int:
    with session_scope(engine) as s:
        return int(s.exec(select(Source.id).where(Source.name == name)).one())


def _judge_off_topic(engine: Engine, source_id: int, count: int, at: datetime) -> None:
    """`count` items of the source, on-topic in their wording, that a curator judged off-topic."""
    with session_scope(engine) as s:
        for n in range(count):
            s.add(
                Item(
                    source_id=source_id,
                    guid=f"judged-{at.isoformat()}-{n}",
                    url=f"https://j.example/{at.date()}/{n}",
                    canonical_url=f"https://j.example/{at.date()}/{n}",
                    title=f"Une SCIC pour l'épicerie {n}",
                    text=STORY.replace("Saint-Aubin", f"Bourg-{n}"),
                    summary="Une coopérative d'habitants rachète l'épicerie.",
                    lang="fr",
                    extraction="article",
                    first_seen_at=at - timedelta(days=1),
                    updated_at=at,
                    curator_labels=[],
                    reviewed_at=at + timedelta(minutes=n),
                    reviewed_by="marie",
                )
            )


def _pulled(engine: Engine, source_id: int) -> dict[int, Item]:
    with session_scope(engine) as s:
        query = select(Item).where(Item.source_id == source_id, Item.reviewed_at.is_(None))
        return {int(i.id): i for i in s.exec(query)}


@pytest.fixture
def pulled(web: LocalWeb, engine: Engine, settings: Settings) -> dict[str, int]:
    """Two sources carrying the same pages: "courrier", whose 12 judged items are all
    off-topic, and "gazette", which no curator judged; pulled at T2."""
    for path, (title, text) in PAGES.items():
        web.route(path, _page(title, text, "Le Courrier"))
    web.route("/p/routes", _page("Le budget des routes", OTHER, "Le Courrier"))
    entries = [(t, p, "Une brève.") for p, (t, _) in PAGES.items()]
    entries.append(("Le budget des routes", "/p/routes", "La rocade nord."))
    specs = (_feed(web, "courrier", entries), _feed(web, "gazette", entries))
    settings = settings.model_copy(update={"fetch_articles": True, "extract_workers": 1})
    with session_scope(engine) as s:
        sync_sources(s, specs=specs, now=T1 - timedelta(days=2))
    courrier = _source_id(engine, "courrier")
    _judge_off_topic(engine, courrier, 12, T1)
    pipeline.pull(engine, settings, specs=specs, now=T2, force=True)
    return {"courrier": courrier, "gazette": _source_id(engine, "gazette")}


def test_a_source_judged_off_topic_gets_its_next_items_scored_lower_at_pull(
    engine: Engine, settings: Settings, pulled: dict[str, int]
) -> None:
    model = load_serving(settings.models_dir)
    lowered = _pulled(engine, pulled["courrier"])
    plain = _pulled(engine, pulled["gazette"])
    assert len(lowered) == len(plain) == len(PAGES) + 1
    by_url = {i.url: i for i in plain.values()}
    j = TOPICS.index("social_innovation")
    for item in lowered.values():
        twin = by_url[item.url]
        assert doc_of(item) == doc_of(twin)  # the same document, scored with and without
        # No judgement of its source: the model's own scores, unchanged.
        raw = model.scores([doc_of(twin)])[0]
        assert [twin.scores[t] for t in TOPICS] == [round(float(p), 4) for p in raw]
        assert all(item.scores[t] <= twin.scores[t] for t in TOPICS)
        assert item.scores["social_innovation"] < twin.scores["social_innovation"]
        assert item.classified_at is not None
    # Filing follows: the model alone files the shop pages under collaborative consumption
    # too (0.29 against a threshold of 0.21); once the source's judgements count, it does not.
    shop = [i for i in plain.values() if "/p/routes" not in i.url]
    assert all("collaborative_consumption" in i.labels for i in shop)
    assert not any("collaborative_consumption" in i.labels for i in lowered.values())
    with session_scope(engine) as s:
        found = source_offset(s, model, pulled["courrier"], until=T2)
        assert source_offset(s, model, pulled["gazette"], until=T2) is None
    assert found is not None and found.judged == 12
    assert found.delta[j] < -1.0 and (found.delta < 0).all()


def test_reclassify_and_rescoring_give_the_pull_s_scores_and_the_terms_add_up_to_them(
    engine: Engine,
    settings: Settings,
    pulled: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stored = {i.id: i.scores for src in pulled.values() for i in _pulled(engine, src).values()}

    # The "why" panel's terms, with the source's offset as one more term, add up to the
    # log-odds of the score stored.
    model = load_serving(settings.models_dir)
    for item in _pulled(engine, pulled["courrier"]).values():
        with session_scope(engine) as s:
            offset = source_offset(s, model, item.source_id, until=item.classified_at)
        assert offset is not None
        exact = model.scores([doc_of(item)], offset.delta)[0]
        for j, topic in enumerate(TOPICS):
            assert round(float(exact[j]), 4) == item.scores[topic]
            shares, base = contributions(
                model, doc_of(item), topic, function_words=True, offset=offset.delta
            )
            assert shares[SOURCE_TERM] == pytest.approx(offset.delta[j])
            assert sum(shares.values()) + base == pytest.approx(log_odds(exact[j]), abs=1e-6)
        terms = dict(model.explain(doc_of(item), "social_innovation", k=3, offset=offset.delta))
        assert terms[SOURCE_TERM] < 0 and len(terms) == 4

    # Re-scoring after a promotion, then `veille reclassify`, with the same model and the
    # same judgements: the same scores to the digit, no topic changed.
    done = rescore(engine, settings.models_dir, T2 + timedelta(hours=1))
    assert done["items"] == len(stored) + 12
    # Only the judged items, stored without the model's labels, changed (curators' calls stay).
    assert done["changed"] == 12 and all(c["reviewed"] for c in done["list"])
    assert again_scores(engine, pulled) == stored
    monkeypatch.setenv("VEILLE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("VEILLE_MODELS_DIR", str(settings.models_dir))
    opened: list[Engine] = []  # the CLI's own engine, closed here (its process would end)

    def opening(url: str) -> Engine:
        opened.append(open_store(url))
        return opened[-1]

    monkeypatch.setattr(store, "open_store", opening)
    ran = CliRunner().invoke(app, ["reclassify", "--days", "3650"])
    for e in opened:
        e.dispose()
    assert ran.exit_code == 0, ran.output
    assert " 0 changed topic" in ran.output
    assert again_scores(engine, pulled) == stored


def again_scores(engine: Engine, pulled: dict[str, int]) -> dict[int, dict[str, float]]:
    return {i.id: i.scores for src in pulled.values() for i in _pulled(engine, src).values()}


def test_only_judgements_made_before_the_items_were_scored_and_after_training_count(
    engine: Engine, settings: Settings, pulled: dict[str, int]
) -> None:
    model = load_serving(settings.models_dir)
    courrier = pulled["courrier"]
    with session_scope(engine) as s:
        before = source_offset(s, model, courrier, until=T2)
    _judge_off_topic(engine, courrier, 5, T2 + timedelta(days=1))  # judged after the pull
    with session_scope(engine) as s:
        same = source_offset(s, model, courrier, until=T2)
        later = source_offset(s, model, courrier, until=None)
        assert source_offset(s, model, courrier, until=T1 - timedelta(hours=1)) is None
    assert before is not None and same is not None and later is not None
    assert same.judged == 12 and np.allclose(same.delta, before.delta)
    assert later.judged == 17 and (later.delta <= before.delta).all()
    assert later.delta[1] < before.delta[1]  # more evidence, further (up to offsets.LIMIT)
    # A model trained on judgements up to T2 counts only those made after.
    training = {"curated": 12, "curated_until": T2.isoformat()}
    model = replace(model, sidecar={**model.sidecar, "training": training})
    assert model.trained_until == T2
    with session_scope(engine) as s:
        assert source_offset(s, model, courrier, until=T2) is None
        assert source_offset(s, model, courrier, until=None).judged == 5  # type: ignore[union-attr]


def test_each_doc_is_scored_with_its_own_source_s_offset(
    engine: Engine, settings: Settings, pulled: dict[str, int]
) -> None:
    model = load_serving(settings.models_dir)
    items = [
        i for src in (pulled["gazette"], pulled["courrier"]) for i in _pulled(engine, src).values()
    ]
    items.sort(key=lambda i: i.url)  # the two sources interleaved
    with session_scope(engine) as s:
        found = offsets(s, model, [i.source_id for i in items] * 2, until=T2)
    assert set(found) == set(pulled.values()) and found[pulled["gazette"]] is None
    scored = predict_by_source(
        model, [doc_of(i) for i in items], [i.source_id for i in items], found
    )
    assert [p.scores for p in scored] == [i.scores for i in items]
    assert JUDGED >= 100  # enough judged items for the offset to settle, few enough to be cheap
