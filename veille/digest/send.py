"""Send an issue to every confirmed subscriber, once, and survive being killed half-way.

Each (issue, subscriber) has a Delivery row. A run adds the missing rows, then walks the open
ones (pending, failed): it records `sending` at the transport's release point and `sent` once
the server answers. A row a killed run left in `sending` was released, so the restart counts it
as sent rather than risk a second copy; everything else is simply sent by the restart. Hence
`sending` is committed before each release, while `sent` may wait for the next commit: one
commit a message.
Transient errors are retried with backoff (and again by the next run); a permanent rejection
marks the row, and after BOUNCE_AFTER of them in a row the address is set aside as bounced.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from veille import metrics
from veille.digest import brand as branding
from veille.digest import compose, render, tokens
from veille.digest.compose import Outgoing
from veille.digest.select import Plan
from veille.digest.transport import Claimed, Rejected, Transient, Transport
from veille.errors import DeliveryError
from veille.settings import Settings
from veille.store import digests as q
from veille.store import subscribers as subs
from veille.store.db import session_scope, utcnow
from veille.store.models import Delivery, Subscriber

log = logging.getLogger(__name__)
BOUNCE_AFTER = 3  # permanent rejections in a row before an address counts as bounced
_PLACEHOLDER = "https://unsubscribe.invalid/veille-placeholder"


@dataclass
class SendReport:
    day: str
    where: str
    sent: int = 0
    failed: int = 0
    rejected: int = 0
    skipped: int = 0
    recovered: int = 0  # released by a killed run, counted as sent
    done_before: int = 0  # already sent by an earlier run
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def send_issue(
    engine: Engine,
    issue: Plan,
    *,
    settings: Settings,
    transport: Transport,
    now: datetime,
    tries: int = 3,
    backoff: float = 1.0,
    lane: tuple[int, int] | None = None,
) -> SendReport:
    """Deliver a saved issue; raises DeliveryError when the server is unreachable.

    `lane=(i, n)` sends only to subscribers whose id is i modulo n: n senders (`veille
    worker`s) share an issue, each delivery still claimed by one of them only."""
    if issue.digest_id is None:
        raise ValueError("freeze the issue before sending it")
    started = time.monotonic()
    report = SendReport(day=issue.day.isoformat(), where=transport.where)
    with session_scope(engine) as session:
        wanted = wanted_subscribers(session, issue, settings=settings, lane=lane)
        q.add_deliveries(session, digest_id=issue.digest_id, subscriber_ids=wanted, now=now)
        report.recovered = q.recover_released(
            session, digest_id=issue.digest_id, now=now, lane=lane
        )
        report.done_before = q.delivery_counts(session, digest_id=issue.digest_id).get("sent", 0)
        report.done_before -= report.recovered
        todo = q.open_deliveries(session, digest_id=issue.digest_id, lane=lane)
    mails = _Mails(issue, settings)
    ledger = _Ledger(engine)
    gap, last = 1.0 / settings.send_rate, 0.0
    try:
        for delivery, subscriber in todo:
            if subscriber.status != "confirmed" or not wants(subscriber, issue):
                why = "paused" if subscriber.paused else subscriber.status
                _mark(engine, delivery, status="skipped", last_error=f"subscriber {why}")
                report.skipped += 1
                continue
            wait = last + gap - time.monotonic()
            if wait > 0:  # not sleep(0): it still gives the CPU away
                time.sleep(wait)
            last = time.monotonic()
            _deliver_one(
                engine, ledger, transport, mails, delivery, subscriber, report, tries, backoff
            )
    finally:
        transport.close()
        ledger.close()
        report.seconds = time.monotonic() - started
        _close_issue(engine, issue.digest_id)
    log.info(
        "digest sent",
        extra={
            "stage": "digest",
            "item": report.day,
            "sent": report.sent,
            "failed": report.failed,
            "where": report.where,
        },
    )
    return report


def wanted_subscribers(
    session: Session, issue: Plan, *, settings: Settings, lane: tuple[int, int] | None = None
) -> list[int]:
    """Ids of the confirmed subscribers who get `issue` (of lane i of n when given)."""
    return [
        s.id  # type: ignore[misc]
        for s in subs.confirmed(session)
        if wants(s, issue)
        and (settings.send_empty or issue.count(s.topics) > 0)
        and (lane is None or (s.id or 0) % lane[1] == lane[0])
    ]


def wants(subscriber: Subscriber, issue: Plan) -> bool:
    """A reader gets the issues of the frequency they chose, unless they paused."""
    return not subscriber.paused and (subscriber.frequency or "daily") == issue.kind


class _Mails:
    """Renders and serialises once per (language, topics), then fills in each subscriber."""

    def __init__(self, issue: Plan, settings: Settings) -> None:
        self.issue, self.settings = issue, settings
        self.secret = settings.secret()
        self.kind = "digest" if issue.kind == "daily" else "weekly"
        self.links = render.Links(settings.base_url)
        self.brand = branding.from_settings(settings)
        self._templates: dict[tuple[str, tuple[str, ...]], compose.DigestTemplate] = {}

    def _template(self, lang: str, topics: tuple[str, ...]) -> compose.DigestTemplate:
        if (lang, topics) not in self._templates:
            rendered = render.render_email(
                self.issue,
                lang=lang,
                links=self.links,
                unsubscribe_url=_PLACEHOLDER,
                topics=topics,
                cap=self.settings.digest_cap,
                tz=self.settings.timezone,
                brand=self.brand,
                reader=render.placeholder_links(_PLACEHOLDER),
            )
            self._templates[lang, topics] = compose.DigestTemplate(
                rendered,
                placeholder=_PLACEHOLDER,
                mail_from=self.brand.sender(self.settings.mail_from),
                reply_to=self.settings.reply_to,
                lang=lang,
                logo=self.brand.logo,
                list_name=self.brand.title(lang),
            )
        return self._templates[lang, topics]

    def build(self, sub: Subscriber) -> Outgoing:
        sid, base = sub.id or 0, self.settings.base_url
        token = tokens.unsubscribe_token(self.secret, subscriber_id=sid, email=sub.email)

        preferences = tokens.preferences_url(
            base, tokens.preferences_token(self.secret, subscriber_id=sid, email=sub.email)
        )

        def links(suffix: str) -> str:
            if suffix == "/p":
                return preferences
            item_id = int(suffix.rpartition("/")[2])
            key = tokens.feedback_token(self.secret, subscriber_id=sid, item_id=item_id)
            return tokens.feedback_url(base, key)

        return self._template(sub.lang, tuple(sub.topics)).fill(
            to=sub.email,
            msgid=compose.message_id(
                self.kind, f"{self.issue.day}.{sub.id}", self.settings.mail_from
            ),
            date=utcnow(),
            unsubscribe_url=tokens.unsubscribe_url(self.settings.base_url, token),
            links=links,
        )


class _Ledger:
    """The per-message writes, on one connection held for the run.

    `released` commits the `sending` row before the message's final dot, as ever. `accepted`
    only queues the `sent` row for the next commit: killed before it, the row stays `sending`,
    which the restart counts as sent, the same outcome. One commit a message instead of two.
    """

    def __init__(self, engine: Engine) -> None:
        self.conn = engine.connect()
        self.sent: list[tuple[int, datetime]] = []
        self.reset: list[int] = []  # subscribers whose rejection count goes back to zero

    def released(self, delivery: Delivery, message_id: str) -> None:
        claimed = q.mark_sending(
            self.conn,
            delivery_id=delivery.id,  # type: ignore[arg-type]
            message_id=message_id,
            now=utcnow(),
        )
        self.commit()
        if not claimed:
            raise Claimed(f"delivery {delivery.id} was claimed by another sender")

    def accepted(self, delivery: Delivery, subscriber: Subscriber) -> None:
        self.sent.append((delivery.id, utcnow()))  # type: ignore[arg-type]
        if subscriber.failures:
            self.reset.append(subscriber.id)  # type: ignore[arg-type]
        metrics.DELIVERIES.labels(status="sent").inc()

    def commit(self) -> None:
        try:
            q.mark_sent(self.conn, sent=self.sent, reset=self.reset)
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise
        self.sent.clear()
        self.reset.clear()

    def close(self) -> None:
        try:
            self.commit()
        finally:
            self.conn.close()


def _deliver_one(
    engine: Engine,
    ledger: _Ledger,
    transport: Transport,
    mails: _Mails,
    delivery: Delivery,
    subscriber: Subscriber,
    report: SendReport,
    tries: int,
    backoff: float,
) -> None:
    mail = mails.build(subscriber)
    name = f"{'' if mails.issue.kind == 'daily' else 'weekly-'}{report.day}/{subscriber.id:06d}"
    for attempt in range(1, tries + 1):
        try:
            transport.deliver(
                mail, name=name, release=lambda: ledger.released(delivery, mail.message_id)
            )
        except Claimed:
            report.skipped += 1
            return
        except Rejected as exc:
            _reject(engine, delivery, subscriber, str(exc))
            report.rejected += 1
            report.errors.append(f"{subscriber.email}: {exc}")
            return
        except Transient as exc:
            if exc.released and exc.code is None:  # no answer after the dot: may have arrived
                _mark(
                    engine,
                    delivery,
                    status="sent",
                    last_error=f"assumed delivered: {exc}",
                    message_id=mail.message_id,
                )
                report.sent += 1
                return
            if attempt < tries:
                log.warning(
                    "transient delivery error, retrying",
                    extra={"stage": "digest", "item": name, "error": str(exc)},
                )
                time.sleep(backoff * 2 ** (attempt - 1))
                continue
            _mark(engine, delivery, status="failed", last_error=str(exc), tried=not exc.released)
            report.failed += 1
            report.errors.append(f"{subscriber.email}: {exc}")
            if exc.connection:
                raise DeliveryError(
                    f"{exc}; deliveries left pending, run again to finish"
                ) from None
            return
        except DeliveryError as exc:
            _mark(engine, delivery, status="failed", last_error=str(exc))
            raise
        ledger.accepted(delivery, subscriber)
        report.sent += 1
        return


def _mark(
    engine: Engine,
    delivery: Delivery,
    *,
    status: str,
    last_error: str | None = None,
    message_id: str | None = None,
    tried: bool = False,
) -> bool:
    """Move the delivery to `status` unless it moved on already (a retried run, another
    sender): the store's transition is conditional, and only a move is counted."""
    with session_scope(engine) as session:
        moved = q.set_delivery_status(
            session,
            delivery_id=delivery.id,  # type: ignore[arg-type]
            status=status,
            now=utcnow(),
            last_error=last_error,
            message_id=message_id,
            tried=tried,
        )
    if moved and status in ("sent", "failed", "rejected"):
        metrics.DELIVERIES.labels(status=status).inc()
    return moved


def _reject(engine: Engine, delivery: Delivery, subscriber: Subscriber, error: str) -> None:
    if not _mark(engine, delivery, status="rejected", last_error=error, tried=True):
        return  # already closed: its rejection, if any, was counted then
    with session_scope(engine) as session:
        bounced = q.count_rejection(
            session,
            subscriber_id=subscriber.id,  # type: ignore[arg-type]
            bounce_after=BOUNCE_AFTER,
        )
    if bounced:
        log.warning("address bounced", extra={"stage": "digest", "item": subscriber.id})


def _close_issue(engine: Engine, digest_id: int) -> None:
    """Stamp the issue sent once no delivery is left open."""
    with session_scope(engine) as session:
        q.close_issue(session, digest_id=digest_id, now=utcnow())
