"""Delivery through a real SMTP server (aiosmtpd on 127.0.0.1): content, once-only, failures."""

from __future__ import annotations

import email
import socket
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.utils import parsedate_to_datetime
from urllib.parse import unquote

import lxml.html
import pytest
from pydantic import SecretStr
from sqlmodel import select as sql_select

from tests.fixtures.digest.mailserver import MailServer, free_port
from tests.fixtures.digest.seed import seed_items, seed_subscribers
from veille.digest import issue as issues
from veille.digest import subscribers as subs
from veille.digest import tokens
from veille.digest.send import send_issue
from veille.digest.transport import Smtp
from veille.errors import DeliveryError
from veille.store import Delivery, Digest, Subscriber, session_scope

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
BASE = "https://veille.example.org"


@pytest.fixture
def mail() -> MailServer:
    server = MailServer()
    yield server
    server.close()


@pytest.fixture
def smtp_settings(settings, mail: MailServer):  # noqa: ANN001, ANN201
    return settings.model_copy(
        update={
            "smtp_url": SecretStr(mail.url),
            "base_url": BASE,
            "send_rate": 1000.0,
            "mail_from": "Veille <veille@example.org>",
            "reply_to": "equipe@example.org",
            "secret_key": SecretStr("test secret"),
        }
    )


def send_quickly(engine, issue, settings, **options):  # noqa: ANN001, ANN003, ANN201
    """One sending run with a short backoff between retries."""
    transport = issues.transport(settings)
    return send_issue(
        engine, issue, settings=settings, transport=transport, now=NOW, backoff=0.01, **options
    )


def statuses(engine) -> Counter:  # noqa: ANN001
    with session_scope(engine) as s:
        return Counter(d.status for d in s.exec(sql_select(Delivery)))


def test_a_french_digest_reaches_each_confirmed_subscriber_once(  # noqa: ANN001
    engine, smtp_settings, mail
) -> None:
    seed_items(engine, NOW)
    fr = seed_subscribers(engine, NOW, 3)
    en = seed_subscribers(engine, NOW, 1, lang="en", topics=["open_collaboration"], prefix="en")
    seed_subscribers(engine, NOW, 1, status="pending", prefix="pending")
    seed_subscribers(engine, NOW, 1, status="unsubscribed", prefix="gone")
    issue = issues.build(engine, settings=smtp_settings, now=NOW)
    report = issues.send(engine, issue, settings=smtp_settings, now=NOW)
    assert (report.sent, report.failed, report.rejected) == (4, 0, 0)
    got = dict(mail.messages())
    assert sorted(got) == [
        "en000@example.org",
        "reader000@example.org",
        "reader001@example.org",
        "reader002@example.org",
    ]
    msg = got["reader001@example.org"]
    assert msg["Subject"] == "Veille du 25 novembre 2026\u00a0: 10 articles"
    assert msg["From"] == "Veille <veille@example.org>" and msg["Reply-To"] == "equipe@example.org"
    assert msg["To"] == "reader001@example.org" and msg["Content-Language"] == "fr"
    assert abs(parsedate_to_datetime(msg["Date"]) - datetime.now(UTC)) < timedelta(minutes=5)
    assert msg["Message-ID"] == f"<veille.digest.2026-11-25.{fr[1]}@example.org>"
    assert msg.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in msg.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "À Saint-Aubin, les habitants rachètent la dernière épicerie du village" in text
    assert "https://territoires.example.org/epicerie-saint-aubin" in text
    doc = lxml.html.fromstring(html)
    hrefs = [a.get("href") for a in doc.cssselect("a")]
    assert "https://osm.example.org/cartopartie-lyon" in hrefs
    assert f"{BASE}/digests/2026-11-25.html" in hrefs
    # one-click unsubscribe (RFC 8058): the header's link is the footer's, and it works
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = msg["List-Unsubscribe"].strip("<>")
    assert link.startswith(f"{BASE}/unsubscribe/") and link in hrefs and link in text
    token = unquote(link.rsplit("/", 1)[1])
    with session_scope(engine) as s:
        gone = subs.unsubscribe(s, secret="test secret", token=token, now=NOW)
        assert gone is not None and gone.id == fr[1] and gone.status == "unsubscribed"
    english = got["en000@example.org"]
    assert english["Subject"] == "Veille of 25 November 2026: 4 stories"
    assert (
        "Open collaboration" in english.get_body(("plain",)).get_content().upper().title()
        or "OPEN COLLABORATION" in english.get_body(("plain",)).get_content()
    )
    assert en and statuses(engine) == Counter({"sent": 4})
    # sending again is a no-op: every row is sent already
    again = issues.send(engine, issue, settings=smtp_settings, now=NOW)
    assert again.sent == 0 and again.done_before == 4 and len(mail.messages()) == 4
    with session_scope(engine) as s:
        assert s.exec(sql_select(Digest)).one().sent_at is not None


def test_transient_refusals_are_retried_with_backoff(sqlite_engine, smtp_settings, mail) -> None:  # noqa: ANN001
    engine = sqlite_engine  # the delivery logic, not the database, is under test here
    seed_items(engine, NOW, only={"repair"})
    seed_subscribers(engine, NOW, 2)
    mail.defer["reader000@example.org"] = 2  # 451 twice, then accepted
    issue = issues.build(engine, settings=smtp_settings, now=NOW)
    report = send_quickly(engine, issue, smtp_settings)
    assert report.sent == 2 and report.failed == 0
    assert sorted(r for r, _ in mail.messages()) == [
        "reader000@example.org",
        "reader001@example.org",
    ]
    mail.defer["reader001@example.org"] = 5  # more than the tries of one run
    with session_scope(engine) as s:
        s.add(
            Digest(
                date="2026-11-26",
                created_at=NOW,
                period_end=NOW,
                entries=[e.to_json() for e in issue.entries],
                item_count=1,
            )
        )
    with session_scope(engine) as s:
        second = issues.select.from_digest(
            s.exec(sql_select(Digest).where(Digest.date == "2026-11-26")).one()
        )
    report = send_quickly(engine, second, smtp_settings)
    assert (report.sent, report.failed) == (1, 1) and "451" in report.errors[0]
    with session_scope(engine) as s:
        row = s.exec(
            sql_select(Delivery).where(
                Delivery.digest_id == second.digest_id, Delivery.status == "failed"
            )
        ).one()
        assert "451" in row.last_error and row.attempts == 1
    report = send_quickly(engine, second, smtp_settings)
    assert report.sent == 1  # the next run finishes it (the server has given up deferring)
    assert Counter(r for r, _ in mail.messages())["reader001@example.org"] == 2  # one per issue


def test_permanent_rejections_bounce_the_address_after_three(  # noqa: ANN001
    sqlite_engine, smtp_settings, mail
) -> None:
    engine = sqlite_engine
    seed_subscribers(engine, NOW, 2)
    mail.reject.add("reader000@example.org")
    every_day = smtp_settings.model_copy(update={"send_empty": True})
    for n in range(3):
        issue = issues.build(engine, settings=every_day, now=NOW, day=date(2026, 11, 25 + n))
        report = issues.send(engine, issue, settings=every_day, now=NOW)
        assert (report.sent, report.rejected) == (1, 1) and "550" in report.errors[0]
    with session_scope(engine) as s:
        bounced = s.exec(
            sql_select(Subscriber).where(Subscriber.email == "reader000@example.org")
        ).one()
        assert bounced.status == "bounced" and bounced.failures == 3
    assert statuses(engine) == Counter({"sent": 3, "rejected": 3})
    issue = issues.build(engine, settings=every_day, now=NOW, day=date(2026, 11, 28))
    assert issues.send(engine, issue, settings=every_day, now=NOW).rejected == 0  # not tried


def test_a_server_down_or_silent_loses_no_delivery(engine, smtp_settings, mail) -> None:  # noqa: ANN001
    seed_items(engine, NOW, only={"repair"})
    seed_subscribers(engine, NOW, 3)
    issue = issues.build(engine, settings=smtp_settings, now=NOW)
    down = smtp_settings.model_copy(
        update={"smtp_url": SecretStr(f"smtp://127.0.0.1:{free_port()}")}
    )
    with pytest.raises(DeliveryError, match="unreachable.*run again"):
        send_quickly(engine, issue, down)
    assert statuses(engine) == Counter({"pending": 2, "failed": 1})
    with socket.socket() as silent:  # accepts connections, never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        mute = smtp_settings.model_copy(
            update={
                "smtp_url": SecretStr(f"smtp://127.0.0.1:{silent.getsockname()[1]}"),
                "read_timeout": 0.3,
            }
        )
        with pytest.raises(DeliveryError, match="unreachable"):
            send_quickly(engine, issue, mute, tries=1)
    assert statuses(engine) == Counter({"pending": 2, "failed": 1})
    report = issues.send(engine, issue, settings=smtp_settings, now=NOW)  # server back
    assert report.sent == 3 and len(mail.messages()) == 3
    assert statuses(engine) == Counter({"sent": 3})


def test_a_reply_lost_after_the_message_is_not_resent(sqlite_engine, smtp_settings, mail) -> None:  # noqa: ANN001
    engine = sqlite_engine
    seed_items(engine, NOW, only={"repair"})
    seed_subscribers(engine, NOW, 1)
    mail.delay = 1.0  # takes the message, then is slow to say so
    slow = smtp_settings.model_copy(update={"read_timeout": 0.3})
    issue = issues.build(engine, settings=slow, now=NOW)
    report = issues.send(engine, issue, settings=slow, now=NOW)
    assert report.sent == 1 and len(mail.messages()) == 1
    with session_scope(engine) as s:
        row = s.exec(sql_select(Delivery)).one()
        assert row.status == "sent" and row.last_error.startswith("assumed delivered")


def test_without_smtp_the_outbox_gets_one_file_per_subscriber(sqlite_engine, settings) -> None:  # noqa: ANN001
    seed_items(sqlite_engine, NOW, only={"repair", "osm"})
    ids = seed_subscribers(sqlite_engine, NOW, 3)
    issue = issues.build(sqlite_engine, settings=settings, now=NOW)
    report = issues.send(sqlite_engine, issue, settings=settings, now=NOW)
    folder = settings.data_dir / "outbox" / "2026-11-25"
    assert report.sent == 3 and report.where == str(settings.data_dir / "outbox")
    files = sorted(p.name for p in folder.iterdir())
    assert files == [f"{i:06d}.eml" for i in ids]
    msg = email.message_from_bytes((folder / files[0]).read_bytes(), policy=policy.default)
    assert msg["Subject"] == "Veille du 25 novembre 2026\u00a0: 2 articles"
    assert msg["To"] == "reader000@example.org" and msg["List-Unsubscribe-Post"]
    with session_scope(sqlite_engine) as s:  # a crash after the file, before the row: rerun
        s.exec(sql_select(Delivery)).first().status = "pending"
    assert issues.send(sqlite_engine, issue, settings=settings, now=NOW).sent == 1
    assert len(list(folder.iterdir())) == 3  # the same file, rewritten


def test_smtp_url_is_checked_and_its_password_never_shown() -> None:
    smtp = Smtp("smtps://ana%40ex.org:p%40ss@mail.example.org")
    assert (smtp.user, smtp.port, smtp.tls) == ("ana@ex.org", 465, True)
    assert "p@ss" not in smtp.where and "ana" not in smtp.where
    assert Smtp("smtp://mail.example.org").port == 587
    with pytest.raises(DeliveryError, match="must look like"):
        Smtp("http://mail.example.org")
    with pytest.raises(DeliveryError, match="invalid port"):
        Smtp("smtp://mail.example.org:99999")
    with pytest.raises(tokens.LinkError):
        tokens.read_unsubscribe("secret", "forged.token")


@pytest.fixture
def tls_mail(tmp_path, monkeypatch: pytest.MonkeyPatch) -> MailServer:  # noqa: ANN001
    """A server that requires STARTTLS before AUTH, with a certificate made for the test."""
    import ssl
    import subprocess

    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts this certificate only

    def check(server, session, envelope, mechanism, auth_data):  # noqa: ANN001, ANN202
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            b"ana@example.org",
            b"s3cr3t p@ss",
        )
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535

    server = MailServer(
        tls_context=context, require_starttls=True, authenticator=check, auth_require_tls=True
    )
    yield server
    server.close()


def test_starttls_and_login_keep_the_password_out_of_logs(  # noqa: ANN001
    sqlite_engine, settings, tls_mail, caplog
) -> None:
    caplog.set_level("DEBUG")
    seed_items(sqlite_engine, NOW, only={"repair"})
    seed_subscribers(sqlite_engine, NOW, 2)
    url = f"smtp://ana%40example.org:s3cr3t%20p%40ss@127.0.0.1:{tls_mail.port}"
    good = settings.model_copy(update={"smtp_url": SecretStr(url)})
    issue = issues.build(sqlite_engine, settings=good, now=NOW)
    report = issues.send(sqlite_engine, issue, settings=good, now=NOW)
    assert report.sent == 2 and len(tls_mail.messages()) == 2
    bad = settings.model_copy(update={"smtp_url": SecretStr(url.replace("s3cr3t", "wrong"))})
    with session_scope(sqlite_engine) as s:
        for d in s.exec(sql_select(Delivery)):
            d.status = "pending"
    with pytest.raises(DeliveryError, match="refused the login of 'ana@example.org'") as err:
        issues.send(sqlite_engine, issue, settings=bad, now=NOW)
    shown = " ".join([str(err.value), caplog.text, report.where, *report.errors, str(good)])
    assert "s3cr3t" not in shown and "wrong" not in shown and "p@ss" not in shown
    assert statuses(sqlite_engine) == Counter({"failed": 1, "pending": 1})


def test_two_senders_of_one_issue_send_each_message_once(  # noqa: ANN001
    engine, smtp_settings, mail
) -> None:
    """A second sender runs the whole issue while the first holds its list of open
    deliveries: the first then claims none of them and releases nothing."""
    seed_items(engine, NOW)
    seed_subscribers(engine, NOW, 4)
    issue = issues.build(engine, settings=smtp_settings, now=NOW)
    real = issues.transport(smtp_settings)
    second: list = []

    class Interleaved:
        where = real.where

        def deliver(self, out, *, name, release):  # noqa: ANN001, ANN202
            if not second:
                second.append(send_quickly(engine, issue, smtp_settings))
            real.deliver(out, name=name, release=release)

        def close(self) -> None:
            real.close()

    first = send_issue(
        engine, issue, settings=smtp_settings, transport=Interleaved(), now=NOW, backoff=0.01
    )
    assert second[0].sent == 4
    assert (first.sent, first.skipped) == (0, 4)
    assert Counter(to for to, _ in mail.messages()) == {
        f"reader{i:03d}@example.org": 1 for i in range(4)
    }
    assert statuses(engine) == {"sent": 4}
