"""The review queue through the app on SQLite and PostgreSQL: order, filters, search, actions
with who and when, undo, and the card the page's script swaps in."""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from tests.e2e.seed import Seeded, login, seed, use_light_hashing
from veille import classify
from veille.settings import Settings
from veille.store import reviews, session_scope, utcnow
from veille.store.db import open_store
from veille.store.models import Item, Review
from veille.web.app import create_app
from veille.web.review import parse_query

FETCH = {"X-Requested-With": "fetch"}


@pytest.fixture
def site(
    settings: Settings, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, Seeded, str]]:
    use_light_hashing(monkeypatch)
    app = create_app(settings.model_copy(update={"database_url": db_url}))
    seeded = seed(app.state.engine)
    with TestClient(app, follow_redirects=False) as client:
        token = login(client)
        yield client, seeded, token
    app.state.engine.dispose()


def _ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<article class="card[^"]*" id="item-(\d+)"', html)]


def _item(client: TestClient, item_id: int) -> Item:
    with session_scope(client.app.state.engine) as s:
        return s.get(Item, item_id)


def test_queue_follows_the_classifier_review_order(site) -> None:  # noqa: ANN001
    client, seeded, _ = site
    shown = _ids(client.get("/review").text)
    with session_scope(client.app.state.engine) as s:
        rows = s.exec(
            select(Item.id, Item.scores, Item.source_id).order_by(Item.first_seen_at.desc())
        ).all()
    thresholds = client.app.state.model.thresholds()
    expected = classify.review_order(
        [classify.ReviewCandidate(id=i, scores=sc, source=str(src)) for i, sc, src in rows],
        thresholds,
    )
    assert shown == list(expected) and len(shown) == 5
    newest = _ids(client.get("/review?sort=newest").text)
    assert newest == [seeded.items[k] for k in ("repair", "repair-bis", "budget", "osm", "phone")]
    assert _ids(client.get("/review?sort=oldest").text) == newest[::-1]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("topic=open_collaboration", {"osm"}),
        ("topic=collaborative_consumption&lang=en", {"repair-bis"}),
        ("band=unsure", {"budget"}),
        ("band=confident&lang=fr", {"repair", "phone"}),
        ("source={osm}", {"repair-bis", "osm"}),
        ("since={d2}", {"repair", "repair-bis", "budget"}),
        ("until={d3}", {"osm", "phone"}),
        ("q=repair", {"repair", "repair-bis"}),
        ("q=habitants+votent", {"budget"}),
        ("q=mapp", {"osm"}),  # the last word is a prefix
        ("q=%22NEAR(%29+OR+*", set()),  # FTS syntax typed by a user is plain words
        ("topic=nonsense&band=nonsense&source=x&lang=xx&since=2020-99-99&page=-3", None),
    ],
)
def test_filters_and_search(site, query: str, expected: set[str] | None) -> None:  # noqa: ANN001
    client, seeded, _ = site
    today = utcnow().date()
    query = query.format(
        osm=seeded.sources["osm"], d2=today - timedelta(days=2), d3=today - timedelta(days=3)
    )
    reply = client.get(f"/review?sort=newest&{query}")
    assert reply.status_code == 200
    names = {k for k, v in seeded.items.items() if v in _ids(reply.text)}
    assert names == (expected if expected is not None else set(seeded.items))


def test_corrections_record_who_and_when_and_undo_in_reverse(site) -> None:  # noqa: ANN001
    client, seeded, token = site
    budget, osm = seeded.items["budget"], seeded.items["osm"]

    def act(item: int, action: str, **data: str) -> int:
        return client.post(
            f"/review/items/{item}/{action}", data={"csrf_token": token, **data}
        ).status_code

    assert act(budget, "toggle", topic="open_collaboration") == 303
    item = _item(client, budget)
    assert item.curator_labels == ["social_innovation", "open_collaboration"]
    assert item.reviewed_by == "ana" and item.reviewed_at is not None
    assert item.labels == ["social_innovation"]  # the prediction stays for comparison
    assert act(budget, "offtopic") == 303
    assert _item(client, budget).curator_labels == []
    assert act(osm, "accept") == 303
    assert _item(client, osm).curator_labels == ["open_collaboration"]
    assert act(osm, "exclude") == 303 and act(osm, "pin") == 303
    # Pinning an excluded item takes it back into the digest: the two never hold together.
    assert (_item(client, osm).excluded, _item(client, osm).pinned) == (False, True)
    reviewed = client.get("/review?sort=newest").text
    assert budget not in _ids(reviewed) and osm not in _ids(reviewed)
    assert {budget, osm} <= set(_ids(client.get("/review?reviewed=yes").text))

    def undo() -> int:
        return client.post("/review/undo", data={"csrf_token": token}, headers=FETCH).status_code

    assert [undo() for _ in range(3)] == [200, 200, 200]  # pin, exclude, accept
    osm_now = _item(client, osm)
    assert (osm_now.excluded, osm_now.pinned, osm_now.curator_labels) == (False, False, None)
    assert osm_now.reviewed_at is None and osm_now.reviewed_by is None
    assert [undo() for _ in range(3)] == [200, 200, 204]  # off-topic, toggle, nothing left
    budget_now = _item(client, budget)
    assert budget_now.curator_labels is None and budget_now.reviewed_at is None
    with session_scope(client.app.state.engine) as s:
        actions = list(s.exec(select(Review.action).order_by(Review.id)))
    assert actions == ["labels", "labels", "accept", "exclude", "pin"] + ["undo"] * 5


def test_the_script_gets_the_fresh_card(site) -> None:  # noqa: ANN001
    client, seeded, token = site
    repair = seeded.items["repair"]
    reply = client.post(
        f"/review/items/{repair}/toggle",
        headers=FETCH,
        data={"csrf_token": token, "topic": "social_innovation"},
    )
    assert reply.status_code == 200 and reply.headers["x-item-id"] == str(repair)
    assert reply.text.lstrip().startswith(f'<article class="card done" id="item-{repair}"')
    assert re.search(r'value="social_innovation" class="topic t1" aria-pressed="true"', reply.text)
    assert "Relu par ana" in reply.text
    header_only = client.post(
        f"/review/items/{repair}/pin", headers={"X-CSRF-Token": token, **FETCH}
    )
    assert header_only.status_code == 200 and "épinglé" in header_only.text


def test_item_page_shows_the_story_and_only_safe_links(site) -> None:  # noqa: ANN001
    client, seeded, _ = site
    page = client.get(f"/review/items/{seeded.items['repair']}").text
    assert "1 autre source" in page and 'href="https://news.example.net/melle"' in page
    assert "Repair café in Melle" in page
    # Where the text came from, in words (it read "Extraction : article (-)").
    assert "Texte\u00a0: la page de l’article" in page and "(-)" not in page
    phone = client.get(f"/review/items/{seeded.items['phone']}").text
    assert "javascript:" not in phone
    assert client.get(f"/review/items/{seeded.items['phone']}/why").status_code == 200


def test_parse_query_clamps_everything() -> None:
    filters, sort, page = parse_query({"page": "999999999", "sort": "random", "q": "x" * 999})
    assert (sort, page, len(filters.q)) == ("useful", 10_000, 200)
    assert parse_query({"until": "2026-11-25"})[0].until.day == 26  # the whole day counts


def test_postgres_search_uses_the_gin_index(pg_url: str) -> None:
    """The search expression must be the one migration 0002 indexed, or the index is unused."""
    migration = importlib.import_module("veille.store.migrations.versions.0002_full_text_search")
    assert reviews.PG_DOCUMENT == migration.PG_DOCUMENT
    engine = open_store(pg_url)
    with session_scope(engine) as s:
        s.connection().exec_driver_sql("SET enable_seqscan = off")
        query = reviews._matching(s, reviews.QueueFilter(q="commun libre", reviewed="all"), Item.id)
        compiled = query.compile(engine)
        explain = s.connection().exec_driver_sql(f"EXPLAIN {compiled}", compiled.params)
        plan = "\n".join(row[0] for row in explain)
    engine.dispose()
    assert "ix_item_fts" in plan, plan


def test_a_search_covers_reviewed_items_and_marks_them(site) -> None:  # noqa: ANN001
    client, seeded, token = site
    repair = seeded.items["repair"]
    client.post(f"/review/items/{repair}/accept", data={"csrf_token": token})
    assert repair not in _ids(client.get("/review").text)  # the queue: not yet reviewed
    found = client.get("/review?q=repair").text
    assert repair in _ids(found)  # a search: every item, the reviewed one marked
    assert "déjà relu" in found and "relus et pas encore relus" in found
    assert repair not in _ids(client.get("/review?q=repair&reviewed=no").text)


def test_why_panel_names_the_source_s_offset_with_its_judgements(site) -> None:  # noqa: ANN001
    """Curators judged five items of the OSM blog off-topic: the panel of its item shows the
    source's adjustment as one more term, counted; an item of a source nobody judged does
    not have it."""
    client, seeded, _ = site
    when = utcnow() - timedelta(hours=3)
    with session_scope(client.app.state.engine) as s:
        for n in range(5):
            s.add(
                Item(
                    source_id=seeded.sources["osm"],
                    guid=f"judged-{n}",
                    url=f"https://blog.example.org/{n}",
                    canonical_url=f"https://blog.example.org/{n}",
                    title=f"Repair café et covoiturage {n}",
                    text="Des voisins réparent et partagent leurs trajets.",
                    lang="fr",
                    extraction="article",
                    first_seen_at=when,
                    updated_at=when,
                    curator_labels=[],
                    reviewed_at=when + timedelta(minutes=n),
                    reviewed_by="marie",
                )
            )
    why = client.get(f"/review/items/{seeded.items['repair-bis']}/why").text
    assert why.count("ajustement de la source d’après 5 jugements") == 3  # each topic
    assert 'class="down source"' in why
    page = client.get(f"/review/items/{seeded.items['repair-bis']}").text
    assert "ajustement de la source d’après 5" in page
    other = client.get(f"/review/items/{seeded.items['repair']}/why").text
    assert "ajustement de la source" not in other and "<li" in other
    # Scored by the serving model two minutes into the judgements: only the three made by
    # then count, as they did for the score stored (and later judgements do not change it).
    with session_scope(client.app.state.engine) as s:
        item = s.get(Item, seeded.items["repair-bis"])
        item.model_version = client.app.state.model.current().version
        item.classified_at = when + timedelta(minutes=2)
        s.add(item)
    why = client.get(f"/review/items/{seeded.items['repair-bis']}/why").text
    assert why.count("ajustement de la source d’après 3 jugements") == 3
