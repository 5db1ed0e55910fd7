"""Where messages go: an SMTP server (`VEILLE_SMTP_URL`) or, with none, an outbox folder.

`deliver(mail, name=…, release=…)` takes a serialised message (compose.Outgoing) and calls
`release()` at the one moment after which it may reach its reader: for SMTP, after the body
is sent and just before the final dot that commits the transaction (a connection lost before
the dot delivers nothing); for the outbox, once the .eml file is in place. The caller records
the release durably, which is what lets a killed run restart without sending anyone a second
copy.

Errors: `Rejected` (5xx, permanent for that address), `Transient` (4xx, timeouts, lost
connections; `connection=True` when the server itself is unreachable), and a plain
DeliveryError for what a retry cannot fix (bad URL, login refused). The password in the URL
is never logged nor put in a message.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from veille.digest.compose import Outgoing
from veille.errors import DeliveryError

log = logging.getLogger(__name__)
_LEADING_DOT = re.compile(rb"^\.", re.M)


class Transient(DeliveryError):
    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        released: bool = False,
        connection: bool = False,
    ) -> None:
        super().__init__(message)
        self.code, self.released, self.connection = code, released, connection


class Rejected(DeliveryError):
    def __init__(self, message: str, *, code: int) -> None:
        super().__init__(message)
        self.code = code


class Claimed(DeliveryError):
    """Another sender released this delivery first: the message is dropped unsent."""


class Transport(Protocol):
    where: str

    def deliver(self, mail: Outgoing, *, name: str, release: Callable[[], None]) -> None: ...

    def close(self) -> None: ...


class Outbox:
    """Each message becomes `<folder>/<name>.eml`; writing the same name again replaces it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.where = str(folder)

    def deliver(self, mail: Outgoing, *, name: str, release: Callable[[], None]) -> None:
        path = self.folder / f"{name}.eml"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(mail.data)
        os.replace(tmp, path)  # atomic: a reader never sees half a message
        release()

    def close(self) -> None:
        return None


class Smtp:
    """`smtp://[user:pass@]host[:587]` (STARTTLS when offered, required to log in off this
    machine) or `smtps://[user:pass@]host[:465]` (TLS from the start). One connection reused."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise DeliveryError(
                "VEILLE_SMTP_URL must look like smtp://host:587 or smtps://host:465"
            )
        self.tls = parts.scheme == "smtps"
        self.host = parts.hostname
        try:
            self.port = parts.port or (465 if self.tls else 587)
        except ValueError:
            raise DeliveryError("VEILLE_SMTP_URL has an invalid port") from None
        self.user = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self.timeout = timeout
        self.where = f"{parts.scheme}://{self.host}:{self.port}"
        self._conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        if self._conn is not None:
            return self._conn
        context = ssl.create_default_context()
        conn: smtplib.SMTP | None = None
        try:
            if self.tls:
                conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            conn.ehlo()
            if not self.tls and conn.has_extn("starttls"):
                conn.starttls(context=context)
                conn.ehlo()
            elif not self.tls and self.user and not _is_loopback(self.host):
                raise DeliveryError(
                    f"{self.where} does not offer STARTTLS: refusing to send the password in clear"
                )
            if self.user:
                conn.login(self.user, self._password or "")
            # Without this the final dot, a few bytes sent apart from the body, waits for the
            # server's delayed ACK (~40 ms a message on Linux).
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except DeliveryError:
            _close(conn)
            raise
        except smtplib.SMTPAuthenticationError as exc:
            _close(conn)
            raise DeliveryError(
                f"{self.where} refused the login of {self.user!r}: {_reply(exc)}"
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            _close(conn)
            raise Transient(f"{self.where} unreachable: {exc}", connection=True) from None
        self._conn = conn
        return conn

    def deliver(self, mail: Outgoing, *, name: str, release: Callable[[], None]) -> None:
        conn = self._connect()
        to = mail.recipient
        released = False
        try:
            self._expect(conn.mail(mail.sender), (250,), "MAIL FROM")
            self._expect(conn.rcpt(to), (250, 251), f"RCPT TO {to}")
            self._expect(conn.docmd("DATA"), (354,), "DATA")
            payload = _LEADING_DOT.sub(b"..", mail.data)
            conn.send(payload if payload.endswith(b"\r\n") else payload + b"\r\n")
            release()
            released = True
            conn.send(b".\r\n")
            self._expect(conn.getreply(), (250,), "end of DATA", released=True)
        except (Transient, Rejected):
            self._reset()
            raise
        except Claimed:  # no final dot: closing the connection makes the server drop it
            self.close()
            raise
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise Transient(f"{self.where}: {exc}", released=released) from None

    @staticmethod
    def _expect(
        reply: tuple[int, bytes], ok: tuple[int, ...], step: str, released: bool = False
    ) -> None:
        code, text = reply
        if code in ok:
            return
        message = f"{step}: {code} {text.decode('utf-8', 'replace')}"
        if 500 <= code < 600:
            raise Rejected(message, code=code)
        raise Transient(message, code=code, released=released)

    def _reset(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.rset()
        except (OSError, smtplib.SMTPException):
            self.close()

    def close(self) -> None:
        _close(self._conn)
        self._conn = None


def _close(conn: smtplib.SMTP | None) -> None:
    """QUIT politely, else just drop the socket."""
    if conn is None:
        return
    try:
        conn.quit()
    except (OSError, smtplib.SMTPException):
        conn.close()


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = (
        exc.smtp_error.decode("utf-8", "replace")
        if isinstance(exc.smtp_error, bytes)
        else str(exc.smtp_error)
    )
    return f"{exc.smtp_code} {text}"


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def open_transport(smtp_url: str | None, *, outbox: Path, timeout: float = 30.0) -> Transport:
    """SMTP when a URL is set, else the outbox folder."""
    return Smtp(smtp_url, timeout=timeout) if smtp_url else Outbox(outbox)
