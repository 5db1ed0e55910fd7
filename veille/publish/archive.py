"""The static web archive: one page per issue, an index, and one page per topic.

Pages are plain HTML and CSS (no JavaScript), rendered by the digest's templates so an issue
page shows exactly the entries of the email, without the per-topic cap. Links between pages
are relative, so the folder works wherever the web app mounts it. The stylesheet is a file,
`digest.css` (the web app's Content-Security-Policy refuses inline styles), and the logo sits
next to it. Weekly issues have their own folder, `weekly/`.
"""

from __future__ import annotations

from veille.digest import render
from veille.digest.brand import Brand
from veille.digest.select import Plan
from veille.types import TOPICS

TOPIC_PAGE_ISSUES = 30  # issues shown on a topic page


def archive_pages(
    issues: list[Plan],
    *,
    links: render.Links,
    lang: str,
    tz: str,
    brand: Brand | None = None,
    reader: render.ReaderLinks | None = None,
    weekly: list[Plan] | None = None,
) -> dict[str, str]:
    """Relative path → HTML for every page; `issues` (daily) and `weekly` newest first."""
    pages: dict[str, str] = {"digest.css": render.render_css(brand)}
    for folder, kind, plans in (("", "daily", issues), ("weekly/", "weekly", weekly or [])):
        for i, issue in enumerate(plans):
            newer = plans[i - 1].day.isoformat() if i > 0 else None
            older = plans[i + 1].day.isoformat() if i + 1 < len(plans) else None
            pages[f"{folder}{issue.day.isoformat()}.html"] = render.render_issue_page(
                issue,
                lang=lang,
                links=links,
                tz=tz,
                previous=older,
                following=newer,
                brand=brand,
                reader=reader,
            )
        pages[f"{folder}index.html"] = render.render_index_page(
            [(p.day.isoformat(), p.count()) for p in plans],
            lang=lang,
            links=links,
            brand=brand,
            kind=kind,
        )
    for topic in TOPICS:
        pages[f"topics/{topic}.html"] = render.render_topic_page(
            topic,
            issues[:TOPIC_PAGE_ISSUES],
            lang=lang,
            links=links,
            tz=tz,
            brand=brand,
            reader=reader,
        )
    return pages
