"""Entry points for the CLI, the scheduler and the review page.

`build` saves today's issue (or returns the saved one), `send` delivers it, `preview` shows
the next issue exactly as a subscriber would receive it (same renderer), `send_confirmation`
starts a double opt-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from veille.digest import compose, hold, render, select, tokens
from veille.digest import send as sending
from veille.digest.select import Plan
from veille.digest.transport import Transport, open_transport
from veille.settings import Settings
from veille.store.db import session_scope
from veille.store.models import Subscriber
from veille.types import TOPICS


def next_plan(
    session: Session, *, settings: Settings, now: datetime, day: date | None = None
) -> Plan:
    """The issue of `day` (default: today where the digest is read), not saved."""
    day = day or select.local_day(now, settings.timezone)
    policy = hold.HoldPolicy.of(settings)
    return select.plan(session, day=day, now=now, tz=settings.timezone, policy=policy)


def build(
    engine: Engine, *, settings: Settings, now: datetime, day: date | None = None
) -> Plan | None:
    """Save the issue of `day`; None when it would be empty and empty issues are not sent."""
    with session_scope(engine) as session:
        issue = next_plan(session, settings=settings, now=now, day=day)
        if issue.digest_id is None and not issue.entries and not settings.send_empty:
            return None
        return select.freeze(session, issue, now=now)


def send(engine: Engine, issue: Plan, *, settings: Settings, now: datetime) -> sending.SendReport:
    """Deliver a saved issue through VEILLE_SMTP_URL, or into DATA_DIR/outbox without one."""
    return sending.send_issue(
        engine, issue, settings=settings, transport=transport(settings), now=now
    )


def send_confirmation(subscriber: Subscriber, *, settings: Settings, now: datetime) -> str:
    """Email the signed confirmation link; returns where it went (server or outbox folder)."""
    token = tokens.confirm_token(
        settings.secret(), subscriber_id=subscriber.id or 0, email=subscriber.email
    )
    rendered = render.render_confirmation(
        email=subscriber.email,
        lang=subscriber.lang,
        links=render.Links(settings.base_url),
        confirm_url=tokens.confirm_url(settings.base_url, token),
    )
    stamp = now.strftime("%Y%m%dT%H%M%S")
    msg = compose.confirmation_message(
        rendered,
        to=subscriber.email,
        mail_from=settings.mail_from,
        date=now,
        lang=subscriber.lang,
        msgid=compose.message_id("confirm", f"{subscriber.id}.{stamp}", settings.mail_from),
    )
    out = transport(settings)
    try:
        out.deliver(
            compose.outgoing(msg), name=f"confirm/{subscriber.id:06d}-{stamp}", release=lambda: None
        )
    finally:
        out.close()
    return out.where


def transport(settings: Settings) -> Transport:
    """SMTP through VEILLE_SMTP_URL, or the DATA_DIR/outbox folder without one."""
    url = settings.smtp_url.get_secret_value() if settings.smtp_url else None
    return open_transport(url, outbox=settings.data_dir / "outbox", timeout=settings.read_timeout)


def preview(
    issue: Plan, *, settings: Settings, lang: str = "fr", topics: tuple[str, ...] = TOPICS
) -> render.Rendered:
    """The email of `issue` as a subscriber of `lang` and `topics` would get it."""
    return render.render_email(
        issue,
        lang=lang,
        links=render.Links(settings.base_url),
        unsubscribe_url=tokens.unsubscribe_url(settings.base_url, "preview"),
        topics=topics,
        cap=settings.digest_cap,
        tz=settings.timezone,
    )


@dataclass(frozen=True)
class RunReport:
    """What the daily job did: the issue (None: nothing new), the files, the deliveries."""

    issue: Plan | None
    files_written: int = 0
    delivery: sending.SendReport | None = None

    def figures(self) -> dict[str, int]:
        """Counts for the job history (the scheduler's JobFunc result)."""
        out = {"stories": self.issue.count() if self.issue else 0, "files": self.files_written}
        if self.delivery is not None:
            d = self.delivery
            out.update(
                sent=d.sent,
                failed=d.failed,
                rejected=d.rejected,
                skipped=d.skipped,
                recovered=d.recovered,
            )
        return out


def run(
    engine: Engine,
    *,
    settings: Settings,
    now: datetime,
    day: date | None = None,
    deliver: bool = True,
) -> RunReport:
    """The daily job: save the issue, write the archive and feeds, then send it."""
    from veille.publish import publish_all  # same layer; imported here to keep the graph flat

    issue = build(engine, settings=settings, now=now, day=day)
    if issue is None:
        return RunReport(None)
    published = publish_all(engine, settings=settings, now=now)
    report = send(engine, issue, settings=settings, now=now) if deliver else None
    return RunReport(issue, published.written, report)
