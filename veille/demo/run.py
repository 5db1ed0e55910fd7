"""`veille demo`: the whole product on a fresh install, with no network.

A local server plays the bundled sample sites; the real pipeline pulls them (feeds, pages,
extraction, stories, topics) into a demo data folder. It plays two days so a new user finds
both halves of the product: most sources are pulled "yesterday" and yesterday's issue is
"sent" to two demo subscribers through the outbox (archive and feeds written); the other
sources are pulled today, so today's issue, not sent yet, holds stories to pin, exclude and
edit in the digest preview. Nothing here is a shortcut: it is `veille pull`, `veille digest
--send` and `veille publish` on other data.

The sample site's port is kept in the data folder (`demo-site.json`): a second run, or
`veille demo --serve`, serves it at the same address, so stored links still work and pulling
again finds the same items instead of new copies.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import Engine

from veille import pipeline, publish
from veille.demo import SITE, DemoSite, serve_site
from veille.digest import issue, subscribers
from veille.errors import VeilleError
from veille.pipeline import PullReport
from veille.settings import Settings
from veille.sources import parse_sources
from veille.store import open_store, session_scope, utcnow
from veille.store.users import create_user, get_user, set_password

DEMO_SUBSCRIBERS = (("lecture@exemple.org", "fr"), ("reader@example.org", "en"))
CURATOR = "demo"
STATE = "demo-site.json"
# Pulled today, after yesterday's issue went out: what today's preview offers to curate.
TODAYS_SOURCES = ("Partage & Cie", "Données en commun", "L'Atelier Commun")


@dataclass
class DemoResult:
    data_dir: Path
    pull: PullReport
    stories: int = 0  # in yesterday's issue, sent
    waiting: int = 0  # in today's issue, not sent yet: the preview's
    outbox: list[Path] = field(default_factory=list)
    archive: Path | None = None
    feeds: list[Path] = field(default_factory=list)


def demo_settings(settings: Settings, data_dir: Path) -> Settings:
    """The user's settings, pointed at the demo folder, the loopback and the outbox."""
    networks = sorted(set(settings.allow_networks) | {"127.0.0.0/8"})
    # Models trained from the demo's judgements stay in the demo folder, unless set.
    explicit = "models_dir" in settings.model_fields_set
    return settings.model_copy(
        update={
            "data_dir": data_dir,
            "models_dir": settings.models_dir if explicit else data_dir / "models",
            "database_url": f"sqlite:///{data_dir / 'veille.db'}",
            "allow_networks": networks,
            "fetch_articles": True,
            "smtp_url": None,
            "sources": data_dir / "feeds.yaml",
            # The demo's sources are all new: under the policy `hold` every item would wait
            # for a curator. Only the unsure ones wait here (`veille demo --serve` shows them).
            "new_source_reviews": 0,
        }
    )


def has_run(settings: Settings) -> bool:
    """True when the data folder already holds a demo (its site's port and its database)."""
    return (settings.data_dir / STATE).is_file() and (settings.data_dir / "veille.db").is_file()


def open_site(settings: Settings) -> DemoSite:
    """The sample site, at the address an earlier run of this data folder used if any."""
    state = settings.data_dir / STATE
    port = 0
    if state.is_file():
        port = int(json.loads(state.read_text(encoding="utf-8")).get("port", 0))
    try:
        site = serve_site(SITE, port=port, timezone=settings.timezone)
    except OSError:
        raise VeilleError(
            f"port {port} of the demo's sample site is busy (another demo running?): stop it, "
            f"or remove {settings.data_dir} to start over"
        ) from None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps({"port": int(site.base_url.rsplit(":", 1)[1])}) + "\n")
    return site


def _merged(first: PullReport, second: PullReport) -> PullReport:
    out = PullReport()
    for report in (first, second):
        for outcome in report.outcomes:
            out.add(outcome)
        out.sources += report.sources
        out.seconds += report.seconds
        out.new_item_ids += report.new_item_ids
        for kind, n in report.extractions.items():
            out.extractions[kind] = out.extractions.get(kind, 0) + n
        for status, n in report.requests.items():
            out.requests[status] = out.requests.get(status, 0) + n
    return out


def run_demo(settings: Settings, site: DemoSite) -> tuple[DemoResult, Engine]:
    """Yesterday: pull most sources, send that day's issue. Today: pull the others, leaving
    stories for today's preview. VeilleError when no story came out of it."""
    engine = open_store(settings.db_url)
    now = utcnow()
    yesterday = now - timedelta(days=1)
    text = site.text("/feeds.yaml")
    settings.sources.parent.mkdir(parents=True, exist_ok=True)
    settings.sources.write_text(text, encoding="utf-8")
    specs = parse_sources(text, origin=str(settings.sources))
    earlier = tuple(s.name for s in specs if s.name not in TODAYS_SOURCES)
    later = tuple(s.name for s in specs if s.name in TODAYS_SOURCES)
    first = pipeline.pull(engine, settings, specs=specs, names=earlier, force=True, now=yesterday)
    with session_scope(engine) as session:
        for email, lang in DEMO_SUBSCRIBERS:
            subscribers.add(session, email=email, now=yesterday, lang=lang, confirmed=True)
    daily = issue.run(engine, settings=settings, now=yesterday)
    second = pipeline.pull(engine, settings, specs=specs, names=later, force=True, now=now)
    result = DemoResult(settings.data_dir, _merged(first, second))
    if daily.issue is not None:
        result.stories = daily.issue.count()
    with session_scope(engine) as session:
        result.waiting = issue.next_plan(session, settings=settings, now=now).count()
    if result.stories == 0:
        pulled = result.pull.new_items
        why = (
            f"{result.pull.failed} of {result.pull.sources} sample sources failed, see above"
            if not pulled
            else f"none of the {pulled} items was filed under a topic: check that "
            f"VEILLE_MODELS_DIR ({settings.models_dir}) holds a model (veille model history)"
        )
        raise VeilleError(f"the demo ended with 0 stories: {why}")
    publish.publish_all(engine, settings=settings, now=now)
    outbox = settings.data_dir / "outbox"
    result.outbox = sorted(outbox.rglob("*.eml")) if outbox.is_dir() else []
    folder = publish.folder(settings)
    result.archive = folder / "index.html"
    result.feeds = sorted((folder / "feeds").glob("*")) if (folder / "feeds").is_dir() else []
    return result, engine


def demo_curator(engine: Engine) -> tuple[str, str]:
    """The demo curator's name and a fresh password (printed for the user)."""
    password = secrets.token_urlsafe(9)
    with session_scope(engine) as session:
        if get_user(session, name=CURATOR) is None:
            create_user(session, name=CURATOR, password=password, role="admin", now=utcnow())
        else:
            set_password(session, name=CURATOR, password=password)
    return CURATOR, password
