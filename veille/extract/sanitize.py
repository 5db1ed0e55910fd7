"""The one HTML policy for anything a source wrote that we show again (excerpts, feed content).

A small set of text tags and absolute http(s) links survive; everything that runs, styles or
loads something does not: no script/style/iframe/img/svg/form, no `on*` or `style` attributes,
no `javascript:`/`data:` URLs. Links get `rel="noopener nofollow ugc"` because the text is
third-party. nh3 (ammonia) does the parsing and cleaning; lxml only cuts excerpts and reads
text out of already-cleaned markup.
"""

from __future__ import annotations

import html as htmllib
import re
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

import nh3
from lxml import etree
from lxml import html as lxml_html

from veille.extract.summary import cut_words

TAGS = frozenset(
    "p br a strong em b i u s q cite blockquote code pre ul ol li dl dt dd h1 h2 h3 h4 h5 h6 "  # noqa: SIM905 (words read better)
    "table thead tbody tr th td caption sub sup hr abbr mark small del ins".split()
)
# Removed with their content, not merely unwrapped: their text is code, styling or chrome.
DROP_WITH_CONTENT = frozenset(
    "script style noscript template iframe object svg math textarea select title".split()  # noqa: SIM905
)
LINK_REL = "noopener nofollow ugc"
_BLOCKS = frozenset(
    "p div li dt dd blockquote pre h1 h2 h3 h4 h5 h6 tr table ul ol dl section article header "  # noqa: SIM905 (words read better)
    "footer figure figcaption hr br".split()
)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def _safe_url(value: str, base_url: str | None) -> str | None:
    value = value.strip()
    if base_url:
        value = urljoin(base_url, value)
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.netloc:
        return value
    return None  # relative without a base, javascript:, data:, mailto:, ...


@lru_cache(maxsize=64)
def _policy(base_url: str | None) -> dict:
    def keep(tag: str, attr: str, value: str) -> str | None:
        if tag == "a" and attr == "href":
            return _safe_url(value, base_url)
        return value

    return {
        "tags": set(TAGS),
        "clean_content_tags": set(DROP_WITH_CONTENT),
        "attributes": {"a": {"href", "title"}, "abbr": {"title"}},
        "attribute_filter": keep,
        "url_schemes": {"http", "https"},
        "link_rel": LINK_REL,
        "strip_comments": True,
    }


def sanitize_html(html: str, base_url: str | None = None) -> str:
    """Safe HTML for display; relative links are resolved against `base_url` or dropped."""
    if not html:
        return ""
    return nh3.clean(html, **_policy(base_url)).strip()


def _fragment(html: str) -> lxml_html.HtmlElement | None:
    try:
        return lxml_html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return None


def html_excerpt(html: str, max_chars: int = 1500, base_url: str | None = None) -> str:
    """Sanitised HTML cut after the block where the text passes `max_chars`."""
    clean = sanitize_html(html, base_url)
    root = _fragment(clean) if clean else None
    if root is None:
        return clean
    used = len(root.text or "")
    for child in list(root):
        if used >= max_chars:
            root.remove(child)  # lxml removes the child's tail text with it
        else:
            used += len(child.text_content()) + len(child.tail or "")
    if used > 2 * max_chars:  # one giant block or text run: cut the plain text instead
        return text_to_html(cut_words(html_to_text(clean), max_chars))
    inner = (root.text or "") + "".join(
        etree.tostring(child, encoding="unicode", method="html") for child in root
    )
    # Re-clean: serialisation must not be trusted to preserve the policy.
    return sanitize_html(inner.strip(), base_url)


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment, one paragraph per block, no markup or entities."""
    if not html:
        return ""
    if "<" not in html:
        return normalise_text(htmllib.unescape(html))
    root = _fragment(nh3.clean(html, **_policy(None)))
    if root is None:
        return ""
    parts: list[str] = []
    for event, node in etree.iterwalk(root, events=("start", "end")):
        block = node is not root and node.tag in _BLOCKS
        if event == "start":
            parts.append(("\n\n" if block else "") + (node.text or ""))
        elif node is not root:
            parts.append(("\n\n" if block else "") + (node.tail or ""))
    return normalise_text("".join(parts))


def normalise_text(text: str) -> str:
    """Collapse runs of spaces, keep paragraph breaks, strip every line."""
    lines = (_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def text_to_html(text: str) -> str:
    """Escaped paragraphs for a plain-text fallback, so every excerpt is HTML."""
    paras = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "".join(f"<p>{htmllib.escape(p)}</p>" for p in paras)
