"""The learning loop: one document per item (pull = reclassify = explanations), promotion on
the same fresh evidence, retraining without ../shared from the shipped seed vectors, and the
items not yet in a digest re-scored after a promotion."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from typer.testing import CliRunner

from tests.classify_data import FIXTURES, tiny_examples, tiny_result
from tests.localweb import LocalWeb
from tests.test_pipeline_refresh import OTHER, STORY, _feed, _page
from veille import pipeline
from veille.classify import (
    artefacts,
    history,
    load_model,
    promotion,
    save_and_maybe_promote,
    seedvectors,
)
from veille.classify import examples as seed_files
from veille.classify.explain import contributions, log_odds
from veille.cli import _register, app
from veille.pipeline.retrain import retrain
from veille.settings import Settings
from veille.store import Digest, Item, Source, session_scope
from veille.store.labels import doc_of
from veille.types import TOPICS, Doc, Example

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
_register()
T0 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def test_pull_scores_equal_reclassify_and_explanations_add_up_to_them(
    web: LocalWeb,
    sqlite_engine: Engine,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = settings.model_copy(update={"fetch_articles": True, "extract_workers": 1})
    # The feed's titles differ from the pages' own: the page's wins, and is what is stored.
    web.route("/a/epicerie", _page("Saint-Aubin rachète son épicerie", STORY, "Le Courrier"))
    web.route("/a/routes", _page("Le budget des routes", OTHER, "Le Courrier"))
    spec = _feed(
        web,
        "courrier",
        [
            ("Brève", "/a/epicerie", "Une SCIC pour l'épicerie."),
            ("Conseil départemental", "/a/routes", "La rocade nord."),
            ("Page disparue", "/a/gone", "Le texte du flux reste disponible pour cet article."),
        ],
    )
    pipeline.pull(sqlite_engine, settings, specs=(spec,), now=NOW)
    with session_scope(sqlite_engine) as s:
        items = {i.url.rsplit("/", 1)[-1]: i for i in s.exec(select(Item))}
    assert items["epicerie"].title == "Brève"
    assert items["epicerie"].doc_title == "Saint-Aubin rachète son épicerie"
    assert items["gone"].doc_title == "Page disparue"  # no page: the feed's title
    pulled = {i.id: i.scores for i in items.values()}
    assert all(set(scores) == set(TOPICS) for scores in pulled.values())

    # `veille reclassify` with the same model gives the same scores to the digit.
    monkeypatch.setenv("VEILLE_DATABASE_URL", str(sqlite_engine.url))
    monkeypatch.setenv("VEILLE_MODELS_DIR", str(settings.models_dir))
    ran = CliRunner().invoke(app, ["reclassify", "--days", "3650"])
    assert ran.exit_code == 0, ran.output
    assert "3 items of the last 3650 days, 0 changed topic" in ran.output
    with session_scope(sqlite_engine) as s:
        again = {i.id: (i.scores, doc_of(i)) for i in s.exec(select(Item))}
    assert {k: v[0] for k, v in again.items()} == pulled

    # Each explanation's terms and base add up to the log-odds of the score shown.
    model = load_model(settings.models_dir)
    for scores, doc in again.values():
        exact = model.scores([doc])[0]
        for j, topic in enumerate(TOPICS):
            assert round(float(exact[j]), 4) == scores[topic]
            shares, base = contributions(model, doc, topic, function_words=True)
            assert sum(shares.values()) + base == pytest.approx(log_odds(exact[j]), abs=1e-6)


@pytest.fixture
def tiny_seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A shipped seed made of the tiny model and its examples' vectors; no ../shared."""
    seed = tmp_path / "seed"
    save_and_maybe_promote(tiny_result(), seed, T0, force=True)
    found = seedvectors.export(load_model(seed), list(tiny_examples()), seed / seedvectors.FILE)
    assert found["rows"] == len(tiny_examples())
    monkeypatch.setattr(artefacts, "SEED_DIR", seed)
    monkeypatch.setattr(seed_files, "SEED_LABELS", tmp_path / "absent" / "train.jsonl")
    return seed


def _curate(engine: Engine, count: int, start: datetime = T0) -> list[int]:
    """`count` curator-judged items (the tiny examples' texts, as new pages)."""
    examples = list(tiny_examples())
    ids = []
    with session_scope(engine) as s:
        src = s.exec(select(Source).where(Source.name == "Curated")).first()
        if src is None:
            src = Source(name="Curated", url="https://c.example/feed", created_at=start)
            s.add(src)
            s.flush()
        for n in range(count):
            e = examples[n % len(examples)]
            item = Item(
                source_id=src.id,
                guid=f"c{start.isoformat()}-{n}",
                url=f"https://c.example/{start.date()}/{n}",
                canonical_url=f"https://c.example/{start.date()}/{n}",
                title=e.doc.title,
                text=e.doc.text,
                lang=e.doc.lang,
                extraction="article",
                first_seen_at=NOW - timedelta(days=1),
                updated_at=NOW,
                curator_labels=list(e.labels),
                reviewed_at=start + timedelta(minutes=n),
                reviewed_by="marie",
            )
            s.add(item)
            s.flush()
            ids.append(int(item.id))
    return ids


def test_retrain_without_shared_uses_the_seed_vectors_and_judges_on_fresh_items(
    sqlite_engine: Engine, tiny_seed: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    ids = _curate(sqlite_engine, 40)
    with session_scope(sqlite_engine) as s:  # one of them already went out in a digest
        s.add(Digest(date="2026-11-24", created_at=NOW, entries=[{"item_id": ids[0]}]))
    done = retrain(sqlite_engine, models, NOW)
    assert f"{len(tiny_examples())} seed items as shipped vectors" in done.note
    assert "30 recent judged items held back" in done.note
    assert done.result.sizes["seed_vectors"] == len(tiny_examples())
    assert done.result.sizes["curated"] == 10  # the 30 most recent are the evidence
    evidence = done.decision.evidence
    assert evidence is not None and evidence.items == 30
    assert evidence.candidate is not None and evidence.current is not None
    entry = history(models)[0]
    assert entry["evidence"] == {
        "items": 30,
        "candidate": evidence.candidate,
        "current": evidence.current,
    }
    assert entry["code"] in ("better", "worse")
    assert done.decision.promoted == (evidence.candidate >= evidence.current - 0.01)

    forced = retrain(sqlite_engine, models, NOW + timedelta(hours=1), force=True)
    assert forced.decision.promoted and forced.rescored is not None
    model = load_model(models)
    assert model.version == forced.decision.version and model.fitted is None  # .npz only
    assert not (models / f"{model.version}.skops").exists()
    # Every item still to be sent was re-scored with it, curators' labels untouched; the one
    # already in a digest was left as it went out.
    assert forced.rescored["items"] == 39
    with session_scope(sqlite_engine) as s:
        rows = {i.id: i for i in s.exec(select(Item))}
    assert rows[ids[0]].model_version is None
    assert {rows[i].model_version for i in ids[1:]} == {model.version}
    assert all(rows[i].curator_labels is not None for i in ids)
    listed = history(models)[0]["rescored"]
    assert listed["items"] == 39 and listed["changed"] == len(listed["list"])
    assert all(set(c) == {"id", "title", "before", "after", "reviewed"} for c in listed["list"])


def test_the_held_back_items_are_the_most_recent_fresh_ones() -> None:
    examples = list(tiny_examples())
    judged = [
        promotion.Judged(
            Example(f"k{n}", examples[n % 52].doc, examples[n % 52].labels, url=f"u{n}"),
            T0 + timedelta(minutes=n),
        )
        for n in range(100)
    ]
    train, held = promotion.split(judged, trained_until=None)
    assert [e.key for e in held] == [f"k{n}" for n in range(70, 100)]  # max(30, 25% of 100)
    assert len(train) == 70 and not {e.key for e in train} & {e.key for e in held}
    # Judged before the current model was trained, or a page it trained on: not fresh.
    until = T0 + timedelta(minutes=59)
    train, held = promotion.split(judged, trained_until=until, seen=lambda e: e.key == "k99")
    assert [e.key for e in held] == [f"k{n}" for n in range(69, 99)]
    few, none = promotion.split(judged, trained_until=T0 + timedelta(minutes=80))
    assert none == [] and len(few) == 100  # 19 fresh: too few, all train
    verdict = promotion.decide(promotion.Evidence(19, None, None), has_current=True)
    assert not verdict.promoted and "19 judged items" in verdict.reason


def test_the_figure_counts_topics_absent_from_a_small_sample() -> None:
    truth = [("social_innovation",), ()]
    assert promotion.figure(truth, truth) == 1.0
    # Calling the off-topic item open collaboration costs on that topic and on off-topic.
    assert promotion.figure(truth, [("social_innovation",), ("open_collaboration",)]) == 0.5


def test_seed_vectors_round_trip_and_refuse_another_model(tmp_path: Path) -> None:
    model = tiny_result().model
    model.version = "tiny"
    path = tmp_path / "v.npz"
    seedvectors.export(model, list(tiny_examples()), path)
    back = seedvectors.load(path, model)
    exact = model.linear.features.transform([e.doc for e in tiny_examples()]).toarray()
    assert np.allclose(back.rows.toarray(), exact, rtol=0.02, atol=1e-4)
    assert back.truth.tolist() == [[t in e.labels for t in TOPICS] for e in tiny_examples()]
    assert back.sources == [e.source for e in tiny_examples()]
    assert b"repair" not in path.read_bytes().lower()  # no text in it
    other = tiny_result().model
    other.version = "other"
    with pytest.raises(artefacts.ModelError, match="made with seed model tiny, not other"):
        seedvectors.load(path, other)
    path.write_bytes(b"not a zip")
    with pytest.raises(artefacts.ModelError, match="unreadable seed vectors"):
        seedvectors.load(path, model)


def test_one_document_function_for_every_reader() -> None:
    line = json.dumps({"id": 1, "title": "T", "text": "corps", "summary": "S", "lang": "fr"})
    record = seed_files.parse_line(1, line)
    assert isinstance(record, seed_files.Record)
    assert record.doc == Doc(title="T", text="corps", summary="S", lang="fr")
    item = Item(
        source_id=1,
        guid="g",
        url="u",
        canonical_url="u",
        title="Feed title",
        doc_title="Page title",
        text="corps",
        summary="S",
        feed_summary="ignored once extracted",
        lang="fr",
        first_seen_at=NOW,
        updated_at=NOW,
    )
    assert doc_of(item) == Doc(title="Page title", text="corps", summary="S", lang="fr")


def test_train_export_seed_writes_vectors_of_the_shipped_seed_model(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    labels = tmp_path / "labels.jsonl"
    labels.write_text(
        "".join(json.dumps({"id": e.key, "labels": list(e.labels)}) + "\n" for e in tiny_examples())
    )
    out = tmp_path / "seed_vectors.npz"
    monkeypatch.setenv("VEILLE_DATA_DIR", str(settings.data_dir))
    ran = CliRunner().invoke(
        app,
        ["train", "--export-seed", str(out), "--labels", str(labels)]
        + ["--corpus", str(FIXTURES / "items.jsonl")],
    )
    assert ran.exit_code == 0, ran.output
    seed = load_model(artefacts.SEED_DIR)
    assert f"{out}: {len(tiny_examples())} seed items" in ran.output
    assert f"vocabulary of model {seed.version}" in ran.output
    vectors = seedvectors.load(out, seed)
    assert vectors.rows.shape == (len(tiny_examples()), seed.linear.weights.shape[0])
    assert not (settings.data_dir / "models").exists()  # nothing trained
