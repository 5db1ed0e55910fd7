"""Late bounces from a real maildir (written with Python's mailbox module) holding real DSN
samples (RFC 3464, as Postfix and Exim write them): hard bounces suspend at once, soft ones
after VEILLE_SOFT_BOUNCE_LIMIT; unknown addresses and malformed messages change nothing."""

from __future__ import annotations

import mailbox
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from veille import metrics
from veille.digest import bounces
from veille.errors import ConfigError
from veille.store import Subscriber, session_scope

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def dsn(
    recipient: str, status: str, action: str, diagnostic: str, *, original: bool = True
) -> bytes:
    """A delivery status notification as Postfix writes it (shortened)."""
    original_line = f"Original-Recipient: rfc822;{recipient}\n" if original else ""
    return f"""Return-Path: <>
From: MAILER-DAEMON@mx.exemple.org (Mail Delivery System)
To: lettre@communs.example.org
Subject: Undelivered Mail Returned to Sender
Date: Wed, 25 Nov 2026 08:12:03 +0100
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
 boundary="B9F2C1E0A.1764054723/mx.exemple.org"

--B9F2C1E0A.1764054723/mx.exemple.org
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not be delivered.

--B9F2C1E0A.1764054723/mx.exemple.org
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.exemple.org
X-Postfix-Queue-ID: B9F2C1E0A
Arrival-Date: Wed, 25 Nov 2026 08:12:01 +0100

Final-Recipient: rfc822; {recipient.upper()}
{original_line}Action: {action}
Status: {status}
Remote-MTA: dns; mail.destination.example
Diagnostic-Code: smtp; {diagnostic}

--B9F2C1E0A.1764054723/mx.exemple.org
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: La Lettre des Communs <lettre@communs.example.org>
To: {recipient}
Subject: La Lettre des Communs du 25 novembre 2026

--B9F2C1E0A.1764054723/mx.exemple.org--
""".replace("\n", "\r\n").encode()


@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    folder = tmp_path / "bounces"
    mailbox.Maildir(folder, create=True)
    return folder


def _deliver(folder: Path, *messages: bytes) -> None:
    box = mailbox.Maildir(folder, create=False)
    for data in messages:
        box.add(mailbox.MaildirMessage(data))


def _subscribers(engine, *emails: str) -> None:  # noqa: ANN001
    with session_scope(engine) as s:
        for email in emails:
            s.add(Subscriber(email=email, status="confirmed", created_at=NOW, confirmed_at=NOW))


def _status(engine) -> dict[str, tuple[str, int, str | None]]:  # noqa: ANN001
    with session_scope(engine) as s:
        return {
            sub.email: (sub.status, sub.soft_bounces, sub.bounce_note)
            for sub in s.exec(select(Subscriber)).all()
        }


def test_hard_soft_unknown_and_malformed(engine, maildir: Path) -> None:  # noqa: ANN001
    _subscribers(engine, "gone@exemple.org", "full@exemple.org", "fine@exemple.org")
    malformed_before = metrics.value("veille_bounces_total", kind="malformed")
    _deliver(
        maildir,
        dsn("gone@exemple.org", "5.1.1", "failed", "550 5.1.1 <gone@exemple.org>: User unknown"),
        dsn("full@exemple.org", "4.2.2", "delayed", "452 4.2.2 Mailbox full", original=False),
        dsn("nobody@ailleurs.example", "5.1.1", "failed", "550 User unknown"),
        b"From: someone@exemple.org\r\nSubject: Re: La Lettre\r\n\r\nMerci !\r\n",  # an autoreply
        b"\x00\xff not a mail at all",
        dsn("fine@exemple.org", "2.0.0", "delivered", "250 ok"),
    )
    report = bounces.read_maildir(engine, folder=maildir, now=NOW, soft_limit=2)
    assert (report.read, report.hard, report.soft, report.unknown) == (6, 1, 1, 1)
    assert report.malformed == 3  # autoreply, garbage, a "delivered" report: no bounce in them
    assert metrics.value("veille_bounces_total", kind="malformed") == malformed_before + 3
    status = _status(engine)
    assert status["gone@exemple.org"][0] == "bounced"
    assert (
        "5.1.1" in status["gone@exemple.org"][2] and "User unknown" in status["gone@exemple.org"][2]
    )
    assert status["full@exemple.org"][:2] == ("confirmed", 1)
    assert status["fine@exemple.org"] == ("confirmed", 0, None)
    assert "nobody@ailleurs.example" not in status

    # Read again: nothing is counted twice (every message is marked seen, in cur/).
    assert bounces.read_maildir(engine, folder=maildir, now=NOW, soft_limit=2).read == 0
    assert not list((maildir / "new").iterdir())

    # A second soft bounce reaches the limit of 2: suspended.
    _deliver(maildir, dsn("full@exemple.org", "4.2.2", "delayed", "452 4.2.2 Mailbox full"))
    assert bounces.read_maildir(engine, folder=maildir, now=NOW, soft_limit=2).suspended == 1
    assert _status(engine)["full@exemple.org"][:2] == ("bounced", 2)


def test_a_folder_that_is_not_a_maildir_is_one_clear_line(engine, tmp_path: Path) -> None:  # noqa: ANN001
    with pytest.raises(ConfigError, match=r"VEILLE_BOUNCE_MAILDIR: .* is not a maildir"):
        bounces.read_maildir(engine, folder=tmp_path / "nowhere", now=NOW)


def test_the_pull_job_reads_the_bounce_mailbox(settings, maildir: Path) -> None:  # noqa: ANN001
    from veille.scheduler.jobs import make_jobs
    from veille.store import open_store

    settings.sources.write_text("sources: []\n")
    mine = settings.model_copy(update={"bounce_maildir": maildir})
    engine = open_store(mine.db_url)
    _subscribers(engine, "gone@exemple.org")
    _deliver(maildir, dsn("gone@exemple.org", "5.1.1", "failed", "550 User unknown"))
    figures = make_jobs(engine, mine).pull(NOW)
    assert figures["bounces_hard"] == 1 and figures["suspended"] == 1
    assert _status(engine)["gone@exemple.org"][0] == "bounced"
    engine.dispose()
