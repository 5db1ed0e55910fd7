"""The web app's guards: login on every protected route, CSRF, throttling, sessions, errors."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.e2e.seed import PASSWORD, Seeded, csrf_of, login, seed, use_light_hashing
from veille.settings import Settings
from veille.store import session_scope
from veille.store import users as accounts
from veille.store.db import make_engine
from veille.store.models import Item, Review
from veille.web import auth, model, preview, review, sources, stats, subscribers
from veille.web.app import create_app

PUBLIC = {"/login", "/logout", "/health", "/lang/{code}", "/"}


@pytest.fixture
def site(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, Seeded]]:
    use_light_hashing(monkeypatch)
    app = create_app(settings)
    seeded = seed(app.state.engine)
    with TestClient(app, follow_redirects=False) as client:
        yield client, seeded


def _routes() -> list[APIRoute]:
    found = []
    for module in (auth, review, preview, sources, model, stats, subscribers):
        found += [r for r in module.router.routes if isinstance(r, APIRoute)]
    return found


def _concrete(path: str, item_id: int) -> str:
    return re.sub(
        r"\{[^}]+\}", lambda m: "accept" if m.group(0) == "{action}" else str(item_id), path
    )


def test_every_protected_route_requires_a_login(site) -> None:  # noqa: ANN001
    client, seeded = site
    anonymous_token = csrf_of(client.get("/login").text)
    item = seeded.items["budget"]
    protected = [r for r in _routes() if r.path not in PUBLIC]
    assert len(protected) >= 10
    for route in protected:
        url = _concrete(route.path, item)
        for method in route.methods:
            if method == "GET":
                reply = client.get(url)
                assert reply.status_code == 303, url
                assert reply.headers["location"].startswith("/login?next="), url
            else:  # a valid token of an anonymous session is still no login
                reply = client.post(url, data={"csrf_token": anonymous_token})
                assert reply.status_code == 401, url
    with session_scope(client.app.state.engine) as s:
        assert s.get(Item, item).reviewed_at is None
    assert client.get("/health").json() == {"status": "ok", "database": "ok"}


def test_login_sets_a_safe_cookie_and_logout_ends_it(site) -> None:  # noqa: ANN001
    client, _ = site
    assert client.get("/review?sort=newest").status_code == 303
    form = client.get("/login?next=/sources")
    reply = client.post(
        "/login",
        data={
            "name": "ana",
            "password": PASSWORD,
            "next": "/sources",
            "csrf_token": csrf_of(form.text),
        },
    )
    assert reply.status_code == 303 and reply.headers["location"] == "/sources"
    cookie = reply.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    page = client.get("/sources")
    assert page.status_code == 200 and "ana" in page.text
    client.post("/logout", data={"csrf_token": csrf_of(page.text)})
    assert client.get("/sources").status_code == 303


def test_cookie_is_secure_behind_https(settings: Settings, monkeypatch) -> None:  # noqa: ANN001
    use_light_hashing(monkeypatch)
    app = create_app(settings.model_copy(update={"base_url": "https://veille.example.org"}))
    seed(app.state.engine)
    with TestClient(app, base_url="https://veille.example.org", follow_redirects=False) as c:
        form = c.get("/login")
        reply = c.post(
            "/login", data={"name": "ana", "password": PASSWORD, "csrf_token": csrf_of(form.text)}
        )
        assert reply.status_code == 303
        assert "secure" in reply.headers["set-cookie"].lower()


def test_open_redirects_are_refused(site) -> None:  # noqa: ANN001
    client, _ = site
    form = client.get("/login")
    reply = client.post(
        "/login",
        data={
            "name": "ana",
            "password": PASSWORD,
            "next": "//evil.example/x",
            "csrf_token": csrf_of(form.text),
        },
    )
    assert reply.headers["location"] == "/review"
    assert client.get("/lang/en?next=https://evil.example").headers["location"] == "/review"


def test_forged_replayed_and_cross_site_posts_are_refused(site) -> None:  # noqa: ANN001
    client, seeded = site
    old_token = csrf_of(client.get("/login").text)  # anonymous session's token
    token = login(client)
    assert token != old_token  # logging in rotates the token
    url = f"/review/items/{seeded.items['budget']}/toggle"
    data = {"topic": "social_innovation"}
    refused = [
        client.post(url, data=data),  # forged: no token
        client.post(url, data={**data, "csrf_token": "x" * 43}),  # forged: wrong token
        client.post(url, data={**data, "csrf_token": old_token}),  # replayed from before login
        client.post(
            url, data={**data, "csrf_token": token}, headers={"Origin": "https://evil.example"}
        ),  # cross-site form
        client.post(
            url, data={**data, "csrf_token": token}, headers={"Sec-Fetch-Site": "cross-site"}
        ),
        client.post(url, data=data, headers={"X-CSRF-Token": old_token}),
    ]
    for reply in refused:
        assert reply.status_code == 403
        assert "expired" in reply.text or "expiré" in reply.text
    with session_scope(client.app.state.engine) as s:
        assert s.get(Item, seeded.items["budget"]).curator_labels is None
        assert s.exec(Review.__table__.select()).all() == []
    ok = client.post(
        url, data={**data, "csrf_token": token}, headers={"Origin": "http://testserver"}
    )
    assert ok.status_code == 303


def test_a_token_from_another_session_is_refused(site) -> None:  # noqa: ANN001
    client, seeded = site
    other = TestClient(client.app, follow_redirects=False)
    their_token = login(other, "root")
    login(client)
    reply = client.post(
        f"/review/items/{seeded.items['osm']}/pin", data={"csrf_token": their_token}
    )
    assert reply.status_code == 403


def test_login_is_throttled_per_address_and_name(site) -> None:  # noqa: ANN001
    client, _ = site
    token = csrf_of(client.get("/login").text)

    def attempt(name: str, password: str) -> int:
        return client.post(
            "/login", data={"name": name, "password": password, "csrf_token": token}
        ).status_code

    assert [attempt("ana", f"guess {i}") for i in range(5)] == [401] * 5
    assert attempt("ana", PASSWORD) == 429  # even the right password waits now
    assert (
        "Trop de tentatives"
        in client.post("/login", data={"name": "ana", "password": "x", "csrf_token": token}).text
    )
    assert attempt("root", PASSWORD) == 303  # another account from this address still may


def test_throttle_window_slides() -> None:
    now = [0.0]
    throttle = auth.LoginThrottle(per_account=2, per_address=3, window=60, clock=lambda: now[0])
    throttle.failed("1.2.3.4", "ana")
    throttle.failed("1.2.3.4", "Ana ")
    assert throttle.wait("1.2.3.4", "ana") == 60
    assert throttle.wait("5.6.7.8", "ana") == 0
    throttle.failed("1.2.3.4", "bob")
    assert throttle.wait("1.2.3.4", "carol") == 60  # the address is over its own limit
    now[0] = 61
    assert throttle.wait("1.2.3.4", "ana") == 0


def test_password_change_or_removal_ends_sessions(site) -> None:  # noqa: ANN001
    client, _ = site
    login(client)
    assert client.get("/stats").status_code == 200
    with session_scope(client.app.state.engine) as s:
        accounts.set_password(s, name="ana", password="another password")
    assert client.get("/stats").status_code == 303
    login(client, password="another password")
    with session_scope(client.app.state.engine) as s:
        accounts.remove_user(s, name="ana")
    assert client.get("/stats").status_code == 303


def test_unknown_items_give_a_404_page(site) -> None:  # noqa: ANN001
    client, _ = site
    token = login(client)
    for reply in (
        client.get("/review/items/987654"),
        client.get("/review/items/987654/why"),
        client.get("/review/items/abc"),
        client.get("/nowhere"),
        client.post("/review/items/987654/accept", data={"csrf_token": token}),
    ):
        assert reply.status_code == 404
        assert "<h1>Introuvable</h1>" in reply.text and "Traceback" not in reply.text
    bad = client.post("/review/items/1/toggle", data={"csrf_token": token, "topic": "nope"})
    assert bad.status_code == 400


def test_admin_only_changes(site) -> None:  # noqa: ANN001
    client, seeded = site
    token = login(client)
    reply = client.post(
        f"/sources/{seeded.sources['osm']}/enabled", data={"csrf_token": token, "enabled": "false"}
    )
    assert reply.status_code == 403


def test_french_by_default_english_on_request(site) -> None:  # noqa: ANN001
    client, _ = site
    assert '<html lang="fr">' in client.get("/login").text
    assert "Se connecter" in client.get("/login").text
    switched = client.get("/lang/en?next=/login")
    assert switched.headers["location"] == "/login"
    page = client.get("/login")
    assert '<html lang="en">' in page.text and "Log in" in page.text


def test_security_headers(site) -> None:  # noqa: ANN001
    client, _ = site
    headers = client.get("/login").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-store"


def test_database_down_makes_health_fail(settings: Settings) -> None:
    app = create_app(settings)
    app.state.engine = make_engine("postgresql://postgres@127.0.0.1:9/nowhere")
    with TestClient(app) as client:
        assert client.get("/health").status_code == 503
