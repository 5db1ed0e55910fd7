"""Shared by the newsletter tests: a real PNG logo, settings with a brand, the outbox, links."""

from __future__ import annotations

import email
import re
import struct
import zlib
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

from pydantic import SecretStr

from veille.settings import Settings

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # a Wednesday
BASE = "http://testserver"


def png(width: int = 120, height: int = 40, rgb: tuple[int, int, int] = (30, 110, 80)) -> bytes:
    """A real, valid PNG (one colour), written by hand: no imaging library needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def branded(settings: Settings, tmp_path: Path, **more: object) -> Settings:
    logo = tmp_path / "logo.png"
    logo.write_bytes(png())
    values = {
        "base_url": BASE,
        "secret_key": SecretStr("newsletter test secret"),
        "newsletter_name": "La Lettre des Communs",
        "sender_name": "Les Communs de Saint-Aubin",
        "mail_from": "lettre@communs.example.org",
        "reply_to": "equipe@communs.example.org",
        "logo": logo,
        "accent_color": "#1e6e50",
        "association_name": "Association Les Communs",
        "postal_address": "3 rue des Lilas, 35000 Rennes",
        "weekly_day": "thursday",
        "send_rate": 1000.0,
    }
    values.update(more)
    return settings.model_copy(update=values)


def outbox(settings: Settings, pattern: str = "*.eml") -> list[EmailMessage]:
    files = sorted((settings.data_dir / "outbox").rglob(pattern))
    return [email.message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]  # type: ignore[misc]


def html_of(msg: EmailMessage) -> str:
    return msg.get_body(("html",)).get_content()  # type: ignore[union-attr]


def text_of(msg: EmailMessage) -> str:
    return msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def path_of(url: str) -> str:
    """The path of an absolute link of the email, for the TestClient."""
    return "/" + url.split("/", 3)[3]


def links(html: str, prefix: str) -> list[str]:
    return [
        m.replace("&amp;", "&")
        for m in re.findall(rf'href="({re.escape(BASE + prefix)}[^"]+)"', html)
    ]
