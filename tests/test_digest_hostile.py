"""Hostile titles, summaries, links and images (../shared/corpora/hostile XSS vectors) come out
inert in the email, the archive pages and the feeds: no element, attribute or URL scheme that
could run script survives, whatever the vector."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import lxml.html
from lxml import etree
from sqlalchemy.engine import Engine

from tests.conftest import shared_path
from veille.digest import issue as issues
from veille.publish import publish
from veille.store import Item, Source, session_scope

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
BASE = "https://veille.example.org"
ACTIVE_TAGS = {
    "script",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "form",
    "input",
    "button",
    "textarea",
    "select",
    "svg",
    "math",
    "video",
    "audio",
    "base",
    "link",
    "meta",
    "style",
    "template",
    "noscript",
    "xmp",
    "isindex",
    "marquee",
}
URL_ATTRS = {
    "href",
    "src",
    "action",
    "formaction",
    "background",
    "poster",
    "xlink:href",
    "data",
    "codebase",
    "srcset",
    "lowsrc",
    "dynsrc",
    "ping",
    "cite",
}
# Ours only besides http(s): relative pages, the archive's stylesheet and logo, and the
# footer's "forward to a friend" (a mailto: with no address, percent-encoded).
SAFE_URL = re.compile(
    r"^(https?://[^\s\"'<>`]+|[\w./-]+\.html(#[\w-]+)?|#[\w-]+"
    r"|(\.\./)?(digest\.css|logo\.(png|jpg|gif|webp))|mailto:\?subject=[\w%.~-]+&body=[\w%./~-]+)$"
)


def vectors() -> list[str]:
    root = shared_path("corpora", "hostile", "xss")
    lines: list[str] = []
    for name in (
        "h5sc/rss.txt",
        "h5sc/vectors.txt",
        "payloadsallthethings/XSS_Polyglots.txt",
        "payloadsallthethings/RSNAKE_XSS.txt",
    ):
        text = (root / name).read_text(encoding="utf-8", errors="replace")
        lines += [line for line in text.splitlines() if line.strip() and len(line) < 4000]
    cases = json.loads((root / "dompurify" / "expect.json").read_text(encoding="utf-8"))
    lines += [c["payload"] for c in cases if len(c["payload"]) < 4000]
    return lines


def seed_hostile(engine: Engine, payloads: list[str]) -> None:
    topics = ("social_innovation", "collaborative_consumption", "open_collaboration")
    with session_scope(engine) as s:
        src = Source(
            name="<script>alert('source')</script>Hostile",
            url="https://h.example.org",
            created_at=NOW,
        )
        s.add(src)
        s.flush()
        for i, payload in enumerate(payloads):
            s.add(
                Item(
                    source_id=src.id,
                    guid=f"h{i}",
                    canonical_url=f"https://h.example.org/{i}",
                    url=payload if i % 2 else f"https://h.example.org/{i}",
                    title=payload,
                    summary=payload if i % 3 else "",
                    feed_summary=payload,
                    image=payload if i % 5 == 0 else None,
                    labels=[topics[i % 3]],
                    scores={topics[i % 3]: 0.5 + (i % 40) / 100},
                    first_seen_at=NOW - timedelta(minutes=i % 600),
                    updated_at=NOW,
                )
            )


def assert_inert(html: str, where: str) -> int:
    """Fail on anything executable in an HTML document or fragment; returns elements seen."""
    doc = lxml.html.fromstring(html) if html.strip() else None
    if doc is None:
        return 0
    body = doc.find("body") if doc.find("body") is not None else doc
    # The archive's own subscribe box is the one form allowed: a GET to our /subscribe page.
    for box in body.xpath('//section[@class="subscribe-box"]'):
        (form,) = box.xpath(".//form")
        assert form.get("method") == "get" and form.get("action", "").endswith("/subscribe")
        box.drop_tree()
    seen = 0
    for el in body.iter():
        if not isinstance(el.tag, str):
            continue
        seen += 1
        assert el.tag.lower() not in ACTIVE_TAGS, f"{where}: <{el.tag}> survived"
        for name, value in el.attrib.items():
            lname = name.lower()
            assert not lname.startswith("on"), f"{where}: {name}={value!r} survived"
            if lname in URL_ATTRS:
                assert SAFE_URL.match(value.strip()), f"{where}: {name}={value!r}"
            if lname == "style":
                low = value.lower()
                assert "expression" not in low and "url(" not in low and "script" not in low
    return seen


def test_hostile_entries_render_inert_everywhere(sqlite_engine, settings, tmp_path: Path) -> None:  # noqa: ANN001
    payloads = vectors()
    assert len(payloads) > 500
    seed_hostile(sqlite_engine, payloads)
    issue = issues.build(sqlite_engine, settings=settings, now=NOW)
    assert issue is not None and len(issue.entries) == len(payloads)
    for entry in issue.entries:
        assert not entry.url or entry.url.startswith(("http://", "https://"))
        assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", entry.title + entry.summary)
    for lang in ("fr", "en"):
        mail = issues.preview(
            issue, settings=settings.model_copy(update={"digest_cap": 400}), lang=lang
        )
        assert assert_inert(mail.html, f"email/{lang}") > 1000
        assert "<script" not in mail.html.lower()
    folder = tmp_path / "digests"
    with session_scope(sqlite_engine) as s:
        publish(s, folder=folder, base_url=BASE, lang="fr", tz="Europe/Paris", now=NOW)
    for page in folder.rglob("*.html"):
        assert_inert(page.read_text(encoding="utf-8"), page.name)
    atom_ns = "{http://www.w3.org/2005/Atom}"
    for feed in (folder / "feeds").glob("*.atom"):
        root = etree.fromstring(feed.read_bytes())  # well-formed XML whatever the input
        for content in root.iter(f"{atom_ns}content"):
            assert_inert(content.text or "", feed.name)
        for link in root.iter(f"{atom_ns}link"):
            assert SAFE_URL.match(link.get("href")), link.get("href")
    for feed in (folder / "feeds").glob("*.rss"):
        etree.fromstring(feed.read_bytes())
    for feed in (folder / "feeds").glob("*.json"):
        for item in json.loads(feed.read_text(encoding="utf-8"))["items"]:
            assert_inert(item["content_html"], feed.name)
            assert SAFE_URL.match(item.get("url", "https://ok")), item.get("url")
