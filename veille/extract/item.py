"""One item's text: the article when the page gives a real one, else the feed's own text.

The chain is article → feed content → feed summary, and the Extraction records which text
was kept and why (`reason`): "ok", a quality verdict from `quality.py`, or a failure of the
page itself (`fetch_failed: …`, `binary`, `too_large`, `timeout`, `too_deep`, `not_html`,
`extract_error: …`). A *soft* verdict (paywall stub, index page, short text) keeps the
article's text when the feed has nothing better; a *hard* one never does.

`extract_item` runs in a process pool, so it is a top-level function of plain values, and it
bounds its own cost: a byte cap, and a wall-clock limit (SIGALRM) when it runs on a
process's main thread, which is where pool workers run their tasks.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from veille.extract.article import (
    Article,
    NotHtml,
    decode_html,
    extract_article,
    parse_page,
    sniff_binary,
)
from veille.extract.language import detect_language
from veille.extract.quality import HARD, PageSignals, not_an_article, page_signals
from veille.extract.sanitize import html_excerpt, html_to_text, text_to_html
from veille.extract.summary import summarize
from veille.types import Extraction

log = logging.getLogger(__name__)

MAX_HTML_BYTES = 8_000_000  # the fetcher caps bodies first; this guards direct callers
TIME_LIMIT = 15.0  # seconds of CPU-bound work per page before we give up on it
EXCERPT_CHARS = 1500
MAX_TEXT_CHARS = 100_000  # longer "articles" are books or dumps; classification needs less


class _OutOfTime(BaseException):
    """Raised by the alarm; a BaseException so library `except Exception` cannot swallow it."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after `seconds` (main thread only; elsewhere no limit applies).

    An alarm already armed by someone else (pytest-timeout, a scheduler) is put back with
    the time it had left.
    """
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum: int, frame: object) -> None:
        raise _OutOfTime

    previous = signal.signal(signal.SIGALRM, on_alarm)
    outer_delay, outer_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_delay:
            left = outer_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001), outer_interval)


def _read_page(
    html: bytes, url: str, http_charset: str | None, limit: float
) -> tuple[Article | None, PageSignals, str | None]:
    """The article on the page, its signals, and a failure reason when there is no page."""
    empty = PageSignals()
    if len(html) > MAX_HTML_BYTES:
        return None, empty, "too_large"
    if not html.strip():
        return None, empty, "no_text"
    if sniff_binary(html):
        return None, empty, "binary"
    try:
        with time_limit(limit):
            page = decode_html(html, http_charset)
            tree = parse_page(page)
            signals = page_signals(tree, page)
            return extract_article(tree, url), signals, None
    except _OutOfTime:
        return None, empty, "timeout"
    except NotHtml:
        return None, empty, "not_html"
    except RecursionError:
        return None, empty, "too_deep"
    except Exception as exc:  # a third-party bug on one page must not stop a run
        log.warning("extraction failed", extra={"url": url, "stage": "extract"}, exc_info=True)
        return None, empty, f"extract_error: {type(exc).__name__}"


def extract_item(
    html: bytes | None,
    *,
    url: str,
    feed_content: str = "",
    feed_summary: str = "",
    title: str = "",
    http_charset: str | None = None,
    fetch_error: str | None = None,
    time_limit_s: float = TIME_LIMIT,
) -> Extraction:
    """The text to keep for one item, where it came from, and why."""
    feed_text = html_to_text(feed_content)
    summary_text = html_to_text(feed_summary)
    if html is None:
        article, signals, reason = None, PageSignals(), f"fetch_failed: {fetch_error or 'no page'}"
    else:
        article, signals, reason = _read_page(html, url, http_charset, time_limit_s)
        if reason is None:
            reason = not_an_article(
                article.text if article else "",
                signals,
                feed_chars=max(len(feed_text), len(summary_text)),
            )
    if reason is not None:
        log.info("page text not used: %s", reason, extra={"url": url, "stage": "extract"})

    page_ok = article is not None and reason not in HARD
    if reason is None and article is not None:
        kind, text, excerpt, why = "article", article.text, article.html, "ok"
    elif feed_text:
        kind, text, excerpt, why = "feed_content", feed_text, feed_content, reason
    elif summary_text:
        kind, text, excerpt, why = "summary", summary_text, text_to_html(summary_text), reason
    elif page_ok and article.text.strip():
        kind, text, excerpt, why = "article", article.text, article.html, f"{reason}; no_feed_text"
    else:
        kind, text, excerpt, why = "summary", "", "", reason

    text = _cap(text)
    meta = article if page_ok else None
    return Extraction(
        text=text,
        kind=kind,
        reason=why,
        html_excerpt=html_excerpt(excerpt, EXCERPT_CHARS, base_url=url or None),
        summary=summarize(text) or summarize(summary_text),
        lang=detect_language(text or summary_text or title, hint=signals.lang if meta else None),
        title=meta.title if meta else None,
        author=meta.author if meta else None,
        site_name=meta.site_name if meta else None,
        image=meta.image if meta else None,
    )


def _cap(text: str) -> str:
    if len(text) <= MAX_TEXT_CHARS:
        return text
    cut = text.rfind("\n", 0, MAX_TEXT_CHARS)
    return text[: cut if cut > MAX_TEXT_CHARS // 2 else MAX_TEXT_CHARS].rstrip()
