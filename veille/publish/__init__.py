"""Publish the digest to the web: the static archive and the output feeds.

Everything is written under one folder (DATA_DIR/digests by default) that the web app serves
at `/digests/`: `YYYY-MM-DD.html`, `index.html`, `weekly/…`, `topics/<topic>.html`,
`digest.css`, the logo, and `feeds/<name>.atom|.rss|.json` with name `all`, `digests`,
`weekly` or a topic. A file is rewritten only when its content
changes, so its modification time (and the web app's ETag) stays put otherwise.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from veille import i18n
from veille.digest import brand as branding
from veille.digest import render, select, tokens
from veille.digest.hold import HoldPolicy
from veille.publish.archive import archive_pages
from veille.publish.feeds import FeedMeta, issues_feeds, item_feeds
from veille.settings import Settings
from veille.store import digests as q
from veille.store.db import session_scope
from veille.types import TOPIC_NAMES, TOPICS

log = logging.getLogger(__name__)
FEED_ITEMS = 100  # entries in each item feed
ARCHIVE_ISSUES = 3660  # issues kept in the archive (ten years)


@dataclass(frozen=True)
class PublishReport:
    folder: Path
    written: int  # files whose content changed
    unchanged: int
    issues: int
    stories: int

    def figures(self) -> dict[str, int]:
        """Counts for the job history (the scheduler's JobFunc result)."""
        return {
            "written": self.written,
            "unchanged": self.unchanged,
            "issues": self.issues,
            "stories": self.stories,
        }


def publish(
    session: Session,
    *,
    folder: Path,
    base_url: str,
    lang: str,
    tz: str,
    now: datetime,
    brand: branding.Brand | None = None,
    secret: str | None = None,
    policy: HoldPolicy = HoldPolicy(),
) -> PublishReport:
    """Write the archive pages and the feeds for every saved issue. With `secret`, each entry
    of the archive carries an anonymous signed "off topic?" link; items that wait for a
    curator under the digest policy stay out of the feeds too."""
    brand = brand or branding.Brand()
    links = render.Links(base_url)
    rows = q.recent_digests(session, limit=ARCHIVE_ISSUES)
    week_rows = q.recent_digests(session, limit=ARCHIVE_ISSUES, kind="weekly")
    issues = [select.from_digest(d) for d in rows]
    weeks = [select.from_digest(d) for d in week_rows]
    recent = select.recent_entries(session, now=now, limit=FEED_ITEMS * 2, policy=policy)
    entries = recent[:FEED_ITEMS]
    reader = render.ReaderLinks(feedback=_archive_feedback(base_url, secret)) if secret else None
    pages = archive_pages(
        issues, links=links, lang=lang, tz=tz, brand=brand, reader=reader, weekly=weeks
    )
    files: dict[str, bytes] = {path: html.encode() for path, html in pages.items()}
    if brand.logo is not None:
        files[brand.logo.filename] = brand.logo.data
    for meta, chosen in _item_feed_plan(entries, links, lang, brand):
        for fname, body in item_feeds(chosen, meta, links=links, lang=lang, now=now).items():
            files[f"feeds/{fname}"] = body
    name = brand.title(lang)
    for plans, plan_rows, meta in (
        (
            issues,
            rows,
            FeedMeta(
                "digests",
                _t(lang, "%(name)s: daily issues") % {"name": name},
                _t(lang, "One entry a day with the stories of the day."),
                links.index,
            ),
        ),
        (
            weeks,
            week_rows,
            FeedMeta(
                "weekly",
                _t(lang, "%(name)s: weekly issues") % {"name": name},
                _t(lang, "One entry a week with the best stories of the week."),
                links.weekly_index,
            ),
        ),
    ):
        created = {d.date: d.created_at for d in plan_rows}
        # An empty feed's date stays put across runs: the newest issue of any kind, else now.
        quiet = max((d.created_at for d in (*rows, *week_rows)), default=now)
        for fname, body in issues_feeds(
            plans[:FEED_ITEMS],
            meta,
            links=links,
            lang=lang,
            now=quiet,
            created=created,
            brand=brand,
        ).items():
            files[f"feeds/{fname}"] = body
    written = sum(_write_if_changed(folder / path, body) for path, body in files.items())
    report = PublishReport(folder, written, len(files) - written, len(issues), len(entries))
    log.info("published", extra={"stage": "publish", "written": written, "folder": str(folder)})
    return report


def publish_all(engine: Engine, *, settings: Settings, now: datetime) -> PublishReport:
    """`publish` with everything taken from the settings: DATA_DIR/digests, base URL, language."""
    with session_scope(engine) as session:
        return publish(
            session,
            folder=folder(settings),
            base_url=settings.base_url,
            lang=settings.language,
            tz=settings.timezone,
            now=now,
            brand=branding.from_settings(settings),
            secret=settings.secret(),
            policy=HoldPolicy.of(settings),
        )


def folder(settings: Settings) -> Path:
    """Where the archive and feeds are written (and served from, at /digests/)."""
    return settings.data_dir / "digests"


def _archive_feedback(base_url: str, secret: str):  # noqa: ANN202
    def link(item_id: int) -> str:
        key = tokens.feedback_token(secret, subscriber_id=tokens.ANONYMOUS, item_id=item_id)
        return tokens.feedback_url(base_url, key)

    return link


def _item_feed_plan(entries, links: render.Links, lang: str, brand: branding.Brand):  # noqa: ANN001, ANN202
    lang = i18n.normalise(lang)
    title = brand.title(lang)
    yield (
        FeedMeta(
            "all",
            _t(lang, "%(name)s: all stories") % {"name": title},
            _t(lang, "Every story of the veille, newest first."),
            links.index,
        ),
        entries,
    )
    for topic in TOPICS:
        name = TOPIC_NAMES[topic][lang]
        meta = FeedMeta(
            topic,
            _t(lang, "%(name)s: %(topic)s") % {"topic": name, "name": title},
            _t(lang, "Every story on %(topic)s, newest first.") % {"topic": name},
            links.topic(topic),
        )
        yield meta, [e for e in entries if topic in e.topics]


def _t(lang: str, text: str) -> str:
    return i18n.translations(i18n.normalise(lang), "digest").gettext(text)


def _write_if_changed(path: Path, body: bytes) -> bool:
    if path.exists() and path.read_bytes() == body:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(body)
    os.replace(tmp, path)
    return True
