"""The static web archive: one page per issue, an index, and one page per topic.

Pages are plain HTML and CSS (no JavaScript), rendered by the digest's templates so an issue
page shows exactly the entries of the email, without the per-topic cap. Links between pages
are relative, so the folder works wherever the web app mounts it.
"""

from __future__ import annotations

from veille.digest import render
from veille.digest.select import Plan
from veille.types import TOPICS

TOPIC_PAGE_ISSUES = 30  # issues shown on a topic page


def archive_pages(issues: list[Plan], *, links: render.Links, lang: str, tz: str) -> dict[str, str]:
    """Relative path → HTML for every page; `issues` newest first."""
    pages: dict[str, str] = {}
    for i, issue in enumerate(issues):
        newer = issues[i - 1].day.isoformat() if i > 0 else None
        older = issues[i + 1].day.isoformat() if i + 1 < len(issues) else None
        pages[f"{issue.day.isoformat()}.html"] = render.render_issue_page(
            issue, lang=lang, links=links, tz=tz, previous=older, following=newer
        )
    pages["index.html"] = render.render_index_page(
        [(p.day.isoformat(), p.count()) for p in issues], lang=lang, links=links
    )
    for topic in TOPICS:
        pages[f"topics/{topic}.html"] = render.render_topic_page(
            topic, issues[:TOPIC_PAGE_ISSUES], lang=lang, links=links, tz=tz
        )
    return pages
