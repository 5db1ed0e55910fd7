"""`veille digest`, `veille publish` and `veille subscribers …`: the daily issue and its readers.

The digest modules (Jinja2, css-inline, feedgen) are imported inside the commands, so other
commands do not pay for them at start.
"""

from __future__ import annotations

import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from veille.cli import app
from veille.cli.common import state
from veille.errors import VeilleError
from veille.store import session_scope, utcnow
from veille.store import subscribers as subs_q
from veille.types import TOPIC_NAMES

subscribers_app = typer.Typer(help="People who receive the daily digest.", no_args_is_help=True)
app.add_typer(subscribers_app, name="subscribers")


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise VeilleError(f"--date {value!r} is not a date such as 2026-11-25") from None


@app.command("digest")
def digest_cmd(
    ctx: typer.Context,
    day: Annotated[
        str | None, typer.Option("--date", help="Issue date, YYYY-MM-DD (default: today).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would go out and write a preview.")
    ] = False,
    send: Annotated[bool, typer.Option("--send", help="Deliver the issue to subscribers.")] = False,
) -> None:
    """Build the day's issue and write the archive and feeds; --send also emails it.
    With --send and no confirmed subscriber, nothing is built or sent: the stories wait for
    the next issue (exit code 1)."""
    from veille import publish as publishing
    from veille.digest import issue as issues

    st = state(ctx)
    settings, now, when = st.settings, utcnow(), _day(day)
    if dry_run:
        _dry_run(ctx, when)
        return
    if send:
        _refuse_without_readers(ctx, when)
    done = issues.run(st.engine, settings=settings, now=now, day=when, deliver=send)
    if done.issue is not None or done.weekly is not None:
        publishing.publish_all(st.engine, settings=settings, now=now)
    if done.weekly is not None:  # on VEILLE_WEEKLY_DAY, for readers who chose weekly
        sent = f", sent {done.weekly_delivery.sent}" if done.weekly_delivery else ""
        typer.echo(f"weekly issue {done.weekly.day}: {done.weekly.count()} stories{sent}")
    if done.issue is None:
        typer.echo("nothing new since the last issue: no digest today (VEILLE_SEND_EMPTY=false)")
        return
    typer.echo(
        f"issue {done.issue.day}: {done.issue.count()} stories; archive and feeds in "
        f"{publishing.folder(settings)}"
    )
    if done.delivery is None:
        typer.echo("not sent (add --send to deliver it)")
        return
    d = done.delivery
    where = "the SMTP server" if settings.smtp_url else f"the outbox {d.where}"
    typer.echo(
        f"delivered {d.sent} messages to {where} in {d.seconds:.1f} s ({d.failed} failed, "
        f"{d.rejected} rejected, {d.done_before + d.recovered} sent before)"
    )
    if d.errors:
        typer.echo(f"first error: {d.errors[0]}", err=True)
    if d.failed:
        raise VeilleError(f"{d.failed} deliveries failed; run again to retry them")


def _refuse_without_readers(ctx: typer.Context, when: date | None) -> None:
    """An issue built for no one would use up its stories: keep them for the next one."""
    from veille.digest import issue as issues

    st = state(ctx)
    with session_scope(st.engine) as session:
        if subs_q.confirmed(session):
            return
        plan = issues.next_plan(session, settings=st.settings, now=utcnow(), day=when)
    if plan.digest_id is None and plan.entries:
        typer.echo(
            f"veille: no confirmed subscriber: issue {plan.day} not sent, its "
            f"{len(plan.entries)} stories are kept for the next issue "
            "(veille subscribers add EMAIL)",
            err=True,
        )
        raise typer.Exit(1)


def _dry_run(ctx: typer.Context, when: date | None) -> None:
    from veille.digest import issue as issues

    st = state(ctx)
    settings, now = st.settings, utcnow()
    with session_scope(st.engine) as session:
        plan = issues.next_plan(session, settings=settings, now=now, day=when)
        readers = subs_q.confirmed(session)
    saved = "saved" if plan.digest_id else "not saved yet"
    since = plan.period_start.isoformat(timespec="minutes") if plan.period_start else "the start"
    typer.echo(f"issue {plan.day} ({saved}): {len(plan.entries)} stories since {since}")
    for section in plan.sections():
        typer.echo(f"  {TOPIC_NAMES[section.topic]['en']} ({len(section.entries)})")
        for e in section.shown(settings.digest_cap):
            typer.echo(f"    - {e.title} ({e.source})")
        if section.more(settings.digest_cap):
            typer.echo(f"    … {section.more(settings.digest_cap)} more on the web")
    if plan.held:
        typer.echo(
            f"  waiting for a curator ({len(plan.held)}; VEILLE_DIGEST_POLICY=hold): not in this "
            "issue; judged on the review page, they go out in the next one"
        )
        for e in plan.held:
            typer.echo(f"    - {e.title} ({e.source})")
    getting = [r for r in readers if settings.send_empty or plan.count(r.topics)]
    langs = Counter(r.lang for r in getting)
    typer.echo(
        f"would go to {len(getting)} of {len(readers)} confirmed subscribers "
        f"({', '.join(f'{n} {lang}' for lang, n in sorted(langs.items())) or 'none'})"
    )
    out = settings.data_dir / "outbox" / "preview"
    out.mkdir(parents=True, exist_ok=True)
    for lang in ("fr", "en"):
        mail = issues.preview(plan, settings=settings, lang=lang)
        (out / f"{plan.day}.{lang}.html").write_text(mail.html, encoding="utf-8")
        (out / f"{plan.day}.{lang}.txt").write_text(mail.text, encoding="utf-8")
        typer.echo(f"subject ({lang}): {mail.subject}")
    typer.echo(f"preview written to {out}/{plan.day}.{{fr,en}}.{{html,txt}}")


@app.command("publish")
def publish_cmd(ctx: typer.Context) -> None:
    """Write the web archive (one page per issue, index, topics) and the output feeds."""
    from veille import publish as publishing

    st = state(ctx)
    report = publishing.publish_all(st.engine, settings=st.settings, now=utcnow())
    typer.echo(
        f"{report.issues} issues, {report.stories} recent stories: {report.written} files "
        f"written, {report.unchanged} unchanged in {report.folder}"
    )


@subscribers_app.command("add")
def add(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="Email address.")],
    lang: Annotated[str, typer.Option("--lang", help="fr or en.")] = "fr",
    topics: Annotated[
        str | None, typer.Option("--topics", help="Comma-separated topics (default: all).")
    ] = None,
    confirmed: Annotated[
        bool, typer.Option("--confirmed", help="Skip the confirmation email (list migration).")
    ] = False,
    frequency: Annotated[
        str, typer.Option("--frequency", help="daily, or weekly (on VEILLE_WEEKLY_DAY).")
    ] = "daily",
) -> None:
    """Subscribe an address; it gets a confirmation link unless --confirmed."""
    from veille.digest import issue as issues
    from veille.digest import subscribers as subs

    st = state(ctx)
    now = utcnow()
    with session_scope(st.engine) as session:
        sub, needs_mail = subs.add(
            session,
            email=email,
            lang=lang,
            topics=topics,
            confirmed=confirmed,
            now=now,
            frequency=frequency,
        )
    if not needs_mail:
        typer.echo(f"{sub.email} is subscribed ({sub.status})")
        return
    try:
        where = issues.send_confirmation(sub, settings=st.settings, now=now)
    except VeilleError as exc:
        raise VeilleError(
            f"{sub.email} added (pending) but the confirmation failed: {exc}"
        ) from None
    typer.echo(f"{sub.email} added (pending): confirmation email sent to {where}")


@subscribers_app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option("--status", help="Only this status.")] = None,
) -> None:
    """List subscribers with their language, topics and status."""
    if status is not None and status not in subs_q.STATUSES:
        raise VeilleError(f"--status {status!r}: use one of {', '.join(subs_q.STATUSES)}")
    with session_scope(state(ctx).engine) as session:
        found = subs_q.all_subscribers(session, status=status)
    table = Table("email", "lang", "topics", "status", "created", "confirmed", box=None)
    for s in found:
        confirmed_at = s.confirmed_at.strftime("%Y-%m-%d") if s.confirmed_at else ""
        table.add_row(
            s.email,
            s.lang,
            ",".join(s.topics),
            s.status,
            s.created_at.strftime("%Y-%m-%d"),
            confirmed_at,
        )
    Console().print(table)
    typer.echo(f"{len(found)} subscribers")


@subscribers_app.command("remove")
def remove(
    ctx: typer.Context, email: Annotated[str, typer.Argument(help="Email address.")]
) -> None:
    """Delete a subscriber and their delivery history."""
    from veille.digest import subscribers as subs

    with session_scope(state(ctx).engine) as session:
        sub = subs.remove(session, email=email)
    typer.echo(f"{sub.email} removed")


@subscribers_app.command("import")
def import_(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="CSV with a header: email[,lang,topics,status…].")],
) -> None:
    """Add the addresses of a CSV file, confirmed unless its status column says otherwise."""
    from veille.digest import subscribers as subs

    with session_scope(state(ctx).engine) as session:
        report = subs.import_csv(session, path=path, now=utcnow())
    typer.echo(f"{report.added} added, {report.skipped} already there")


@subscribers_app.command("export")
def export(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """Write every subscriber as CSV (the format `import` reads)."""
    from veille.digest import subscribers as subs

    with session_scope(state(ctx).engine) as session:
        if output is None:
            count = subs.export_csv(session, sys.stdout)
        else:
            with output.open("w", newline="", encoding="utf-8") as f:
                count = subs.export_csv(session, f)
    typer.echo(f"{count} subscribers exported", err=True)
