"""The real material the synthetic web is made of, read in place from ../shared/corpora.

Article k of the synthetic web is one real page (rotated over the 279 pages of `pages/` and
`extraction-eval/{cache,eval}/`) with the text of one real article from `articles.jsonl`
injected before its longest paragraph, so every body is distinct in bytes and, for most pages,
in extracted text (a pipeline cannot cache extraction by body, and dedupe sees distinct news).
Feed items take their titles and descriptions from the real feeds of `feeds/`.

The server and the extraction ceiling both build bodies here, so they measure the same pages.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PAGE_DIRS = ("pages", "extraction-eval/cache", "extraction-eval/eval")

_P_OPEN = re.compile(r"<p[\s>]", re.I)
_P_CLOSE = re.compile(r"</p\s*>", re.I)
_TAG = re.compile(r"<[^>]+>")
_META_CHARSET = re.compile(r"(<meta[^>]+charset=[\"']?)[\w-]+", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?»])\s+")


class CorpusMissing(RuntimeError):
    """../shared/corpora is not there: the benchmark cannot build its web."""


@dataclass(frozen=True, slots=True)
class FeedItem:
    title: str
    description: str


def _decode(raw: bytes) -> str:
    """Pages come in several encodings; we serve everything as UTF-8 and say so in the page."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    return _META_CHARSET.sub(r"\1utf-8", text)


def _split_point(page: str) -> int:
    """Offset of the `<p>` that opens the longest paragraph: where the article text lives."""
    best, best_len = -1, -1
    for opening in _P_OPEN.finditer(page):
        closing = _P_CLOSE.search(page, opening.end())
        if closing is None:
            continue
        inner = page[opening.end() : closing.start()]
        if "<p" in inner.lower():
            continue
        length = len(_TAG.sub("", inner).strip())
        if length > best_len:
            best, best_len = opening.start(), length
    if best >= 0:
        return best
    end = page.lower().rfind("</body")
    return end if end >= 0 else len(page)


def _paragraphs(text: str, limit: int) -> list[str]:
    """Cut `text` to about `limit` characters on sentence ends, as 2-4 escaped paragraphs."""
    sentences, size = [], 0
    for sentence in _SENTENCE_END.split(text.replace("\n", " ")):
        if size >= limit:
            break
        sentences.append(sentence)
        size += len(sentence)
    per = max(1, len(sentences) // 3)
    return [html.escape(" ".join(sentences[i : i + per])) for i in range(0, len(sentences), per)]


class Corpus:
    """Pages, feed items and article texts, loaded once; bodies built on demand (cheap joins)."""

    def __init__(self, shared: Path = SHARED, *, light: bool = False) -> None:
        corpora = shared / "corpora"
        if not (corpora / "articles.jsonl").exists():
            raise CorpusMissing(f"{corpora} is absent: the benchmark needs ../shared/corpora")
        self.light = light
        self.articles: list[tuple[str, str]] = []
        with (corpora / "articles.jsonl").open(encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                self.articles.append((rec["title"] or "", rec["text"] or ""))
        self.page_paths = sorted(p for d in PAGE_DIRS for p in (corpora / d).glob("*.html"))
        self._halves: list[tuple[bytes, bytes]] = []
        if not light:
            for path in self.page_paths:
                page = _decode(path.read_bytes())
                cut = _split_point(page)
                self._halves.append((page[:cut].encode(), page[cut:].encode()))
        self.feed_items = self._read_feed_items(corpora / "feeds")

    @staticmethod
    def _read_feed_items(folder: Path) -> list[FeedItem]:
        import feedparser

        items = []
        for path in sorted(folder.glob("*.xml")):
            for entry in feedparser.parse(path.read_bytes()).entries:
                title = entry.get("title", "").strip()
                if title:
                    summary = _TAG.sub(" ", entry.get("summary", "")).strip()
                    items.append(FeedItem(title, " ".join(summary.split())[:600]))
        return items

    def feed_item(self, k: int) -> FeedItem:
        return self.feed_items[k % len(self.feed_items)]

    def _injected_text(self, k: int) -> tuple[str, list[str]]:
        n = len(self.articles)
        title, text = self.articles[k % n]
        # A second article, shifted by the round, keeps items distinct past one lap of the file.
        extra = self.articles[(k + 1 + k // n) % n][1]
        return title, _paragraphs(text, 1500) + _paragraphs(extra, 500)

    def article_body(self, k: int) -> bytes:
        """The HTML of article k: a real page with a real article's text, or a light page."""
        title, paras = self._injected_text(k)
        inner = "".join(f"<p>{p}</p>\n" for p in paras)
        if self.light:
            t = html.escape(title)
            return (
                '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
                f"<title>{t}</title></head><body><header><nav><a href='/'>Accueil</a> "
                f"<a href='/agenda'>Agenda</a></nav></header><main><article><h1>{t}</h1>\n"
                f"{inner}</article></main><footer>Association — mentions légales</footer>"
                "</body></html>"
            ).encode()
        before, after = self._halves[k % len(self._halves)]
        return b"".join((before, inner.encode(), after))
