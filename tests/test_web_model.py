"""Model page: figures, plots and card of a real (small) model, corrections since training,
rollback, and "retrain now" running in the background as the retrain job."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from tests.conftest import shared_path
from tests.e2e.seed import Seeded, login, seed, use_light_hashing
from veille import classify
from veille.classify import artefacts
from veille.pipeline.retrain import retrain_job
from veille.scheduler.runner import JobRunner
from veille.settings import Settings
from veille.store import session_scope, utcnow
from veille.store.models import JobRun
from veille.web import model as model_page
from veille.web.app import create_app


@pytest.fixture(scope="module")
def small_labels(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """240 single-topic or off-topic seed labels (a model in seconds, every class populated
    for cross-validation) and the shared corpus, both read in place."""
    labels = [
        line
        for line in shared_path("labels", "train.jsonl").read_text().splitlines()
        if len(json.loads(line)["labels"]) <= 1
    ]
    random.Random(7).shuffle(labels)
    path = tmp_path_factory.mktemp("labels") / "small.jsonl"
    path.write_text("\n".join(labels[:240]) + "\n")
    return path, shared_path("corpora", "articles.jsonl")


@pytest.fixture(scope="module")
def trained(small_labels: tuple[Path, Path]) -> classify.TrainResult:
    examples, problems, _ = classify.training_examples([], *small_labels)
    assert not problems and len(examples) == 240
    return classify.train(examples, folds=3)


@pytest.fixture
def site(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, Seeded, Path]]:
    use_light_hashing(monkeypatch)
    models = tmp_path / "models"
    app = create_app(settings.model_copy(update={"models_dir": models}))
    seeded = seed(app.state.engine)
    with TestClient(app, follow_redirects=False) as client:
        yield client, seeded, models


def test_before_any_training_the_shipped_seed_model_serves(site) -> None:  # noqa: ANN001
    client, _, models = site
    login(client)
    page = client.get("/model")
    seed = json.loads((artefacts.SEED_DIR / "registry.json").read_text())["current"]
    assert page.status_code == 200 and seed in page.text and not models.exists()
    assert "Le modèle de départ livré avec veille" in page.text
    png = client.get("/model/figures/pr_curves.png")  # the seed's own plots
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")


def test_a_failed_training_is_told_in_french_by_its_kind(site) -> None:  # noqa: ANN001
    client, _, _ = site
    now = utcnow()
    errors = {
        "NotEnoughLabels: not enough labelled items to train (3 in all); pass --labels/--corpus": (
            "Pas assez d’articles jugés pour entraîner un modèle"
        ),
        "RuntimeError: boom in the solver": "L’entraînement a échoué",
    }
    with session_scope(client.app.state.engine) as s:
        for error in errors:
            s.add(
                JobRun(job="retrain", started_at=now, ended_at=now, outcome="failed", error=error)
            )
    login(client)
    page = client.get("/model").text
    for said in errors.values():
        assert said in page
    assert "--labels" not in page and "NotEnoughLabels" not in page and "boom" not in page


def test_figures_plots_card_and_corrections(site, trained) -> None:  # noqa: ANN001
    client, seeded, models = site
    decision = classify.save_and_maybe_promote(trained, models, utcnow(), force=True)
    token = login(client)
    client.post(
        f"/review/items/{seeded.items['budget']}/toggle",
        data={"csrf_token": token, "topic": "open_collaboration"},
    )
    client.post(f"/review/items/{seeded.items['osm']}/accept", data={"csrf_token": token})
    page = client.get("/model").text
    assert decision.version in page
    f1 = trained.metrics["cv"]["topics"]["open_collaboration"]["f1"]
    assert f"<strong>{f1:.2f}</strong>".replace(".", ",") in page
    assert "2 articles jugés par les relecteurs·rices, dont 1 corrige la prédiction" in page
    # Plain French first: what it does, how good in words; the figures are folded below.
    plain, folded = page.split("Les chiffres détaillés")
    assert "Ce que fait le modèle" in plain and "Est-il fiable\u202f?" in plain
    assert "il en retrouve" in plain and "Macro-F1" not in plain and "Rappel" not in plain
    assert "Rappel" in folded
    assert "mis en service par un administrateur (--force)" in page  # not "forced"
    assert "no current model" not in page
    plots = re.findall(r'<img src="/model/figures/([^"]+\.png)"', page)
    assert {"pr_curves.png", "confusion.png"} <= set(plots)
    png = client.get("/model/figures/pr_curves.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    for sneaky in ("registry.json", "..%2Fregistry.json", f"{decision.version}.skops"):
        assert client.get(f"/model/figures/{sneaky}").status_code == 404
    assert "<table>" in page.split("Fiche technique du modèle")[1]  # the card's Markdown table
    assert "Réentraîner maintenant" not in page  # a curator may not


def test_rollback_is_for_admins_and_switches_the_model(site, trained) -> None:  # noqa: ANN001
    client, _, models = site
    first = classify.save_and_maybe_promote(trained, models, utcnow(), force=True).version
    second = classify.save_and_maybe_promote(trained, models, utcnow(), force=True).version
    assert first != second
    token = login(client)
    assert client.post("/model/rollback", data={"csrf_token": token}).status_code == 403
    client.post("/logout", data={"csrf_token": token})
    token = login(client, "root")
    assert client.app.state.model.current().version == second
    reply = client.post("/model/rollback", data={"csrf_token": token})
    assert reply.status_code == 303
    assert json.loads((models / "registry.json").read_text())["current"] == first
    assert client.app.state.model.current().version == first
    page = client.get("/model").text
    assert f"Le modèle courant est maintenant {first}." in page
    client.post("/model/rollback", data={"csrf_token": token})  # past the first: the seed
    assert client.app.state.model.current().version not in (first, second)
    again = client.post("/model/rollback", data={"csrf_token": token})
    assert again.status_code == 303 and "pas de modèle précédent" in client.get("/model").text


def test_retrain_now_runs_in_the_background(site, small_labels) -> None:  # noqa: ANN001
    client, seeded, models = site
    app = client.app
    job = retrain_job(app.state.engine, models, labels=small_labels[0], corpus=small_labels[1])
    app.state.retrainer = model_page.Retrainer(
        JobRunner(app.state.engine), job, on_done=app.state.model.reload
    )
    token = login(client, "root")
    client.post(f"/review/items/{seeded.items['osm']}/offtopic", data={"csrf_token": token})
    assert client.post("/model/retrain", data={"csrf_token": token}).status_code == 303
    assert "Entraînement lancé" in client.get("/model").text
    client.post("/model/retrain", data={"csrf_token": token})
    assert "déjà en cours" in client.get("/model").text or not app.state.retrainer.running
    app.state.retrainer.wait(timeout=120)
    with session_scope(app.state.engine) as s:
        run = s.exec(select(JobRun).where(JobRun.job == "retrain")).one()
    assert run.outcome == "ok", run.error
    assert run.counts["examples"] == 241 and run.counts["curated"] == 1
    # One curator judgement is too little to compare the new model with the seed one.
    assert run.counts["promoted"] == 0 and run.counts["fresh_judged"] == 1
    assert app.state.model.current() is not None
    page = client.get("/model").text
    assert "non promu" in page and "sur 241 articles, dont 1 des relecteurs·rices" in page
    assert (
        "Dernier entraînement non retenu\u00a0: seulement 1 article jugé récemment qu’aucun des "
        "deux modèles n’a appris\u202f; il en faut 30 pour les comparer." in page
    )


def test_the_page_lists_what_a_promotion_re_filed(site, trained) -> None:  # noqa: ANN001
    client, seeded, models = site
    version = classify.save_and_maybe_promote(trained, models, utcnow(), force=True).version
    changed = {
        "id": seeded.items["osm"],
        "title": "OpenStreetMap cartographie les fontaines",
        "before": [],
        "after": ["open_collaboration"],
        "reviewed": False,
    }
    artefacts.record(models, version, rescored={"items": 12, "changed": 1, "list": [changed]})
    login(client)
    page = client.get("/model").text
    assert "Dernier entraînement retenu de force." in page
    assert (
        f"Après la mise en service du modèle {version}, 12 articles pas encore parus dans une "
        "lettre ont été notés à nouveau" in page
    )
    assert "1 a changé de thème" in page
    assert f'href="/review/items/{seeded.items["osm"]}">OpenStreetMap cartographie' in page
    assert "Collaboration ouverte" in page.split("OpenStreetMap cartographie les fontaines")[1]
