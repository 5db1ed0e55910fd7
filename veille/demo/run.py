"""`veille demo`: the whole product on a fresh install, with no network.

A local server plays the bundled sample sites; the real pipeline pulls them (feeds, pages,
extraction, stories, topics) into a demo data folder; the day's digest is built and "sent"
to two demo subscribers through the outbox; the archive and feeds are written. Nothing here is
a shortcut: it is `veille pull`, `veille digest --send` and `veille publish` on other data.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine

from veille import pipeline, publish
from veille.demo import SITE, serve_site
from veille.digest import issue, subscribers
from veille.pipeline.pull import PullReport
from veille.settings import Settings
from veille.sources import parse_sources
from veille.store import open_store, session_scope, utcnow
from veille.store.users import create_user, get_user, set_password

DEMO_SUBSCRIBERS = (("lecture@exemple.org", "fr"), ("reader@example.org", "en"))
CURATOR = "demo"


@dataclass
class DemoResult:
    data_dir: Path
    pull: PullReport
    stories: int = 0
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
        }
    )


def run_demo(settings: Settings) -> tuple[DemoResult, Engine]:
    engine = open_store(settings.db_url)
    now = utcnow()
    with serve_site(SITE) as site:
        text = site.text("/feeds.yaml")
        settings.sources.parent.mkdir(parents=True, exist_ok=True)
        settings.sources.write_text(text, encoding="utf-8")
        specs = parse_sources(text, origin=str(settings.sources))
        report = pipeline.pull(engine, settings, specs=specs, force=True, now=now)
    with session_scope(engine) as session:
        for email, lang in DEMO_SUBSCRIBERS:
            subscribers.add(session, email=email, now=now, lang=lang, confirmed=True)
    result = DemoResult(settings.data_dir, report)
    daily = issue.run(engine, settings=settings, now=now)
    if daily.issue is not None:
        result.stories = daily.issue.count()
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
