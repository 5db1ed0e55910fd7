"""Rendered emails as MIME messages: multipart/alternative, plain text first, then HTML.

Message-IDs are derived from what the message is (issue and subscriber), so a copy resent after
a crash carries the same id and mail clients that dedupe by Message-ID show it once.
"""

from __future__ import annotations

from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from veille.digest.render import Rendered


def domain_of(address: str) -> str:
    """The domain of an address such as 'Veille <veille@example.org>'."""
    return parseaddr(address)[1].rpartition("@")[2] or "localhost"


def message_id(kind: str, key: str, mail_from: str) -> str:
    return f"<veille.{kind}.{key}@{domain_of(mail_from)}>"


def _message(
    rendered: Rendered, *, to: str, mail_from: str, msgid: str, date: datetime, lang: str
) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = rendered.subject
    msg["From"] = mail_from
    msg["To"] = Address(addr_spec=to)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = msgid
    msg.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    msg["Content-Language"] = lang  # after the parts: set_content drops Content-* headers
    return msg


def digest_message(
    rendered: Rendered,
    *,
    to: str,
    mail_from: str,
    reply_to: str | None,
    msgid: str,
    date: datetime,
    lang: str,
    unsubscribe_url: str,
) -> EmailMessage:
    """A digest with the RFC 2369 / RFC 8058 one-click unsubscribe headers."""
    msg = _message(rendered, to=to, mail_from=mail_from, msgid=msgid, date=date, lang=lang)
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["List-Id"] = f"Veille <digest.{domain_of(mail_from)}>"
    msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Precedence"] = "list"
    return msg


def confirmation_message(
    rendered: Rendered, *, to: str, mail_from: str, msgid: str, date: datetime, lang: str
) -> EmailMessage:
    msg = _message(rendered, to=to, mail_from=mail_from, msgid=msgid, date=date, lang=lang)
    msg["Auto-Submitted"] = "auto-generated"
    return msg
