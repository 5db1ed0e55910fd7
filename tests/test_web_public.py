"""Public routes: subscribe → confirm by the emailed link, one-click unsubscribe (RFC 8058),
the archive and feeds served, /healthz and /metrics. No login anywhere here."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from email import policy

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import select

from tests.e2e.seed import csrf_of
from tests.fixtures.digest.mailserver import MailServer
from veille.settings import Settings
from veille.store import Subscriber, session_scope
from veille.web.app import create_app


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), follow_redirects=False) as c:
        yield c


def _outbox(settings: Settings) -> list[email.message.EmailMessage]:
    files = sorted((settings.data_dir / "outbox").rglob("*.eml"))
    return [email.message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]


def _status(client: TestClient, address: str) -> str:
    with session_scope(client.app.state.engine) as s:
        return s.exec(select(Subscriber.status).where(Subscriber.email == address)).one()


def test_subscribe_confirm_then_one_click_unsubscribe(
    client: TestClient, settings: Settings
) -> None:
    form = client.get("/subscribe")
    assert form.status_code == 200 and "S’abonner à la veille" in form.text  # curly, by typography
    # A wrong address is told in French by its kind, never with the validator's English text.
    wrong = client.post(
        "/subscribe",
        data={"email": "pas-un-email", "lang": "fr", "csrf_token": csrf_of(form.text)},
    )
    assert wrong.status_code == 400
    assert "«\u202fpas-un-email\u202f» n’est pas une adresse e-mail valide" in wrong.text
    assert "not a valid" not in wrong.text and "There must be" not in wrong.text
    sent = client.post(
        "/subscribe",
        data={
            "email": "Camille@Exemple.org",
            "lang": "fr",
            "topics": ["open_collaboration"],
            "csrf_token": csrf_of(form.text),
        },
    )
    assert sent.status_code == 200
    assert _status(client, "camille@exemple.org") == "pending"
    (mail,) = _outbox(settings)
    body = mail.get_body(("plain",)).get_content()
    link = re.search(r"https?://\S+/subscribe/confirm/\S+", body)
    assert link, body
    path = "/" + link.group(0).split("/", 3)[3]
    assert client.get(path).status_code == 200
    assert _status(client, "camille@exemple.org") == "confirmed"
    assert client.get("/subscribe/confirm/forged-token").status_code == 400

    # The unsubscribe link a digest carries, posted the way mail providers do (no session).
    from veille.digest import tokens

    with session_scope(client.app.state.engine) as s:
        sub = s.exec(select(Subscriber)).one()
        token = tokens.unsubscribe_token(
            client.app.state.secret, subscriber_id=sub.id, email=sub.email
        )
    page = client.get(f"/unsubscribe/{token}")
    assert page.status_code == 200 and 'method="post"' in page.text
    assert _status(client, "camille@exemple.org") == "confirmed"  # a GET never unsubscribes
    one_click = TestClient(client.app).post(
        f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}
    )
    assert one_click.status_code == 200
    assert _status(client, "camille@exemple.org") == "unsubscribed"
    assert client.post("/unsubscribe/forged", data={}).status_code == 400


def test_invalid_address_is_refused_with_a_message(client: TestClient) -> None:
    form = client.get("/subscribe")
    reply = client.post(
        "/subscribe", data={"email": "pas-une-adresse", "csrf_token": csrf_of(form.text)}
    )
    assert reply.status_code == 400 and "pas-une-adresse" in reply.text


def test_archive_feeds_health_and_metrics_are_public(
    client: TestClient, settings: Settings
) -> None:
    folder = settings.data_dir / "digests"
    (folder / "feeds").mkdir(parents=True, exist_ok=True)
    (folder / "index.html").write_text("<h1>Archive</h1>", encoding="utf-8")
    (folder / "feeds" / "all.atom").write_text("<feed/>", encoding="utf-8")
    assert "Archive" in client.get("/digests/").text
    assert client.get("/digests/feeds/all.atom").text == "<feed/>"
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["database"] == "ok" and health.json()["scheduler"] == "off"
    metrics = client.get("/metrics")
    assert metrics.status_code == 200 and "veille_fetches_total" in metrics.text


def _subscribe(client: TestClient, address: str, **headers: str) -> int:
    token = csrf_of(client.get("/subscribe").text)
    return client.post(
        "/subscribe", data={"email": address, "csrf_token": token}, headers=headers
    ).status_code


@pytest.fixture
def mailed(settings: Settings) -> Iterator[tuple[TestClient, MailServer]]:
    server = MailServer()
    app = create_app(settings.model_copy(update={"smtp_url": SecretStr(server.url)}))
    with TestClient(app, follow_redirects=False) as c:
        yield c, server
    server.close()


def test_one_victim_posted_many_times_gets_few_emails(mailed) -> None:  # noqa: ANN001
    client, mail = mailed
    codes = [_subscribe(client, "victim@exemple.org") for _ in range(8)]
    assert codes == [200] * 8  # the same answer every time: nothing tells the limit apart
    assert [rcpt for rcpt, _ in mail.messages()] == ["victim@exemple.org"] * 3


def test_one_client_cannot_fill_the_list(mailed) -> None:  # noqa: ANN001
    client, mail = mailed
    codes = [_subscribe(client, f"a{i}@exemple.org") for i in range(13)]
    assert codes[:10] == [200] * 10 and codes[10:] == [429] * 3, codes
    assert mail.count() == 10
    # Claiming another address through X-Forwarded-For buys nothing from an untrusted peer.
    assert _subscribe(client, "b@exemple.org", **{"X-Forwarded-For": "203.0.113.9"}) == 429


def test_confirmed_and_new_addresses_get_the_same_answer(
    client: TestClient, settings: Settings
) -> None:
    from veille.digest import subscribers
    from veille.store import utcnow

    with session_scope(client.app.state.engine) as s:
        subscribers.add(s, email="known@exemple.org", now=utcnow(), confirmed=True)
    token = csrf_of(client.get("/subscribe").text)
    known = client.post("/subscribe", data={"email": "known@exemple.org", "csrf_token": token})
    new = client.post("/subscribe", data={"email": "new@exemple.org", "csrf_token": token})
    assert known.status_code == new.status_code == 200
    strip = lambda html: re.sub(r'content="[^"]+"|value="[^"]+"', "", html)  # noqa: E731
    assert strip(known.text) == strip(new.text)
    assert [m["To"] for m in _outbox(settings)] == ["new@exemple.org"]
