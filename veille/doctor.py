"""`veille doctor` and the admin's Checks page: what is left to configure or is going wrong.

Each check is a plain function of the settings (and the store, through its queries) that
returns one Finding: a severity, what is wrong and the fix, in one line. Messages are English
msgids with `{}` fields so the web page shows them through the French catalog.

Severities and the exit code of `veille doctor`: all ok → 0; a warning (the watch runs but
something is not set up, e.g. no SMTP) → 1; an error (it cannot do its job: database
unreachable, schema behind, no model, sources file unreadable, no pull for
VEILLE_PULL_STALE_HOURS) → 2.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine, make_url

from veille.errors import VeilleError
from veille.settings import Settings
from veille.sources.catalog import load_sources, write_problem
from veille.store import health as stored
from veille.store import queue, session_scope

SEVERITY = {"ok": 0, "warning": 1, "error": 2}
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}
# Free space of the data folder: below the first a warning, below the second an error.
DISK_WARNING_BYTES = 1_000_000_000
DISK_ERROR_BYTES = 200_000_000
CONNECT_TIMEOUT = 5  # seconds to reach PostgreSQL before calling it unreachable


def N_(message: str) -> str:  # noqa: N802  (marks a msgid for the catalog)
    return message


@dataclass(frozen=True)
class Finding:
    check: str  # msgid of the check's name
    severity: str  # ok | warning | error
    message: str  # msgid with {fields}
    fix: str = ""  # msgid with {fields}; empty when nothing is to be done
    params: dict[str, object] = field(default_factory=dict)

    def line(self, gettext: Callable[[str], str] = str) -> str:
        """`warning  SMTP: … → fix: …`, translated by `gettext` when given."""
        message = gettext(self.message).format(**self.params)
        text = gettext(N_("{check}: {message}")).format(check=gettext(self.check), message=message)
        if self.fix:
            fix = gettext(self.fix).format(**self.params)
            text = gettext(N_("{text} → fix: {fix}")).format(text=text, fix=fix)
        return text


def exit_code(findings: list[Finding]) -> int:
    return max((SEVERITY[f.severity] for f in findings), default=0)


def stale_since(last: datetime | None, started: datetime, now: datetime, hours: int) -> bool:
    """Pulls are stale when nothing succeeded for `hours`, counted from the last success or,
    before any, from `started` (a fresh install has that long to make its first pull)."""
    return now - (last or started) > timedelta(hours=hours)


def engine_for(settings: Settings) -> Engine:
    """An engine that neither migrates (unlike open_store) nor waits long on a dead server."""
    from veille.store.db import make_engine

    url = make_url(settings.db_url)
    if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
        url = url.update_query_dict({"connect_timeout": str(CONNECT_TIMEOUT)})
    return make_engine(url.render_as_string(hide_password=False))


def run_checks(settings: Settings, *, engine: Engine, now: datetime) -> list[Finding]:
    """Every check, in the order an admin fixes things, over an `engine_for(settings)`."""
    findings = [
        check_base_url(settings),
        check_sender(settings),
        check_smtp(settings),
        check_sources_file(settings),
        check_model(settings),
        check_disk(settings),
    ]
    db = check_database(settings, engine)
    findings.insert(0, db)
    if db.severity == "ok":
        migrations = check_migrations(engine)
        findings.insert(1, migrations)
        if migrations.severity != "ok":  # the tables read below may not exist yet
            return findings
        with session_scope(engine) as session:
            subscribers = stored.confirmed_subscriber_count(session)
        fed = stored.probe(engine)  # the pulls' freshness as /healthz reads it
        findings.append(check_subscribers(subscribers))
        findings.append(
            check_pulls(fed.last_pull, fed.enabled_sources, now, settings.pull_stale_hours)
        )
        if settings.executor == "procrastinate":
            findings.append(check_shared_secret(settings))
            with session_scope(engine) as session:
                counts = queue.job_counts(session)
                stalled = queue.stalled_job_count(session, seconds=60) if counts else 0
            findings.append(check_queue(counts, stalled))
    return findings


def check_queue(counts: dict[str, int] | None, stalled: int) -> Finding:
    """The job queue of the `veille worker`s (VEILLE_EXECUTOR=procrastinate)."""
    if counts is None:
        return Finding(
            N_("queue"),
            "error",
            N_("the job queue tables are missing from the database"),
            N_("run veille db upgrade"),
        )
    params = {"todo": counts["todo"], "doing": counts["doing"], "failed": counts["failed"]}
    if stalled:
        return Finding(
            N_("queue"),
            "warning",
            N_(
                "{stalled} job(s) held by workers silent for a minute ({todo} to do, {doing} "
                "running, {failed} failed)"
            ),
            N_("start a veille worker: it gives the jobs of dead workers back to the queue"),
            {**params, "stalled": stalled},
        )
    if counts["failed"]:
        return Finding(
            N_("queue"),
            "warning",
            N_("{failed} failed job(s) ({todo} to do, {doing} running)"),
            N_("read the workers' logs; the next tick defers due work again"),
            params,
        )
    return _ok(N_("queue"), N_("{todo} job(s) to do, {doing} running, {failed} failed"), **params)


def check_shared_secret(settings: Settings) -> Finding:
    """Several machines must sign links with one key: VEILLE_SECRET_KEY, not a generated file."""
    if settings.secret_key is None:
        return Finding(
            N_("secret key"),
            "warning",
            N_(
                "each machine generates its own key in DATA_DIR/secret.key: links signed by one "
                "fail on the others"
            ),
            N_("set the same VEILLE_SECRET_KEY on every machine"),
        )
    return _ok(N_("secret key"), N_("set by VEILLE_SECRET_KEY, shared by every machine"))


def _ok(check: str, message: str, **params: object) -> Finding:
    return Finding(check, "ok", message, params=params)


def check_database(settings: Settings, engine: Engine) -> Finding:
    shown = make_url(settings.db_url).render_as_string(hide_password=True)
    found = stored.probe(engine, pulls=False)  # the tables may not exist yet
    if not found.ok:
        return Finding(
            N_("database"),
            "error",
            N_("{url} is unreachable ({reason})"),
            N_("start the database or correct VEILLE_DATABASE_URL"),
            {"url": shown, "reason": found.error},
        )
    return _ok(N_("database"), N_("{url} answers"), url=shown)


def check_migrations(engine: Engine) -> Finding:
    from veille.store.db import pending_migrations

    pending = pending_migrations(engine)
    if pending:
        return Finding(
            N_("migrations"),
            "error",
            N_("the database schema is {count} migration(s) behind this version"),
            N_("run veille db upgrade (any other veille command also applies them)"),
            {"count": len(pending)},
        )
    return _ok(N_("migrations"), N_("the schema is up to date"))


def check_base_url(settings: Settings) -> Finding:
    url = settings.base_url
    host = (urlsplit(url).hostname or "").lower()
    if host in LOCAL_HOSTS or host.endswith(".localhost"):
        return Finding(
            N_("base URL"),
            "warning",
            N_("VEILLE_BASE_URL is {url}: links in emails, unsubscribe included, point at it"),
            N_("set VEILLE_BASE_URL to the public address, e.g. https://veille.example.org"),
            {"url": url},
        )
    if not url.startswith("https://"):
        return Finding(
            N_("base URL"),
            "warning",
            N_("VEILLE_BASE_URL is {url}: without https, login cookies are not Secure"),
            N_("serve it over https (the compose file's Caddy does) and set an https:// URL"),
            {"url": url},
        )
    return _ok(N_("base URL"), N_("{url}"), url=url)


def check_sender(settings: Settings) -> Finding:
    sender = settings.mail_from
    domain = sender.rpartition("@")[2].lower().strip(">")
    if domain in LOCAL_HOSTS or domain in {"example.org", "example.com", "localhost.localdomain"}:
        return Finding(
            N_("sender"),
            "warning",
            N_("VEILLE_MAIL_FROM is {sender}: mail servers refuse or bin such a sender"),
            N_("set VEILLE_MAIL_FROM to an address of your own domain"),
            {"sender": sender},
        )
    return _ok(N_("sender"), N_("{sender}"), sender=sender)


def check_smtp(settings: Settings) -> Finding:
    if settings.smtp_url is None:
        return Finding(
            N_("SMTP"),
            "warning",
            N_("no SMTP server: emails are written to {outbox}, not sent"),
            N_("set VEILLE_SMTP_URL=smtp://user:password@host:587"),
            {"outbox": str(settings.data_dir / "outbox")},
        )
    host = urlsplit(settings.smtp_url.get_secret_value()).hostname
    return _ok(N_("SMTP"), N_("mail goes through {host}"), host=host)


def check_subscribers(confirmed: int) -> Finding:
    if not confirmed:
        return Finding(
            N_("subscribers"),
            "warning",
            N_("no confirmed subscriber: the digest reaches no one"),
            N_("veille subscribers add you@your-domain (or the /subscribe page)"),
        )
    return _ok(N_("subscribers"), N_("{count} confirmed"), count=confirmed)


def check_sources_file(settings: Settings) -> Finding:
    path = settings.sources
    try:
        specs = load_sources(path)
    except VeilleError as exc:
        return Finding(
            N_("sources file"),
            "error",
            N_("{reason}"),
            N_("correct the file, then veille sources check"),
            {"reason": str(exc)},
        )
    problem = write_problem(path)
    if problem:
        return Finding(
            N_("sources file"),
            "warning",
            N_("the Sources page cannot save changes: {reason}"),
            params={"reason": problem},
        )
    return _ok(N_("sources file"), N_("{path}: {count} sources"), path=str(path), count=len(specs))


def check_pulls(last: datetime | None, enabled: int, now: datetime, hours: int) -> Finding:
    if not enabled:
        return Finding(
            N_("pulls"),
            "warning",
            N_("no enabled source in the database yet"),
            N_("veille pull (veille serve pulls every 10 minutes)"),
        )
    if last is None:
        return Finding(
            N_("pulls"),
            "warning",
            N_("no source has been fetched successfully yet"),
            N_("veille pull, then veille sources list shows each source's error"),
        )
    age = int((now - last).total_seconds() // 3600)
    if stale_since(last, last, now, hours):
        return Finding(
            N_("pulls"),
            "error",
            N_("no successful pull for {hours} hours (limit VEILLE_PULL_STALE_HOURS={limit})"),
            N_("check that veille serve (or the cron job) runs and that the network is up"),
            {"hours": age, "limit": hours},
        )
    return _ok(N_("pulls"), N_("last success {hours} h ago"), hours=age)


def check_model(settings: Settings) -> Finding:
    from veille.classify import load_model

    try:
        model = load_model(settings.models_dir)
    except VeilleError as exc:
        # Pulls and the web app then serve the seed model shipped in the package.
        return Finding(
            N_("model"),
            "warning",
            N_("the current classifier model cannot be loaded, the shipped seed serves ({reason})"),
            N_("veille model rollback, or veille train"),
            {"reason": str(exc)},
        )
    return _ok(N_("model"), N_("version {version}"), version=model.version)


def check_disk(settings: Settings) -> Finding:
    folder = _existing(settings.data_dir)
    free = shutil.disk_usage(folder).free
    params = {"free": f"{free / 1e9:.1f} GB", "path": str(settings.data_dir)}
    if free < DISK_WARNING_BYTES:
        return Finding(
            N_("disk"),
            "error" if free < DISK_ERROR_BYTES else "warning",
            N_("only {free} free for {path}"),
            N_("free some space or move VEILLE_DATA_DIR to a larger disk"),
            params,
        )
    return _ok(N_("disk"), N_("{free} free for {path}"), **params)


def _existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
