"""Output feeds: Atom 1.0 and RSS 2.0 written by feedgen, and JSON Feed 1.1.

Feeds: every in-scope story (`all`), one per topic, and the daily issues (`digests`). Entry ids
are `urn:uuid:` names derived from the item or the issue date, so they never change; `updated`
is the last change to the item or its curation, and a feed's `updated` is its newest entry's,
so writing the same content twice gives the same bytes. Content is HTML rendered by the digest
templates (text escaped) and passed through nh3 once more; every link is absolute.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import nh3
from feedgen.feed import FeedGenerator

from veille import __version__, i18n
from veille.digest import render
from veille.digest.brand import Brand
from veille.digest.entry import Entry
from veille.digest.select import Plan
from veille.types import TOPIC_NAMES

GENERATOR_URI = "https://github.com/veille-news/veille"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


@dataclass(frozen=True)
class FeedMeta:
    name: str  # file name without extension: all, digests, or a topic
    title: str
    description: str
    home: str  # the web page the feed mirrors


def stable_id(base_url: str, kind: str, key: str) -> str:
    host = urlsplit(base_url).hostname or "localhost"
    return uuid.uuid5(uuid.NAMESPACE_URL, f"veille://{host}/{kind}/{key}").urn


def item_feeds(
    entries: list[Entry], meta: FeedMeta, *, links: render.Links, lang: str, now: datetime
) -> dict[str, bytes]:
    """`{name}.atom`, `{name}.rss` and `{name}.json` for a list of story entries."""
    updated = max((e.updated for e in entries), default=now)
    rows = [
        dict(
            id=stable_id(links.base_url, "item", str(e.item_id)),
            title=e.title,
            url=e.url,
            html=nh3.clean(render.render_feed_entry(e, lang=lang)),
            summary=e.summary,
            published=e.date,
            updated=e.updated,
            tags=[(t, TOPIC_NAMES[t][i18n.normalise(lang)]) for t in e.topics],
            image=e.image,
        )
        for e in entries
    ]
    return _write_all(rows, meta, links=links, lang=lang, updated=updated)


def issues_feeds(
    issues: list[Plan],
    meta: FeedMeta,
    *,
    links: render.Links,
    lang: str,
    now: datetime,
    created: dict[str, datetime],
    brand: Brand | None = None,
) -> dict[str, bytes]:
    """The daily (or weekly) issues: one entry per issue, linking to its archive page."""
    t = i18n.translations(i18n.normalise(lang), "digest")
    rows = []
    for issue in issues:
        day = issue.day.isoformat()
        weekly = issue.kind == "weekly"
        rows.append(
            dict(
                id=stable_id(links.base_url, "weekly" if weekly else "digest", day),
                title=render.subject(issue, lang=lang, count=issue.count(), brand=brand),
                url=links.page(issue),
                html=nh3.clean(render.render_feed_issue(issue, lang=lang, links=links)),
                summary=(
                    t.gettext("The best stories of the week, by topic.")
                    if weekly
                    else t.gettext("The stories of the day, by topic.")
                ),
                published=created[day],
                updated=created[day],
                tags=[],
                image="",
            )
        )
    updated = max((r["updated"] for r in rows), default=now)
    return _write_all(rows, meta, links=links, lang=lang, updated=updated)


def _write_all(
    rows: list[dict], meta: FeedMeta, *, links: render.Links, lang: str, updated: datetime
) -> dict[str, bytes]:
    return {
        f"{meta.name}.atom": _generator(rows, meta, links, lang, updated, "atom").atom_str(
            pretty=True
        ),
        f"{meta.name}.rss": _generator(rows, meta, links, lang, updated, "rss").rss_str(
            pretty=True
        ),
        f"{meta.name}.json": _json_feed(rows, meta, links, lang),
    }


def _generator(
    rows: list[dict], meta: FeedMeta, links: render.Links, lang: str, updated: datetime, kind: str
) -> FeedGenerator:
    self_url = links.feed(meta.name, kind)
    fg = FeedGenerator()
    fg.id(links.feed(meta.name, "atom"))
    fg.title(meta.title)
    fg.subtitle(meta.description)
    fg.author({"name": "Veille", "uri": links.base_url})
    fg.link(
        href=self_url,
        rel="self",
        type="application/atom+xml" if kind == "atom" else "application/rss+xml",
    )
    fg.link(href=meta.home, rel="alternate", type="text/html")
    fg.language(lang)
    fg.updated(updated)
    fg.lastBuildDate(updated)
    fg.generator("veille", __version__, GENERATOR_URI)
    for row in rows:
        fe = fg.add_entry(order="append")
        fe.id(row["id"])
        fe.guid(row["id"], permalink=False)
        fe.title(row["title"])
        if row["url"]:
            fe.link(href=row["url"], rel="alternate", type="text/html")
        fe.published(row["published"])
        fe.updated(row["updated"])
        fe.content(row["html"], type="html")
        if row["summary"]:
            fe.summary(row["summary"])
        for term, label in row["tags"]:
            fe.category(term=term, label=label)
    return fg


def _json_feed(rows: list[dict], meta: FeedMeta, links: render.Links, lang: str) -> bytes:
    feed = {
        "version": JSON_FEED_VERSION,
        "title": meta.title,
        "description": meta.description,
        "home_page_url": meta.home,
        "feed_url": links.feed(meta.name, "json"),
        "language": lang,
        "authors": [{"name": "Veille", "url": links.base_url}],
        "items": [
            {
                "id": row["id"],
                **({"url": row["url"]} if row["url"] else {}),
                "title": row["title"],
                "content_html": row["html"],
                **({"summary": row["summary"]} if row["summary"] else {}),
                **({"image": row["image"]} if row["image"] else {}),
                "date_published": row["published"].isoformat(),
                "date_modified": row["updated"].isoformat(),
                **({"tags": [label for _, label in row["tags"]]} if row["tags"] else {}),
            }
            for row in rows
        ],
    }
    return json.dumps(feed, ensure_ascii=False, indent=1).encode()
