"""URLs and text as the rest of veille compares them: canonical URLs and plain text from HTML.

`canonical_url` is the key items are deduplicated on when a source gives no GUID, so it only
removes what never changes the page: case of scheme and host, default ports, the fragment and
tracking parameters. Parameters that select content (`?id=42`, `?page=2`) are kept, sorted so
that two orderings of the same query compare equal.
"""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import lxml.html
from lxml import etree

from veille.types import safe_text

# Exact names, then prefixes: campaign trackers of analytics, ad and mailing tools.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "twclid",
        "ttclid",
        "_hsenc",
        "_hsmi",
        "hsctatracking",
        "mkt_tok",
        "xtor",
        "xtref",
        "ito",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "_ga",
        "_gl",
        "ncid",
        "cmpid",
        "soc_src",
        "soc_trk",
        "wt.mc_id",
    }
)
TRACKING_PREFIXES = ("utm_", "mc_", "at_", "pk_", "mtm_", "matomo_", "piwik_")
DEFAULT_PORTS = {"http": 80, "https": 443}
_SPACES = re.compile(r"\s+")
_BLOCKS = ("p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "td", "blockquote")


def is_tracking_param(name: str) -> bool:
    low = name.lower()
    return low in TRACKING_PARAMS or low.startswith(TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """`HTTPS://Example.org:443/a?utm_source=x&b=2&a=1#top` → `https://example.org/a?a=1&b=2`.

    Returns "" for anything that is not an absolute http(s) URL.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in DEFAULT_PORTS or not host:
        return ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    # Credentials are dropped too: they never tell two articles apart.
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not is_tracking_param(k)
    ]
    query.sort()
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query, doseq=True), ""))


def absolute_url(base: str, link: str | None) -> str:
    """`link` resolved against `base`; "" unless the result is an http(s) URL."""
    if not link:
        return ""
    try:
        joined = urljoin(base, link.strip())
        scheme = urlsplit(joined).scheme.lower()
    except ValueError:
        return ""
    return joined if scheme in DEFAULT_PORTS else ""


def same_site(a: str, b: str) -> bool:
    """True when two URLs share a host, `www.` aside."""
    try:
        ha, hb = urlsplit(a).hostname or "", urlsplit(b).hostname or ""
    except ValueError:
        return False
    return bool(ha) and ha.removeprefix("www.") == hb.removeprefix("www.")


def plain_text(markup: str | None) -> str:
    """Text of an HTML fragment: tags stripped, entities decoded, whitespace collapsed, control
    and bidirectional characters removed. Never raises: hostile markup falls back to a regex."""
    if not markup:
        return ""
    markup = safe_text(markup)
    if "<" not in markup:
        return _clean(html.unescape(markup))
    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError, AssertionError):
        # lxml asserts on a fragment that is a whole document ("<html><frameset>").
        return _clean(html.unescape(re.sub(r"<[^>]*>", " ", markup)))
    for bad in root.xpath(".//script|.//style"):
        bad.drop_tree()
    for block in root.iter(*_BLOCKS):  # "<p>un</p><p>deux</p>" reads "un deux"
        block.tail = " " + (block.tail or "")
    return _clean(root.text_content())


def _clean(text: str) -> str:
    # Entities decode into controls too ("&#x202e;"), hence a second pass.
    return _SPACES.sub(" ", safe_text(text)).strip()
