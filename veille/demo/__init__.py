"""The offline demo: a bundled sample of fictional French (and one English) news sites.

`site/` holds seven sources written for veille: five feeds (RSS 2.0 and Atom), one association
site with no feed (a listing page, `kind: page`) and one English feed; forty articles across the
three topics and off-topic, four of them stories told by two sources (two press releases
syndicated verbatim, two rewritten). `site/feeds.yaml` lists them with a `{base}` placeholder
that `serve_site()` fills with its local address. `expected.json` says what each article was
written to be; tests use it, the product does not.

    with serve_site(SITE) as site:
        sources = parse_sources(site.text("/feeds.yaml"))   # URLs point at site.base_url
"""

from __future__ import annotations

import json
from pathlib import Path

from veille.demo.server import DemoSite, render, serve_site

SITE = Path(__file__).parent / "site"
EXPECTED = Path(__file__).parent / "expected.json"

__all__ = [
    "EXPECTED",
    "SITE",
    "DemoSite",
    "expected_stories",
    "expected_topics",
    "render",
    "serve_site",
]


def expected_topics() -> dict[str, list[str]]:
    """Article URL path → the topics it was written for ([] = off-topic)."""
    return json.loads(EXPECTED.read_text(encoding="utf-8"))["topics"]


def expected_stories() -> list[list[str]]:
    """Groups of article URL paths that tell the same story."""
    return json.loads(EXPECTED.read_text(encoding="utf-8"))["stories"]
