"""The digest preview page: the email as it will be sent, and the curators' edits to it."""

from __future__ import annotations

import email
from collections.abc import Iterator
from datetime import timedelta
from email import policy

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from tests.e2e.seed import Seeded, add_item, login, seed, use_light_hashing
from veille.digest import issue
from veille.settings import Settings
from veille.store import session_scope, utcnow
from veille.store.models import Item, Review, Subscriber
from veille.typography import french
from veille.web.app import create_app

SHARE = {"social_innovation": 0.1, "collaborative_consumption": 0.9, "open_collaboration": 0.1}


@pytest.fixture
def site(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, Seeded, str]]:
    use_light_hashing(monkeypatch)
    app = create_app(settings)
    engine = app.state.engine
    seeded = seed(engine)
    now = utcnow()
    b = seeded.sources["bruded"]
    seeded.items["tools"] = add_item(
        engine,
        b,
        "tools",
        title="Une grainothèque à Niort",
        summary="Des graines à partager.",
        scores=SHARE,
        seen=now - timedelta(hours=3),
    )
    seeded.items["old"] = add_item(
        engine,
        b,
        "old",
        title="Prêt d'outils à Poitiers",
        summary="Une outilthèque ouvre.",
        scores={**SHARE, "collaborative_consumption": 0.6},
        seen=now - timedelta(hours=20),
    )
    with TestClient(app, follow_redirects=False) as client:
        token = login(client)
        yield client, seeded, token


def _order(client: TestClient, *titles: str) -> list[str]:
    html = client.get("/digest/preview/email").text
    # A French issue shows titles with French typography (curly apostrophes, spacing).
    assert all(french(t) in html for t in titles), html[:2000]
    return sorted(titles, key=lambda t: html.index(french(t)))


def _post(client: TestClient, token: str, item: int, action: str, **data: str) -> None:
    reply = client.post(
        f"/digest/preview/items/{item}/{action}", data={"csrf_token": token, **data}
    )
    assert reply.status_code == 303, reply.text
    assert reply.headers["location"] == f"/digest/preview#entry-{item}"


def test_login_required_and_page_in_french(site) -> None:  # noqa: ANN001
    client, seeded, _ = site
    anonymous = TestClient(client.app, follow_redirects=False)
    assert anonymous.get("/digest/preview").headers["location"].startswith("/login?next=")
    page = client.get("/digest/preview")
    assert page.status_code == 200
    assert "Aperçu de la lettre" in page.text and "Épingler" in page.text
    assert 'src="/digest/preview/email?lang=fr"' in page.text
    email_page = client.get("/digest/preview/email")
    assert "frame-ancestors 'self'" in email_page.headers["content-security-policy"]
    assert "Une grainothèque à Niort" in email_page.text
    client.get("/lang/en?next=/digest/preview")
    english = client.get("/digest/preview")
    assert "Digest preview" in english.text and "Exclude" in english.text


def test_pin_moves_an_entry_first_and_is_recorded(site) -> None:  # noqa: ANN001
    client, seeded, token = site
    titles = ("Une grainothèque à Niort", "Prêt d'outils à Poitiers")
    assert _order(client, *titles)[0] == titles[0]
    _post(client, token, seeded.items["old"], "pin")
    assert _order(client, *titles)[0] == titles[1]
    with session_scope(client.app.state.engine) as s:
        rows = s.exec(select(Review).where(Review.item_id == seeded.items["old"])).all()
        assert [(r.action, r.user, r.after["pinned"]) for r in rows] == [("pin", "ana", True)]


def test_move_down_sets_the_curators_order(site) -> None:  # noqa: ANN001
    client, seeded, token = site
    titles = ("Une grainothèque à Niort", "Prêt d'outils à Poitiers")
    first = _order(client, *titles)[0]
    key = "tools" if first == titles[0] else "old"
    _post(client, token, seeded.items[key], "down")
    assert _order(client, *titles)[1] == first
    with session_scope(client.app.state.engine) as s:
        assert s.get(Item, seeded.items[key]).digest_rank is not None
        actions = {r.action for r in s.exec(select(Review)).all()}
    assert actions == {"rank"}


def test_exclude_removes_the_entry_from_the_email(site) -> None:  # noqa: ANN001
    client, seeded, token = site
    assert "Une grainothèque à Niort" in client.get("/digest/preview/email").text
    _post(client, token, seeded.items["tools"], "exclude")
    assert "Une grainothèque à Niort" not in client.get("/digest/preview/email").text
    page = client.get("/digest/preview").text
    entries, excluded = page.split('id="excluded"')
    assert "Une grainothèque à Niort" not in entries and "Une grainothèque à Niort" in excluded
    # "Défaire" in the list of excluded entries puts it back.
    _post(client, token, seeded.items["tools"], "exclude")
    assert "Une grainothèque à Niort" in client.get("/digest/preview/email").text
    assert "Aucun sujet exclu." in client.get("/digest/preview").text


def test_preview_actions_answer_the_page_to_the_script(site) -> None:  # noqa: ANN001
    client, seeded, token = site
    item = seeded.items["tools"]
    answer = client.post(
        f"/digest/preview/items/{item}/pin",
        data={"csrf_token": token},
        headers={"X-Requested-With": "fetch"},
    )
    assert answer.status_code == 200  # no redirect: the script redraws from this page
    assert 'id="entries"' in answer.text and 'id="excluded"' in answer.text
    assert f'id="entry-{item}"' in answer.text and "Désépingler" in answer.text
    plain = client.post(f"/digest/preview/items/{item}/pin", data={"csrf_token": token})
    assert plain.status_code == 303  # without the script: post, redirect, reload


def test_pin_and_exclude_are_exclusive(site) -> None:  # noqa: ANN001
    client, seeded, token = site
    item = seeded.items["tools"]
    engine = client.app.state.engine
    _post(client, token, item, "pin")
    _post(client, token, item, "exclude")
    with session_scope(engine) as s:
        row = s.get(Item, item)
        assert (row.excluded, row.pinned) == (True, False)
    _post(client, token, item, "pin")
    with session_scope(engine) as s:
        row = s.get(Item, item)
        assert (row.excluded, row.pinned) == (False, True)


def test_edited_summary_is_shown_and_sent(site, settings: Settings) -> None:  # noqa: ANN001
    client, seeded, token = site
    engine = client.app.state.engine
    mine = "Résumé réécrit par la curatrice."
    _post(client, token, seeded.items["tools"], "summary", summary=f"  {mine}  ")
    assert mine in client.get("/digest/preview/email").text
    assert "résumé modifié" in client.get("/digest/preview").text
    with session_scope(engine) as s:
        s.add(
            Subscriber(
                email="lea@example.org",
                status="confirmed",
                created_at=utcnow(),
                confirmed_at=utcnow(),
            )
        )
    built = issue.build(engine, settings=settings, now=utcnow())
    assert built is not None and built.digest_id is not None
    assert mine in {e.summary for e in built.entries}
    report = issue.send(engine, built, settings=settings, now=utcnow())
    assert report.sent == 1
    sent = [
        email.message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in (settings.data_dir / "outbox").rglob("*.eml")
    ]
    assert len(sent) == 1
    assert mine in sent[0].get_body(("html",)).get_content()
    assert mine in sent[0].get_body(("plain",)).get_content()


def test_empty_summary_goes_back_to_the_automatic_one(site) -> None:  # noqa: ANN001
    client, seeded, token = site
    _post(client, token, seeded.items["tools"], "summary", summary="Autre résumé.")
    _post(client, token, seeded.items["tools"], "summary", summary="")
    with session_scope(client.app.state.engine) as s:
        assert s.get(Item, seeded.items["tools"]).edited_summary is None
        assert [r.action for r in s.exec(select(Review)).all()] == ["summary", "summary"]
    assert "Des graines à partager." in client.get("/digest/preview/email").text


def test_posts_without_the_token_are_refused(site) -> None:  # noqa: ANN001
    client, seeded, _ = site
    item = seeded.items["tools"]
    reply = client.post(f"/digest/preview/items/{item}/exclude", data={})
    assert reply.status_code == 403
    with session_scope(client.app.state.engine) as s:
        assert s.get(Item, item).excluded is False
    assert (
        client.post(f"/digest/preview/items/{item}/nope", data={"csrf_token": site[2]}).status_code
        == 400
    )
