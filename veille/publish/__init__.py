"""Publish the digest to the web: the static archive and the output feeds.

Everything is written under one folder (DATA_DIR/digests by default) that the web app serves
at `/digests/`: `YYYY-MM-DD.html`, `index.html`, `topics/<topic>.html` and `feeds/<name>.atom|
.rss|.json` with name `all`, `digests` or a topic. A file is rewritten only when its content
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
from veille.digest import render, select
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
    policy: HoldPolicy = HoldPolicy(),
) -> PublishReport:
    """Write the archive pages and the feeds for every saved issue (items that wait for a
    curator under the digest policy stay out of the feeds too)."""
    links = render.Links(base_url)
    rows = q.recent_digests(session, limit=ARCHIVE_ISSUES)
    issues = [select.from_digest(d) for d in rows]
    created = {d.date: d.created_at for d in rows}
    recent = select.recent_entries(session, now=now, limit=FEED_ITEMS * 2, policy=policy)
    entries = recent[:FEED_ITEMS]
    files: dict[str, bytes] = {
        path: html.encode()
        for path, html in archive_pages(issues, links=links, lang=lang, tz=tz).items()
    }
    for meta, chosen in _item_feed_plan(entries, links, lang):
        for fname, body in item_feeds(chosen, meta, links=links, lang=lang, now=now).items():
            files[f"feeds/{fname}"] = body
    digest_meta = FeedMeta(
        "digests",
        _t(lang, "Veille: daily issues"),
        _t(lang, "One entry a day with the stories of the day."),
        links.index,
    )
    for fname, body in issues_feeds(
        issues[:FEED_ITEMS], digest_meta, links=links, lang=lang, now=now, created=created
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
            policy=HoldPolicy.of(settings),
        )


def folder(settings: Settings) -> Path:
    """Where the archive and feeds are written (and served from, at /digests/)."""
    return settings.data_dir / "digests"


def _item_feed_plan(entries, links: render.Links, lang: str):  # noqa: ANN001, ANN202
    lang = i18n.normalise(lang)
    yield (
        FeedMeta(
            "all",
            _t(lang, "Veille: all stories"),
            _t(lang, "Every story of the veille, newest first."),
            links.index,
        ),
        entries,
    )
    for topic in TOPICS:
        name = TOPIC_NAMES[topic][lang]
        meta = FeedMeta(
            topic,
            _t(lang, "Veille: %(topic)s") % {"topic": name},
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
