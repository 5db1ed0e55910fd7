"""Curators merge and split stories from the review page; a later pull keeps their fix and
the next issue shows it (one entry per story)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from tests.e2e.seed import add_user, csrf_of, login, use_light_hashing
from tests.fixtures.digest.seed import seed_items
from tests.localweb import LocalWeb
from tests.test_pipeline_refresh import NOW, OTHER, STORY, _feed, _items, _page
from veille import pipeline
from veille.digest import select as selection
from veille.pipeline import story_fix
from veille.settings import Settings
from veille.store import Item, Review, session_scope
from veille.web.app import create_app


def test_a_later_pull_keeps_the_curators_fix(
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
                ("Saint-Aubin rachète son épicerie", "/a/epicerie", "SCIC"),
                ("Le budget des routes", "/a/routes", "La rocade nord."),
            ],
        ),
        _feed(web, "territoires", [("Une épicerie coopérative", "/b/epicerie", "Reprise.")]),
    )
    pipeline.pull(engine, settings, specs=specs, now=NOW)
    rows = {i.url.rsplit("/", 1)[-1] + "@" + n: i for i, n in _items(engine)}
    epicerie, copy, routes = (
        rows["epicerie@courrier"],
        rows["epicerie@territoires"],
        rows["routes@courrier"],
    )
    assert epicerie.story_id == copy.story_id  # the dedupe merged them
    with session_scope(engine) as s:
        alone = story_fix.split(s, item_id=copy.id, user="ana", now=NOW)
        merged = story_fix.merge(s, item_id=routes.id, other_id=epicerie.id, user="ana", now=NOW)
    assert merged == epicerie.story_id and alone != merged

    # A third source tells the épicerie story; the sources are pulled again, all of them.
    web.route("/c/epicerie", _page("L'épicerie rouvre", STORY, "Ouest Infos"))
    more = (*specs, _feed(web, "ouest", [("L'épicerie rouvre", "/c/epicerie", "Reprise.")]))
    pipeline.pull(engine, settings, specs=more, force=True, now=NOW)
    after = {i.url.rsplit("/", 1)[-1] + "@" + n: i for i, n in _items(engine)}
    assert after["epicerie@territoires"].story_id == alone  # still split
    assert after["routes@courrier"].story_id == after["epicerie@courrier"].story_id == merged
    with session_scope(engine) as s:
        assert {r.action for r in s.exec(select(Review)).all()} == {"merge", "split"}


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, dict]]:
    use_light_hashing(monkeypatch)
    app = create_app(settings)
    ids = seed_items(app.state.engine, NOW)
    add_user(app.state.engine, "ana")
    with TestClient(app, follow_redirects=False) as client:
        login(client, next="/review")
        yield client, ids
    app.state.engine.dispose()


def _entries(client: TestClient) -> list[int]:
    with session_scope(client.app.state.engine) as s:
        plan = selection.plan(s, day=NOW.date(), now=NOW, tz="Europe/Paris")
    return sorted(e.item_id for e in plan.entries)


def test_merge_and_split_from_the_review_page_reach_the_next_issue(site) -> None:  # noqa: ANN001
    client, ids = site
    page = client.get(f"/review/items/{ids['repair']}")
    assert "Même histoire que…" in page.text and "Fusionner" in page.text
    token = csrf_of(page.text)
    before = _entries(client)
    assert ids["repair"] in before and ids["amap"] in before
    with session_scope(client.app.state.engine) as s:
        amap_url = s.get(Item, ids["amap"]).url
    done = client.post(
        f"/review/items/{ids['repair']}/merge", data={"other": amap_url, "csrf_token": token}
    )
    assert done.status_code == 303
    merged = _entries(client)
    assert len(merged) == len(before) - 1 and not {ids["repair"], ids["amap"]} <= set(merged)

    split = client.post(f"/review/items/{ids['epicerie-of']}/split", data={"csrf_token": token})
    assert split.status_code == 303
    assert len(_entries(client)) == len(merged) + 1

    # Nonsense gets one line on the item's page, and changes nothing.
    for other in (str(ids["repair"]), "https://nowhere.example/x", str(ids["amap"])):
        bad = client.post(
            f"/review/items/{ids['repair']}/merge", data={"other": other, "csrf_token": token}
        )
        assert bad.status_code == 303
        shown = client.get(bad.headers["location"]).text
        assert 'role="alert"' in shown, other
    assert len(_entries(client)) == len(merged) + 1
    history = client.get(f"/review/items/{ids['repair']}").text
    assert "merge" in history
