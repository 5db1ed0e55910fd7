"""A reader's whole way through the real web app, every link taken from the .eml files:
subscribe → confirm → daily issue → preferences (weekly) → "off topic?" → weekly issue only →
the report first in the curators' queue. Then the bad links: tampered, replayed, a flood."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from tests.e2e.seed import add_user, csrf_of, login, use_light_hashing
from tests.fixtures.digest.seed import seed_items
from tests.newsletter_helpers import NOW, branded, html_of, links, outbox, path_of, text_of
from veille import metrics, publish
from veille.digest import issue as issues
from veille.digest import tokens
from veille.settings import Settings
from veille.store import Subscriber, session_scope, utcnow
from veille.store.models import Feedback
from veille.web.app import create_app


@pytest.fixture
def site(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, Settings, dict[str, int]]]:
    use_light_hashing(monkeypatch)
    mine = branded(settings, tmp_path, feedback_per_hour=8)
    app = create_app(mine)
    ids = seed_items(app.state.engine, NOW)
    add_user(app.state.engine, "ana")
    with TestClient(app, follow_redirects=False) as client:
        yield client, mine, ids
    app.state.engine.dispose()


def _subscriber(client: TestClient) -> Subscriber:
    with session_scope(client.app.state.engine) as s:
        return s.exec(select(Subscriber)).one()


def test_subscribe_choose_weekly_report_and_the_curator_sees_it_first(site) -> None:  # noqa: ANN001
    client, settings, ids = site
    # Subscribe from the box every archive page carries (a GET that fills in the form).
    form = client.get("/subscribe", params={"email": "lea@exemple.org"})
    assert 'value="lea@exemple.org"' in form.text
    sent = client.post(
        "/subscribe",
        data={"email": "lea@exemple.org", "lang": "fr", "csrf_token": csrf_of(form.text)},
    )
    assert sent.status_code == 200
    (confirmation,) = outbox(settings)
    assert confirmation["From"].addresses[0].display_name == "Les Communs de Saint-Aubin"
    assert "La Lettre des Communs" in confirmation["Subject"]
    confirm = re.search(r"http://testserver/subscribe/confirm/\S+", text_of(confirmation))
    assert confirm and client.get(path_of(confirm.group(0))).status_code == 200
    assert _subscriber(client).status == "confirmed"

    # Wednesday: the daily issue.
    issues.run(client.app.state.engine, settings=settings, now=NOW)
    publish.publish_all(client.app.state.engine, settings=settings, now=NOW)  # the archive
    (daily,) = outbox(settings, "2026-11-25/*.eml")
    html = html_of(daily)
    assert daily["Subject"].startswith("La Lettre des Communs du 25 novembre 2026")
    assert "S’abonner" in html and "Transférer à un ami" in html
    assert "Association Les Communs" in html and "3 rue des Lilas" in html
    logo = [p for p in daily.walk() if p.get_content_maintype() == "image"]
    assert len(logo) == 1 and logo[0]["Content-ID"] == "<logo@veille>"
    assert 'src="cid:logo@veille"' in html

    # Preferences, from the email: the page shows the address; choose weekly.
    (preferences,) = links(html, "/preferences/")
    page = client.get(path_of(preferences))
    assert page.status_code == 200 and "lea@exemple.org" in page.text
    saved = client.post(
        path_of(preferences),
        data={
            "topics": ["social_innovation", "collaborative_consumption", "open_collaboration"],
            "lang": "fr",
            "frequency": "weekly",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert saved.status_code == 200 and "enregistrées" in saved.text
    assert _subscriber(client).frequency == "weekly"

    # "hors sujet ?" on the budget entry: the link asks (a mail scanner following it records
    # nothing), the page's button reports, counted once however often it is pressed.
    reports = links(html, "/feedback/")
    assert len(reports) == daily_entries(html)
    budget = next(r for r in reports if _item_of(r) == ids["budget"])
    before = metrics.value("veille_reader_reports_total", outcome="new")
    for _ in range(3):  # a scanner, a link preview, the reader
        asked = client.get(path_of(budget))
        assert asked.status_code == 200 and "Signaler comme hors sujet" in asked.text
        assert "Budget participatif" in asked.text  # the story it is about
    with session_scope(client.app.state.engine) as s:
        assert s.exec(select(Feedback)).all() == []
    form = {"csrf_token": csrf_of(asked.text)}
    assert client.post(path_of(budget)).status_code == 403  # no form token: refused
    first = client.post(path_of(budget), data=form)
    assert first.status_code == 200 and "Merci" in first.text
    again = client.post(path_of(budget), data=form)
    assert again.status_code == 200 and "Déjà signalé" in again.text
    assert metrics.value("veille_reader_reports_total", outcome="new") == before + 1
    with session_scope(client.app.state.engine) as s:
        assert len(s.exec(select(Feedback)).all()) == 1

    # Thursday: the weekly issue only (nothing new for a daily one, and Léa left daily anyway).
    issues.run(client.app.state.engine, settings=settings, now=NOW + timedelta(days=1))
    publish.publish_all(
        client.app.state.engine, settings=settings, now=NOW + timedelta(days=1)
    )  # the archive
    assert outbox(settings, "2026-11-26/*.eml") == []
    (weekly,) = outbox(settings, "weekly-2026-11-26/*.eml")
    assert "semaine du 26 novembre 2026" in weekly["Subject"]
    assert "Semaine du 26 novembre 2026" in html_of(weekly)
    assert client.get("/digests/weekly/2026-11-26.html").status_code == 200
    assert client.get("/digests/feeds/weekly.atom").status_code == 200

    # The curator: the reported item comes first, with the count.
    login(client, next="/review")
    queue = client.get("/review")
    first_card = re.search(r'data-id="(\d+)"', queue.text)
    assert first_card and int(first_card.group(1)) == ids["budget"]
    assert "signalé hors sujet par 1 lecteur" in queue.text
    assert "veille_reader_reports_total" in client.get("/metrics").text


def daily_entries(html: str) -> int:
    return html.count('class="title"')


def _item_of(url: str) -> int:
    token = url.rsplit("/", 1)[1]
    return tokens.read_feedback("newsletter test secret", token)[1]


def test_bad_links_get_a_clear_page_and_store_nothing(site) -> None:  # noqa: ANN001
    client, settings, ids = site
    secret = client.app.state.secret
    forged = tokens.feedback_token("another secret", subscriber_id=1, item_id=ids["budget"])
    for path in (
        f"/feedback/{forged}",
        "/feedback/garbage",
        "/preferences/garbage",
        f"/preferences/{tokens.preferences_token(secret, subscriber_id=99, email='x@y.org')}",
        f"/feedback/{tokens.feedback_token(secret, subscriber_id=0, item_id=999999)}",
    ):
        reply = client.get(path)
        assert reply.status_code == 400, path
        assert "Lien non valide" in reply.text and "abîmé" in reply.text
    page = client.get("/unsubscribe/garbage")
    assert page.status_code == 400 and "rien n’a été modifié" in page.text
    with session_scope(client.app.state.engine) as s:
        assert s.exec(select(Feedback)).all() == []


def test_a_feedback_flood_from_one_client_is_refused(site) -> None:  # noqa: ANN001
    client, settings, ids = site
    secret = client.app.state.secret
    anonymous = [
        tokens.feedback_token(secret, subscriber_id=tokens.ANONYMOUS, item_id=i)
        for i in ids.values()
    ]
    form = {"csrf_token": csrf_of(client.get(f"/feedback/{anonymous[0]}").text)}
    codes = [client.post(f"/feedback/{t}", data=form).status_code for t in anonymous[:12]]
    assert codes[:8] == [200] * 8 and set(codes[8:]) == {429}
    refused = client.post(f"/feedback/{anonymous[0]}", data=form)
    assert refused.status_code == 429 and "Trop de signalements" in refused.text
    with session_scope(client.app.state.engine) as s:
        assert len(s.exec(select(Feedback)).all()) == 8  # the refused ones stored nothing


def test_unsubscribe_page_shows_the_address_and_offers_to_come_back(site) -> None:  # noqa: ANN001
    client, settings, ids = site
    with session_scope(client.app.state.engine) as s:
        sub = Subscriber(email="marc@exemple.org", status="confirmed", created_at=NOW)
        s.add(sub)
        s.flush()
        token = tokens.unsubscribe_token(
            client.app.state.secret, subscriber_id=sub.id, email=sub.email
        )
    page = client.get(f"/unsubscribe/{token}")
    assert "marc@exemple.org" in page.text and "Modifier vos préférences" in page.text
    done = client.post(f"/unsubscribe/{token}", data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 200
    assert '<a href="/subscribe">Abonnez-vous à nouveau.</a>' in done.text
    assert "ne reçoit plus" in client.get(f"/unsubscribe/{token}").text


def test_the_editorial_intro_written_on_the_preview_reaches_email_and_archive(site) -> None:  # noqa: ANN001
    client, settings, ids = site
    login(client, next="/review")
    preview = client.get("/digest/preview")
    assert 'name="intro"' in preview.text
    intro = "Cette semaine, trois villages reprennent leur commerce : bonne lecture !"
    saved = client.post(
        "/digest/preview/intro", data={"intro": intro, "csrf_token": csrf_of(preview.text)}
    )
    assert saved.status_code == 303
    assert intro in client.get("/digest/preview").text
    with session_scope(client.app.state.engine) as s:
        s.add(Subscriber(email="paul@exemple.org", status="confirmed", created_at=NOW))
    # The preview is of today's issue (the seeded stories are older: an issue with nothing new).
    now = utcnow()
    empty_ok = settings.model_copy(update={"send_empty": True})
    day = issues.run(client.app.state.engine, settings=empty_ok, now=now)
    publish.publish_all(client.app.state.engine, settings=empty_ok, now=now)
    assert day.issue is not None and day.issue.intro == intro
    (mail,) = outbox(settings, f"{day.issue.day}/*.eml")
    assert intro in html_of(mail) and intro in text_of(mail)
    assert intro in client.get(f"/digests/{day.issue.day}.html").text


def test_subscribing_weekly_says_which_day(site) -> None:  # noqa: ANN001
    client, settings, ids = site
    form = client.get("/subscribe")
    client.post(
        "/subscribe",
        data={"email": "zoe@exemple.org", "frequency": "weekly", "csrf_token": csrf_of(form.text)},
    )
    (confirmation,) = outbox(settings)
    confirm = re.search(r"http://testserver/subscribe/confirm/\S+", text_of(confirmation))
    assert confirm
    page = client.get(path_of(confirm.group(0)))
    assert "le numéro de la semaine chaque jeudi" in page.text
    assert _subscriber(client).frequency == "weekly"
    bad = client.post(
        "/subscribe",
        data={"email": "yann@exemple.org", "frequency": "hourly", "csrf_token": csrf_of(form.text)},
    )
    assert bad.status_code == 400 and "chaque jour ou chaque semaine" in bad.text
