"""Listing pages without a feed (`kind: page`): the feed they advertise, else their article links.

With a CSS selector from feeds.yaml we take exactly the links it selects. Without one we keep
same-site links that look like articles: a slug of several words, a date or a numeric id in
the path, and a title-like anchor text; navigation, tags, authors, pagination and files are
left out. A missed link costs one item; a menu link taken for an article costs a curator's time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import lxml.html
from cssselect import SelectorError
from lxml import etree
from lxml.cssselect import CSSSelector

from veille.errors import ParseError
from veille.parse.entry import ParsedFeed, safe_url
from veille.parse.urls import canonical_url, plain_text, same_site
from veille.types import Entry

FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "application/rdf+xml",
        "application/json",
    }
)
MAX_LINKS = 200
_NOT_ARTICLES = re.compile(
    r"/(tags?|category|categories|categorie|rubrique|themes?|author|auteur|page|feed|rss|"
    r"login|wp-login\.php|wp-admin|search|recherche|contact|mentions-legales|legal|privacy|"
    r"confidentialite|cgu|cgv|newsletter|account|compte|panier|cart|faq|plan-du-site|sitemap)"
    r"(/|$)",
    re.I,
)
_FILES = re.compile(
    r"\.(pdf|jpe?g|png|gif|webp|svg|zip|docx?|xlsx?|pptx?|odt|xml|css|js|mp3|mp4)$", re.I
)
_ARTICLE_PATH = re.compile(r"/20\d\d/|[a-z0-9]+(-[a-z0-9]+){2,}|\d{3,}|[?&](p|id)=\d+", re.I)


@dataclass(frozen=True, slots=True)
class Listing:
    feeds: tuple[str, ...]  # feeds the page advertises, in page order (none with a selector)
    parsed: ParsedFeed  # its article links as entries


def compile_selector(selector: str) -> CSSSelector:
    try:
        return CSSSelector(selector)
    except (SelectorError, etree.XPathSyntaxError) as exc:
        raise ParseError(f"invalid CSS selector {selector!r}: {exc}") from None


def parse_listing(
    body: bytes, *, url: str, headers: Mapping[str, str] | None = None, selector: str | None = None
) -> Listing:
    root = _document(body, headers or {})
    base = safe_url(url, next(iter(root.xpath("//base/@href")), None)) or url
    feeds = tuple(
        dict.fromkeys(
            u
            for link in root.xpath("//link[@href]")
            if "alternate" in (link.get("rel") or "").lower().split()
            and (link.get("type") or "").lower().split(";")[0].strip() in FEED_TYPES
            and (u := safe_url(base, link.get("href")))
        )
    )
    if selector:
        anchors = [
            el if el.tag == "a" else next(iter(el.xpath(".//a[@href]")), None)
            for el in compile_selector(selector)(root)
        ]
    else:
        anchors = list(root.iter("a"))
    titles: dict[str, tuple[str, str]] = {}  # canonical -> (url, title), page order
    for a in anchors:
        if a is None:
            continue
        href = safe_url(base, a.get("href"))
        title = plain_text(a.text_content()) or (a.get("title") or "").strip()
        if not href or (not selector and not looks_like_article(url, href, title)):
            continue
        key = canonical_url(href)
        if key and (key not in titles or (title and not titles[key][1])):
            titles[key] = (href, title)
    entries = tuple(
        Entry(guid=key, url=href, canonical_url=key, title=title)
        for key, (href, title) in list(titles.items())[:MAX_LINKS]
    )
    title = plain_text(next(iter(root.xpath("//title/text()")), ""))
    return Listing(
        feeds=() if selector else feeds,
        parsed=ParsedFeed(entries=entries, title=title, link=url, version="html"),
    )


def looks_like_article(page_url: str, href: str, text: str) -> bool:
    if not same_site(page_url, href) or canonical_url(href) == canonical_url(page_url):
        return False
    parts = urlsplit(href)
    path = parts.path or "/"
    if path == "/" or _NOT_ARTICLES.search(path) or _FILES.search(path):
        return False
    if not _ARTICLE_PATH.search(path + ("?" + parts.query if parts.query else "")):
        return False
    return len(text) >= 15 and len(text.split()) >= 3


def _document(body: bytes, headers: Mapping[str, str]) -> lxml.html.HtmlElement:
    ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    charset = re.search(r"charset=[\"']?([\w.:-]+)", ctype, re.I)
    try:
        parser = lxml.html.HTMLParser(
            encoding=charset.group(1) if charset else None, no_network=True, huge_tree=False
        )
    except LookupError:
        parser = lxml.html.HTMLParser(no_network=True)
    try:
        return lxml.html.document_fromstring(body, parser=parser)
    except (etree.ParserError, ValueError, LookupError) as exc:
        raise ParseError(f"not an HTML page: {exc}") from None
