"""Rendered emails as MIME messages: multipart/alternative, plain text first, then HTML.

Message-IDs are derived from what the message is (issue and subscriber), so a copy resent after
a crash carries the same id and mail clients that dedupe by Message-ID show it once.

A digest goes to thousands of readers who differ only by address, date, Message-ID and
unsubscribe link, so `DigestTemplate` serialises it once and fills those in: the same bytes as
`digest_message(...)` serialised for SMTP, at a fraction of the cost. The reader's other links
(preferences, "off topic?" per entry) are the placeholder with a suffix (`/p`, `/f/<item>`),
filled in by the same pass.

The association's logo travels inside the message (multipart/related, `cid:`), so no image is
fetched from anywhere when the email is read.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from email import quoprimime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, default
from email.utils import format_datetime, parseaddr
from functools import lru_cache

from veille.digest.brand import LOGO_CID, Logo
from veille.digest.render import Rendered

# Values the header parser leaves as they are: dot-atoms, no quoting, no encoded words.
_ATOMS = r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*"
_PLAIN_ADDRESS = re.compile(rf"{_ATOMS}@{_ATOMS}")
_PLAIN_MSGID = re.compile(rf"<{_ATOMS}@{_ATOMS}>")


@dataclass(frozen=True)
class Outgoing:
    """A message as it goes on the wire: envelope addresses, Message-ID, CRLF bytes."""

    sender: str
    recipient: str
    message_id: str
    data: bytes


def outgoing(msg: EmailMessage) -> Outgoing:
    """Any message, serialised for SMTP."""
    return Outgoing(
        sender=parseaddr(str(msg["From"]))[1],
        recipient=parseaddr(str(msg["To"]))[1],
        message_id=str(msg["Message-ID"]),
        data=msg.as_bytes(policy=SMTP),
    )


@lru_cache(maxsize=8)  # parsed once per run, not once per message
def domain_of(address: str) -> str:
    """The domain of an address such as 'Veille <veille@example.org>'."""
    return parseaddr(address)[1].rpartition("@")[2] or "localhost"


def message_id(kind: str, key: str, mail_from: str) -> str:
    return f"<veille.{kind}.{key}@{domain_of(mail_from)}>"


def _message(
    rendered: Rendered,
    *,
    to: str,
    mail_from: str,
    msgid: str,
    date: datetime,
    lang: str,
    logo: Logo | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = rendered.subject
    msg["From"] = mail_from
    msg["To"] = Address(addr_spec=to)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = msgid
    msg.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    if logo is not None:
        html = msg.get_payload()[1]  # type: ignore[index]
        html.add_related(
            logo.data, "image", logo.subtype, cid=f"<{LOGO_CID}>", filename=logo.filename
        )
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
    logo: Logo | None = None,
    list_name: str = "Veille",
) -> EmailMessage:
    """A digest with the RFC 2369 / RFC 8058 one-click unsubscribe headers."""
    msg = _message(
        rendered, to=to, mail_from=mail_from, msgid=msgid, date=date, lang=lang, logo=logo
    )
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["List-Id"] = f"{list_name} <digest.{domain_of(mail_from)}>"
    msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Precedence"] = "list"
    return msg


def confirmation_message(
    rendered: Rendered,
    *,
    to: str,
    mail_from: str,
    msgid: str,
    date: datetime,
    lang: str,
    logo: Logo | None = None,
) -> EmailMessage:
    msg = _message(
        rendered, to=to, mail_from=mail_from, msgid=msgid, date=date, lang=lang, logo=logo
    )
    msg["Auto-Submitted"] = "auto-generated"
    return msg


class DigestTemplate:
    """A digest rendered with `placeholder` as its unsubscribe link, serialised once.

    The message is built with a marker where each subscriber's part goes: the To, Date,
    Message-ID and List-Unsubscribe header lines, and every body line holding the link.
    Quoted-printable encodes line by line, so such a line is encoded alone, by the function
    set_content uses; header lines are folded by the policy as_bytes uses.
    """

    def __init__(
        self,
        rendered: Rendered,
        *,
        placeholder: str,
        mail_from: str,
        reply_to: str | None,
        lang: str,
        logo: Logo | None = None,
        list_name: str = "Veille",
    ) -> None:
        self.placeholder = placeholder.encode()
        self.links = re.compile(re.escape(self.placeholder) + rb"(/p|/f/\d+)?")
        self.lines: dict[bytes, bytes] = {}  # body marker → its line, placeholder included
        self.dates: dict[str, bytes] = {}  # the Date line changes once a second
        salt = secrets.token_hex(8)  # markers no rendered text can contain
        text, html = (self._mark_lines(body, salt) for body in (rendered.text, rendered.html))
        msg = digest_message(
            Rendered(rendered.subject, text, html),
            to=f"to.{salt}@veille.invalid",
            mail_from=mail_from,
            reply_to=reply_to,
            msgid=f"<msgid.{salt}@veille.invalid>",
            date=datetime(2000, 1, 1, tzinfo=UTC),
            lang=lang,
            unsubscribe_url=placeholder,
            logo=logo,
            list_name=list_name,
        )
        self.sender = parseaddr(str(msg["From"]))[1]
        self.headers = {SMTP.fold_binary(h, msg[h]): h for h in _PER_SUBSCRIBER}
        head, body = msg.as_bytes(policy=SMTP).split(b"\r\n\r\n", 1)
        head_parts = _split(head + b"\r\n", self.headers)
        body_parts = _split(b"\r\n" + body, self.lines)
        # Even items are fixed bytes, odd items markers.
        self.parts = [*head_parts[:-1], head_parts[-1] + body_parts[0], *body_parts[1:]]

    def _mark_lines(self, body: str, salt: str) -> str:
        """`body` with each line holding the placeholder swapped for a marker line."""
        lines = body.encode().splitlines()  # the lines set_content encodes
        for n, line in enumerate(lines):
            if self.placeholder in line:
                marker = f"veille-line-{len(self.lines)}-{salt}".encode()
                self.lines[marker], lines[n] = line, marker
        return b"\n".join(lines).decode()

    def fill(
        self,
        *,
        to: str,
        msgid: str,
        date: datetime,
        unsubscribe_url: str,
        links: Callable[[str], str] | None = None,
    ) -> Outgoing:
        """The message for one subscriber, as bytes ready for SMTP; `links` maps a link's
        suffix (`/p`, `/f/<item>`) to this subscriber's URL."""
        plain_to = _PLAIN_ADDRESS.fullmatch(to) is not None
        stamp = format_datetime(date)
        if stamp not in self.dates:
            self.dates = {stamp: _line("Date", stamp)}
        values = {
            "To": _short_line("To", to, plain_to) or _line("To", Address(addr_spec=to)),
            "Date": self.dates[stamp],
            "Message-ID": _short_line("Message-ID", msgid, bool(_PLAIN_MSGID.fullmatch(msgid)))
            or _line("Message-ID", msgid),
            "List-Unsubscribe": _unsubscribe_line(unsubscribe_url),
        }
        url = unsubscribe_url.encode()

        def link(m: re.Match[bytes]) -> bytes:
            suffix = m.group(1)
            if not suffix or links is None:
                return url + (suffix or b"")
            return links(suffix.decode()).encode()

        out = []
        for n, part in enumerate(self.parts):
            if n % 2 == 0:
                out.append(part)
            elif part in self.headers:
                out.append(values[self.headers[part]])
            else:
                line = self.links.sub(link, self.lines[part]).decode("latin-1")
                encoded = qp_line(line, default.max_line_length)
                out.append(encoded.replace("\n", "\r\n").encode("ascii"))
        recipient = to if plain_to else parseaddr(str(Address(addr_spec=to)))[1]
        return Outgoing(self.sender, recipient, msgid, b"".join(out))


_PER_SUBSCRIBER = ("To", "Date", "Message-ID", "List-Unsubscribe")
# What quoted-printable must escape: all but printable ASCII other than "=", and tab.
_QP_SPECIAL = re.compile(r"[^\t\x20-\x3c\x3e-\x7e]")


def qp_line(line: str, maxlinelen: int = 76) -> str:
    """quoprimime.body_encode(line, maxlinelen) for one line, the same characters, faster.

    body_encode escapes through str.translate with a 256-entry table, slow per character;
    a digest fills a dozen links per reader (one "off topic?" per entry), so its lines are
    escaped here by a regex that only stops at the few characters needing it, then wrapped
    exactly as body_encode wraps. A line ending in whitespace is left to body_encode."""
    if not line or line[-1] in " \t" or "\n" in line or "\r" in line:
        return quoprimime.body_encode(line, maxlinelen)
    line = _QP_SPECIAL.sub(lambda m: f"={ord(m.group(0)):02X}", line)
    out, start = [], 0
    laststart, width = len(line) - 1 - maxlinelen, maxlinelen - 1
    while start <= laststart:
        stop = start + width
        if line[stop - 2] == "=":
            out.append(line[start : stop - 1])
            start = stop - 2
        elif line[stop - 1] == "=":
            out.append(line[start:stop])
            start = stop - 1
        else:
            out.append(line[start:stop] + "=")
            start = stop
    out.append(line[start:])
    return "\n".join(out)


def _split(data: bytes, markers: Collection[bytes]) -> list[bytes]:
    """`data` cut around each marker, which must occur exactly once."""
    if any(data.count(m) != 1 for m in markers):
        raise ValueError("a subscriber's part is not where the template expects it")
    if not markers:
        return [data]
    return re.split(b"(" + b"|".join(map(re.escape, markers)) + b")", data)


def _unsubscribe_line(url: str) -> bytes:
    """RFC 2369 wants `<url>` as it is: the email package would fold a link longer than a
    line into RFC 2047 encoded words, which mail clients do not read as a link (so no
    one-click unsubscribe). One unfolded line stays far under the 998-octet limit."""
    if url.isascii() and len(url) < 900 and "\r" not in url and "\n" not in url:
        return f"List-Unsubscribe: <{url}>\r\n".encode("ascii")
    return _line("List-Unsubscribe", f"<{url}>")


def _line(name: str, value: object) -> bytes:
    """A header line exactly as as_bytes writes it (folded, encoded words if needed)."""
    return SMTP.fold_binary(name, default.header_store_parse(name, value)[1])


def _short_line(name: str, text: str, plain: bool) -> bytes | None:
    """The same line without the slow header parser, when `text` is plain and fits."""
    line = f"{name}: {text}"
    if plain and len(line) <= SMTP.max_line_length:
        return line.encode("ascii") + b"\r\n"
    return None
