"""The admins' subscribers page through the app: counts, search, CSV out and in, resend,
remove; OPML import of sources from the web. Bad uploads: one line, nothing stored."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from tests.e2e.seed import csrf_of, login, seed, use_light_hashing
from tests.newsletter_helpers import outbox
from veille.settings import Settings
from veille.sources import load_sources
from veille.store import Subscriber, session_scope, utcnow
from veille.web.app import create_app

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"


@pytest.fixture
def admin(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, str]]:
    use_light_hashing(monkeypatch)
    settings.sources.write_text("sources: []\n")
    app = create_app(settings)
    seed(app.state.engine)
    now = utcnow()
    with session_scope(app.state.engine) as s:
        s.add(Subscriber(email="anne@exemple.org", status="confirmed", created_at=now))
        s.add(Subscriber(email="bruno@exemple.org", status="pending", created_at=now))
        s.add(
            Subscriber(
                email="chloe@exemple.org",
                status="bounced",
                created_at=now,
                bounce_note="5.1.1 user unknown",
                bounced_at=now,
            )
        )
    with TestClient(app, follow_redirects=False) as client:
        token = login(client, "root")
        yield client, token


def _emails(client: TestClient) -> set[str]:
    with session_scope(client.app.state.engine) as s:
        return set(s.exec(select(Subscriber.email)).all())


def test_counts_search_export_import_resend_remove(admin, settings: Settings) -> None:  # noqa: ANN001
    client, token = admin
    page = client.get("/subscribers")
    assert page.status_code == 200
    assert "confirmé" in page.text or "confirmed" in page.text
    assert "5.1.1 user unknown" in page.text  # the bounce shows
    found = client.get("/subscribers", params={"q": "BRUNO"})
    assert "bruno@exemple.org" in found.text and "anne@exemple.org" not in found.text

    exported = client.get("/subscribers.csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {r["email"] for r in rows} == _emails(client) and rows[0]["frequency"] == "daily"

    upload = "email,lang,frequency\ndora@exemple.org,fr,weekly\nanne@exemple.org,fr,daily\n"
    done = client.post(
        "/subscribers/import",
        data={"csrf_token": token},
        files={"file": ("liste.csv", upload.encode(), "text/csv")},
    )
    assert done.status_code == 303
    assert "1 " in client.get("/subscribers").text  # the flash: 1 added, 1 already there
    with session_scope(client.app.state.engine) as s:
        dora = s.exec(select(Subscriber).where(Subscriber.email == "dora@exemple.org")).one()
        bruno = s.exec(select(Subscriber).where(Subscriber.email == "bruno@exemple.org")).one()
    assert dora.frequency == "weekly" and dora.status == "confirmed"

    assert (
        client.post(f"/subscribers/{bruno.id}/resend", data={"csrf_token": token}).status_code
        == 303
    )
    assert [m["To"] for m in outbox(settings)] == ["bruno@exemple.org"]
    assert (
        client.post(f"/subscribers/{dora.id}/resend", data={"csrf_token": token}).status_code == 400
    )

    assert (
        client.post(f"/subscribers/{dora.id}/remove", data={"csrf_token": token}).status_code == 303
    )
    assert "dora@exemple.org" not in _emails(client)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name,address\nx,y\n", "one being 'email'"),
        (b"email\nnot-an-address\n", "line 2"),
        ("email\nélodie@exemple.org\n".encode("latin-1"), "not UTF-8"),
    ],
)
def test_a_bad_csv_is_refused_whole(admin, content: bytes, message: str) -> None:  # noqa: ANN001
    client, token = admin
    before = _emails(client)
    reply = client.post(
        "/subscribers/import",
        data={"csrf_token": token},
        files={"file": ("liste.csv", content, "text/csv")},
    )
    assert reply.status_code == 400 and message in html.unescape(reply.text)
    assert _emails(client) == before


def test_opml_import_from_the_web(admin, settings: Settings) -> None:  # noqa: ANN001
    client, token = admin
    form = client.get("/sources/import")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    reply = client.post(
        "/sources/import",
        data={"csrf_token": csrf_of(form.text)},
        files={"file": ("miniflux.opml", (FIXTURES / "miniflux.opml").read_bytes(), "text/xml")},
    )
    assert reply.status_code == 303
    assert len(load_sources(settings.sources)) >= 2
    hostile = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><opml><body/></opml>'
    before = settings.sources.read_text()
    refused = client.post(
        "/sources/import",
        data={"csrf_token": token},
        files={"file": ("evil.opml", hostile, "text/xml")},
    )
    assert refused.status_code == 400 and "evil.opml" in refused.text
    assert settings.sources.read_text() == before


def test_curators_may_not_see_the_subscribers(settings: Settings, monkeypatch) -> None:  # noqa: ANN001
    use_light_hashing(monkeypatch)
    app = create_app(settings)
    seed(app.state.engine)
    with TestClient(app, follow_redirects=False) as client:
        login(client, "ana")
        assert client.get("/subscribers").status_code == 403
        assert client.get("/subscribers.csv").status_code == 403
