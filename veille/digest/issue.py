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

from veille.digest import brand as branding
from veille.digest import compose, hold, render, select, tokens, weekly
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


def next_week(
    session: Session, *, settings: Settings, now: datetime, day: date | None = None
) -> Plan:
    """The weekly issue dated `day` (default: today), not saved."""
    day = day or select.local_day(now, settings.timezone)
    return weekly.plan_week(session, day=day, now=now, cap=settings.digest_cap)


def build_weekly(
    engine: Engine, *, settings: Settings, now: datetime, day: date | None = None
) -> Plan | None:
    """Save the weekly issue of `day` when `day` is VEILLE_WEEKLY_DAY; None otherwise or
    when it would be empty (and empty issues are not sent)."""
    day = day or select.local_day(now, settings.timezone)
    if not weekly.is_weekly_day(day, settings.weekly_weekday):
        return None
    with session_scope(engine) as session:
        issue = next_week(session, settings=settings, now=now, day=day)
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
    brand = branding.from_settings(settings)
    rendered = render.render_confirmation(
        email=subscriber.email,
        lang=subscriber.lang,
        links=render.Links(settings.base_url),
        confirm_url=tokens.confirm_url(settings.base_url, token),
        brand=brand,
    )
    stamp = now.strftime("%Y%m%dT%H%M%S")
    msg = compose.confirmation_message(
        rendered,
        to=subscriber.email,
        mail_from=brand.sender(settings.mail_from),
        logo=brand.logo,
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
    """The email of `issue` as a subscriber of `lang` and `topics` would get it (its logo
    shown from the archive folder, where the publisher copies it)."""
    brand = branding.from_settings(settings)
    links = render.Links(settings.base_url)
    rendered = render.render_email(
        issue,
        lang=lang,
        links=links,
        unsubscribe_url=tokens.unsubscribe_url(settings.base_url, "preview"),
        topics=topics,
        cap=settings.digest_cap,
        tz=settings.timezone,
        brand=brand,
        reader=render.ReaderLinks(
            unsubscribe=tokens.unsubscribe_url(settings.base_url, "preview"),
            preferences=tokens.preferences_url(settings.base_url, "preview"),
            feedback=lambda item_id: tokens.feedback_url(settings.base_url, "preview"),
        ),
    )
    if brand.logo is None:
        return rendered
    html = rendered.html.replace(f"cid:{branding.LOGO_CID}", links.root + brand.logo.filename)
    return render.Rendered(rendered.subject, rendered.text, html)


@dataclass(frozen=True)
class RunReport:
    """What the daily job did: the issue (None: nothing new) and the deliveries."""

    issue: Plan | None
    delivery: sending.SendReport | None = None
    weekly: Plan | None = None
    weekly_delivery: sending.SendReport | None = None

    def figures(self) -> dict[str, int]:
        """Counts for the job history (the scheduler's JobFunc result)."""
        out = {"stories": self.issue.count() if self.issue else 0}
        if self.weekly is not None:
            out["weekly_stories"] = self.weekly.count()
        if self.weekly_delivery is not None:
            out["weekly_sent"] = self.weekly_delivery.sent
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
    """The daily job: save the issue (and on VEILLE_WEEKLY_DAY the weekly one), then send them.
    Writing the archive and feeds is the publish job's (the scheduler runs it right after;
    `veille digest` calls it too), so each archive page is rendered once a day."""
    issue = build(engine, settings=settings, now=now, day=day)
    week = build_weekly(engine, settings=settings, now=now, day=day)
    if issue is None and week is None:
        return RunReport(None)
    report = send(engine, issue, settings=settings, now=now) if deliver and issue else None
    week_report = send(engine, week, settings=settings, now=now) if deliver and week else None
    return RunReport(issue, report, week, week_report)
