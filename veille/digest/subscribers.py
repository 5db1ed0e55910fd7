"""Subscribers: add, confirm (double opt-in), unsubscribe, remove, CSV import and export.

Addresses are checked by email-validator (syntax only, no DNS) and stored lower-cased. A new
subscriber is `pending` until they follow the signed link of their confirmation email; an
admin migrating an existing list may add them `confirmed` directly (`--confirmed`, CSV import).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session

from veille.digest import tokens
from veille.errors import VeilleError
from veille.store import subscribers as q
from veille.store.models import Subscriber
from veille.types import LANGUAGES, TOPICS

CSV_FIELDS = (
    "email",
    "lang",
    "topics",
    "status",
    "created_at",
    "confirmed_at",
    "unsubscribed_at",
    "frequency",
    "paused",
)
FREQUENCIES = ("daily", "weekly")


class SubscriberError(VeilleError):
    """A subscriber's address, language, topics or status is not acceptable."""


class AddressError(SubscriberError):
    """The email address is not a valid address."""


@dataclass(frozen=True)
class ImportReport:
    added: int
    skipped: int  # already subscribed: left as they are


def normalise_email(raw: str) -> str:
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise AddressError(f"{raw.strip()!r} is not a valid email address: {exc}") from None


def parse_lang(raw: str | None) -> str:
    lang = (raw or "fr").strip().lower()
    if lang not in LANGUAGES:
        raise SubscriberError(f"language {lang!r} is not offered (choose {', '.join(LANGUAGES)})")
    return lang


def parse_topics(raw: str | Iterable[str] | None) -> list[str]:
    """Topics from 'a,b', 'a b' or a list; none given means all of them."""
    parts = re.split(r"[\s,;|]+", raw) if isinstance(raw, str) else list(raw or [])
    chosen = {p.strip() for p in parts if p and p.strip()}
    unknown = sorted(chosen - set(TOPICS))
    if unknown:
        raise SubscriberError(f"unknown topic {unknown[0]!r} (choose among {', '.join(TOPICS)})")
    return [t for t in TOPICS if t in chosen] or list(TOPICS)


def parse_frequency(raw: str | None) -> str:
    frequency = (raw or "daily").strip().lower()
    if frequency not in FREQUENCIES:
        raise SubscriberError(f"frequency {frequency!r} is not offered (choose daily or weekly)")
    return frequency


def reader(session: Session, *, secret: str, token: str) -> Subscriber:
    """The subscriber a preferences link was made for, or LinkError (forged, or gone)."""
    sid, email_key = tokens.read_preferences(secret, token)
    sub = q.by_id(session, subscriber_id=sid)
    if sub is None or not tokens.email_matches(email_key, sub.email):
        raise tokens.LinkError("this preferences link is for an address no longer subscribed")
    return sub


def update_preferences(
    session: Session,
    *,
    secret: str,
    token: str,
    topics: Iterable[str],
    lang: str | None,
    frequency: str | None,
    paused: bool,
) -> Subscriber:
    """Save a reader's choices from the preferences page; nothing is saved if one is bad."""
    sub = reader(session, secret=secret, token=token)
    chosen, language, cadence = (
        parse_topics(list(topics)),
        parse_lang(lang),
        parse_frequency(frequency),
    )
    sub.topics, sub.lang, sub.frequency, sub.paused = chosen, language, cadence, paused
    return q.save(session, subscriber=sub)


def add(
    session: Session,
    *,
    email: str,
    now: datetime,
    lang: str | None = None,
    topics: str | Iterable[str] | None = None,
    confirmed: bool = False,
    frequency: str | None = None,
) -> tuple[Subscriber, bool]:
    """Create or re-open a subscription; True when a confirmation email should go out."""
    address, language, chosen = normalise_email(email), parse_lang(lang), parse_topics(topics)
    cadence = parse_frequency(frequency)
    sub = q.by_email(session, email=address)
    if sub is None:
        sub = Subscriber(email=address, created_at=now)
    elif sub.status == "confirmed":
        return sub, False
    sub.lang, sub.topics, sub.failures = language, chosen, 0
    sub.frequency, sub.paused, sub.soft_bounces = cadence, False, 0
    sub.status = "confirmed" if confirmed else "pending"
    sub.confirmed_at = now if confirmed else None
    sub.unsubscribed_at = None
    return q.save(session, subscriber=sub), not confirmed


def confirm(session: Session, *, secret: str, token: str, now: datetime) -> Subscriber:
    """Follow a confirmation link: pending → confirmed (again: no change)."""
    sid, email = tokens.read_confirm(secret, token)
    sub = q.by_id(session, subscriber_id=sid)
    if sub is None or sub.email != email:
        raise tokens.LinkError("this confirmation link is for an address no longer subscribed")
    if sub.status in ("unsubscribed", "bounced"):
        raise tokens.LinkError("this address has left the list since; subscribe again")
    q.confirm(session, subscriber_id=sid, now=now)  # only from pending: a second click is a no-op
    return sub


def unsubscribe(session: Session, *, secret: str, token: str, now: datetime) -> Subscriber | None:
    """Follow a one-click unsubscribe link; None when the address was deleted already."""
    sid, email = tokens.read_unsubscribe(secret, token)
    sub = q.by_id(session, subscriber_id=sid)
    if sub is None or sub.email != email:
        return None
    q.unsubscribe(session, subscriber_id=sid, now=now)  # the first date stands
    return sub


def remove(session: Session, *, email: str) -> Subscriber:
    sub = q.by_email(session, email=email.strip())
    if sub is None:
        raise SubscriberError(f"{email.strip()!r} is not a subscriber")
    q.delete(session, subscriber=sub)
    return sub


def import_csv(session: Session, *, path: Path, now: datetime) -> ImportReport:
    """Add every row of a CSV (header with at least `email`); nothing is added if a row is bad."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SubscriberError(f"{path}: cannot read: {exc}") from None
    return import_text(session, text=text, origin=str(path), now=now)


def import_text(session: Session, *, text: str, origin: str, now: datetime) -> ImportReport:
    """`import_csv` over the text of a CSV file (the web page's upload)."""
    try:
        reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
        rows = list(reader)
    except csv.Error as exc:
        raise SubscriberError(f"{origin}: not a CSV file: {exc}") from None
    if not reader.fieldnames or "email" not in reader.fieldnames:
        raise SubscriberError(f"{origin}: the first line must name the columns, one being 'email'")
    parsed: list[Subscriber] = []
    for line, row in enumerate(rows, start=2):
        try:
            parsed.append(_from_row(row, now))
        except (SubscriberError, ValueError) as exc:
            raise SubscriberError(f"{origin} line {line}: {exc}") from None
    added = skipped = 0
    for sub in parsed:
        if q.by_email(session, email=sub.email) is not None:
            skipped += 1
            continue
        q.save(session, subscriber=sub)
        added += 1
    return ImportReport(added=added, skipped=skipped)


def _from_row(row: dict[str, str | None], now: datetime) -> Subscriber:
    status = (row.get("status") or "confirmed").strip().lower()
    if status not in q.STATUSES:
        raise SubscriberError(f"status {status!r} is not one of {', '.join(q.STATUSES)}")

    def when(key: str, default: datetime | None) -> datetime | None:
        value = (row.get(key) or "").strip()
        if not value:
            return default
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    return Subscriber(
        email=normalise_email(row.get("email") or ""),
        frequency=parse_frequency(row.get("frequency")),
        paused=(row.get("paused") or "").strip().lower() in ("1", "true", "yes", "oui"),
        lang=parse_lang(row.get("lang")),
        topics=parse_topics(row.get("topics")),
        status=status,
        created_at=when("created_at", now),
        confirmed_at=when("confirmed_at", now if status == "confirmed" else None),
        unsubscribed_at=when("unsubscribed_at", now if status == "unsubscribed" else None),
    )


def export_csv(session: Session, out: TextIO) -> int:
    """Write every subscriber as CSV (the format import_csv reads); returns the count."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    subs = q.all_subscribers(session)
    for s in subs:
        writer.writerow(
            [
                s.email,
                s.lang,
                " ".join(s.topics),
                s.status,
                *(
                    d.isoformat() if d else ""
                    for d in (s.created_at, s.confirmed_at, s.unsubscribed_at)
                ),
                s.frequency,
                "true" if s.paused else "false",
            ]
        )
    return len(subs)
