"""The web app's guards: login on every protected route, CSRF, throttling, sessions, errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.e2e.seed import PASSWORD, Seeded, csrf_of, login, seed, use_light_hashing
from veille.settings import Settings
from veille.store import session_scope
from veille.store import users as accounts
from veille.store.db import make_engine
from veille.store.models import Item, Review
from veille.web import auth, limits, model, preview, review, sources, stats, subscribers
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


def test_throttle_window_slides(sqlite_engine) -> None:  # noqa: ANN001
    throttle = limits.LoginThrottle(sqlite_engine, per_pair=2, per_address=3, window=60)
    t0 = datetime(2026, 12, 1, 12, tzinfo=UTC)
    throttle.failed("1.2.3.4", "ana", t0)
    throttle.failed("1.2.3.4", "Ana ", t0)
    assert throttle.wait("1.2.3.4", "ana", t0) == 60
    assert throttle.wait("5.6.7.8", "ana", t0) == 0
    throttle.failed("1.2.3.4", "bob", t0)
    assert throttle.wait("1.2.3.4", "carol", t0) == 60  # the address is over its own limit
    assert throttle.wait("1.2.3.4", "ana", t0 + timedelta(seconds=61)) == 0


def test_rotating_forwarded_for_does_not_bypass_the_throttle(site) -> None:  # noqa: ANN001
    """Each guess from "another address" through X-Forwarded-For: the header is not believed
    from an untrusted peer, and the account's own limit holds whatever the address."""
    client, _ = site
    token = csrf_of(client.get("/login").text)
    codes = [
        client.post(
            "/login",
            data={"name": "ana", "password": f"guess {i}", "csrf_token": token},
            headers={"X-Forwarded-For": f"203.0.113.{i}"},
        ).status_code
        for i in range(12)
    ]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}, codes
    right = client.post(
        "/login",
        data={"name": "ana", "password": PASSWORD, "csrf_token": token},
        headers={"X-Forwarded-For": "198.51.100.7"},
    )
    assert right.status_code == 429  # a locked account stays locked


def test_the_account_limit_holds_across_addresses_and_processes(site, settings) -> None:  # noqa: ANN001
    """Two apps on one database stand for two processes; each guess from a new address."""
    client, _ = site
    other_app = create_app(settings.model_copy(update={"trusted_proxies": ["127.0.0.0/8"]}))
    codes = []
    for i in range(12):
        peer = TestClient(other_app, follow_redirects=False, client=("127.0.0.1", 40000 + i))
        token = csrf_of(peer.get("/login").text)
        codes.append(
            peer.post(
                "/login",
                data={"name": "ana", "password": f"guess {i}", "csrf_token": token},
                headers={"X-Forwarded-For": f"203.0.113.{i}"},  # believed: a trusted proxy
            ).status_code
        )
    assert codes[:10] == [401] * 10 and codes[10:] == [429, 429], codes
    token = csrf_of(client.get("/login").text)
    reply = client.post("/login", data={"name": "ana", "password": PASSWORD, "csrf_token": token})
    assert reply.status_code == 429  # the first app sees the second one's failures


def test_logout_ends_the_session_for_a_saved_cookie(site) -> None:  # noqa: ANN001
    client, _ = site
    login(client)
    saved = client.cookies.get("veille_session")
    page = client.get("/review")
    assert page.status_code == 200
    client.post("/logout", data={"csrf_token": csrf_of(page.text)})
    replay = TestClient(client.app, follow_redirects=False, cookies={"veille_session": saved})
    assert replay.get("/review").status_code == 303  # to the login form


def test_login_rotates_the_session(site) -> None:  # noqa: ANN001
    client, _ = site
    token = login(client)
    first = client.cookies.get("veille_session")
    again = client.post("/login", data={"name": "ana", "password": PASSWORD, "csrf_token": token})
    assert again.status_code == 303 and client.cookies.get("veille_session") != first
    stale = TestClient(client.app, follow_redirects=False, cookies={"veille_session": first})
    assert stale.get("/review").status_code == 303
    assert client.get("/review").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/review?page=\u00b2",
        "/review?source=\u00b2",
        "/review?page=" + "9" * 5000,
        "/review?source=" + "9" * 30,
        "/review?page=\u0663",
        "/review/items/" + "9" * 30,
        "/review/items/" + "9" * 30 + "/why",
        "/review/items/" + "9" * 19,
    ],
)
def test_out_of_range_numbers_never_give_a_500(site, path: str) -> None:  # noqa: ANN001
    client, _ = site
    login(client)
    reply = client.get(path)
    assert reply.status_code in (200, 400, 404), (path[:60], reply.status_code)


def test_out_of_range_ids_in_posts_never_give_a_500(site) -> None:  # noqa: ANN001
    client, seeded = site
    token = login(client, "root")
    big = "9" * 30
    for url in (
        f"/review/items/{big}/accept",
        f"/digest/preview/items/{big}/pin",
        f"/sources/{big}/enabled",
        f"/sources/{'9' * 19}/enabled",
    ):
        reply = client.post(url, data={"csrf_token": token, "enabled": "true"})
        assert reply.status_code in (400, 404), (url, reply.status_code)


def test_other_host_names_are_refused(site) -> None:  # noqa: ANN001
    """DNS rebinding: attacker.example resolving to this machine must not reach the app."""
    client, _ = site
    hostile = TestClient(client.app, base_url="http://attacker.example", follow_redirects=False)
    assert hostile.get("/login").status_code == 400
    reply = hostile.post(
        "/subscribe",
        data={"email": "a@example.org"},
        headers={"Origin": "http://attacker.example"},
    )
    assert reply.status_code == 400
    local = TestClient(client.app, base_url="http://localhost:8000", follow_redirects=False)
    assert local.get("/login").status_code == 200


def test_default_allowed_hosts_follow_the_base_url(settings: Settings) -> None:
    plain = settings.model_copy(
        update={"allowed_hosts": [], "base_url": "https://veille.example.org"}
    )
    assert plain.web_hosts() == ["veille.example.org", "localhost", "127.0.0.1"]


def test_a_405_names_the_allowed_methods(site) -> None:  # noqa: ANN001
    client, _ = site
    reply = client.put("/login")
    assert reply.status_code == 405
    assert set(reply.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


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
        # Both endpoints ask the store's one probe, and say the same thing.
        for path in ("/health", "/healthz"):
            reply = client.get(path)
            assert reply.status_code == 503, path
            assert reply.json() == {"status": "error", "database": "unreachable"}, path


def test_bidirectional_overrides_never_reach_a_page(site) -> None:  # noqa: ANN001
    """Items stored before titles were cleaned at parse time still render without them."""
    client, seeded = site
    login(client)
    with session_scope(client.app.state.engine) as s:
        item = s.get(Item, seeded.items["budget"])
        item.title = "Budget \u202eparticipatif\u2066 voté"
        s.add(item)
    page = client.get(f"/review/items/{seeded.items['budget']}")
    assert page.status_code == 200 and "participatif" in page.text
    assert "\u202e" not in page.text and "\u2066" not in page.text
