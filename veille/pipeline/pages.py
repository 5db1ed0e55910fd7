"""An item's article page: fetched through the run's polite fetcher (robots.txt applies),
its text extracted in a worker process with the keys dedupe needs.

A bounded number of pages is in flight at once (downloading, or waiting for a worker),
which caps memory whatever the run's size; both cores extract while the next pages download.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from veille.errors import FetchError
from veille.fetch import PAGE_ACCEPT

if TYPE_CHECKING:
    from veille.pipeline.run import Run
    from veille.types import Extraction

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Work:
    """What extraction needs of an item, new (key: a placeholder) or stored (its id)."""

    key: int
    url: str
    title: str
    feed_content: str
    feed_summary: str


@dataclass(frozen=True, slots=True)
class Signed:
    """An item's extraction with the keys dedupe needs, all computed in the worker."""

    ext: Extraction
    sig: bytes | None  # MinHash signature
    text_hash: str | None  # exact-copy key of the text
    bands: tuple[int, ...] = ()  # near-duplicate index keys (dedupe.band_keys)


def extract_and_sign(html: bytes | None, **kwargs: object) -> Signed:
    """Runs in an extraction worker: the text, its MinHash signature, band keys and
    exact-copy hash, pure functions of the text that would otherwise cost the main process's
    one core about 14 ms an item."""
    from veille import dedupe, extract  # trafilatura and datasketch: not for an all-304 run

    ext = extract.extract_item(html, **kwargs)  # type: ignore[arg-type]
    title = ext.title or str(kwargs.get("title") or "")
    sig = dedupe.signature(ext.text, title) if ext.text else None
    bands = tuple(dedupe.band_keys(sig)) if sig is not None else ()
    return Signed(ext, sig, dedupe.canonical_text_hash(ext.text) or None, bands)


async def fetch_and_extract(run: Run, work: Work) -> Signed:
    """The item's text: its page's when it can be fetched and read, else the feed's."""
    async with run.held:
        async with run.fetching:
            body, charset, error = await _page(run, work)
        async with run.slots:
            job = partial(
                extract_and_sign,
                body,
                url=work.url,
                feed_content=work.feed_content,
                feed_summary=work.feed_summary,
                title=work.title,
                http_charset=charset,
                fetch_error=error,
            )
            try:
                pool = await run.pool.get()
                return await asyncio.get_running_loop().run_in_executor(pool, job)
            except Exception as exc:  # a dead worker must not cost the item its feed text
                log.warning("extraction crashed", extra={"url": work.url, "reason": str(exc)})
                return extract_and_sign(
                    None,
                    url=work.url,
                    feed_content=work.feed_content,
                    feed_summary=work.feed_summary,
                    title=work.title,
                    fetch_error=f"extract_error: {type(exc).__name__}",
                )


async def _page(run: Run, work: Work) -> tuple[bytes | None, str | None, str | None]:
    if not run.settings.fetch_articles:
        return None, None, "article pages not fetched (VEILLE_FETCH_ARTICLES=false)"
    if not work.url.startswith(("http://", "https://")):
        return None, None, "no link"
    try:
        response = await run.fetcher.get(
            work.url, max_bytes=run.settings.max_page_bytes, robots=True, accept=PAGE_ACCEPT
        )
    except FetchError as exc:
        return None, None, str(exc)
    if not response.ok:
        return None, None, response.error()
    return response.body, _charset(response.content_type), None


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip("\"' ")
    return None
