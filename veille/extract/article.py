"""From page bytes to the article's text, markup and metadata, with trafilatura.

The page is decoded here (BOM, then the HTTP charset, then `<meta charset>`, then UTF-8, then
windows-1252 as browsers do) so that trafilatura never sees bytes: it would otherwise
decompress gzip bodies by itself and guess encodings against the server's word. Binary bodies
(PDF, images, archives) are refused before parsing. lxml parses without `huge_tree`, so
libxml2 keeps its depth and size limits against pathological nesting.
"""

from __future__ import annotations

import codecs
import contextlib
import re
from dataclasses import dataclass

import trafilatura
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.htmlprocessing import convert_to_html
from trafilatura.metadata import examine_meta, extract_meta_json, extract_sitename, extract_title
from trafilatura.settings import Document
from trafilatura.utils import load_html

from veille.extract.summary import cut_words

_MAGIC = (
    b"%PDF",
    b"\x89PNG",
    b"GIF8",
    b"\xff\xd8\xff",
    b"PK\x03\x04",
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ",
    b"7z\xbc\xaf",
    b"Rar!",
    b"RIFF",
    b"OggS",
    b"ID3",
    b"\x7fELF",
    b"MZ",
    b"\x00\x00\x01\x00",
    b"wOFF",
    b"wOF2",
    b"\xd0\xcf\x11\xe0",
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([\w.:-]{1,40})""", re.I)
# WHATWG: these labels mean windows-1252, whose extra characters (’ “ € …) latin-1 lacks.
_AS_CP1252 = {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "ascii", "us-ascii"}


class NotHtml(ValueError):
    """The body is not an HTML page (binary, empty, undecodable)."""


@dataclass(frozen=True, slots=True)
class Article:
    """What trafilatura found on one page."""

    text: str
    html: str  # trafilatura's simplified HTML of the main text (unsanitised)
    title: str | None = None
    author: str | None = None
    site_name: str | None = None
    image: str | None = None
    description: str | None = None


def sniff_binary(data: bytes) -> str | None:
    """A reason when `data` is clearly not text, else None."""
    head = data[:1024]
    if any(head.startswith(magic) for magic in _MAGIC):
        return "binary"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    if b"\x00" in head:
        return "binary"
    return None


def _codec(label: str | bytes | None) -> str | None:
    if not label:
        return None
    name = label.decode("ascii", "ignore") if isinstance(label, bytes) else label
    name = name.strip().strip("\"'").lower()
    if name in _AS_CP1252:
        return "cp1252"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_html(data: bytes, http_charset: str | None = None) -> str:
    """Page bytes to text, following the HTML spec's order of evidence."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data.decode(name, errors="replace").lstrip("\ufeff")
    declared = _codec(http_charset)
    meta = _META_CHARSET.search(data[:4096])
    declared = declared or _codec(meta.group(1) if meta else None)
    if declared == "cp1252" and not data.isascii():
        # A common server misconfiguration: UTF-8 pages labelled latin-1. Valid UTF-8 with
        # multi-byte sequences is almost never real latin-1 text.
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    if declared:
        try:
            return data.decode(declared)
        except (UnicodeDecodeError, LookupError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # What browsers assume for undeclared pages in French and English locales; guessing
        # from byte statistics (charset-normalizer) read "été" as Baltic "ķtķ" in our tests.
        return data.decode("cp1252", errors="replace")


def parse_page(page: str) -> HtmlElement:
    tree = load_html(page)
    if tree is None or not len(tree):
        raise NotHtml("no HTML tree")
    return tree


def extract_article(tree: HtmlElement, url: str) -> Article | None:
    """The main text and metadata of a parsed page, or None when trafilatura finds none."""
    doc = trafilatura.bare_extraction(
        tree,
        url=url or None,
        include_comments=False,  # readers' comments are not the article
        include_tables=True,
        # Links and formatting stay out: with them trafilatura keeps less text (recall 0.925
        # against 0.945 on its own evaluation pages, see bench/extraction.py).
        include_links=False,
        include_formatting=False,
    )
    if doc is None or doc.body is None:
        return None
    meta = page_metadata(tree)
    return Article(
        text=doc.text or "",
        html=_body_html(doc.body),
        title=meta.title or None,
        author=meta.author or None,
        site_name=meta.sitename or None,
        image=meta.image or None,
        description=cut_words(meta.description, 1000) if meta.description else None,
    )


def page_metadata(tree: HtmlElement) -> Document:
    """What the page says of itself in <meta> tags, JSON-LD and <title>.

    trafilatura's own metadata pass (`with_metadata=True`) also hunts authors through the
    body (15 ms a page when there is no author tag), dates through htmldate, categories, tags
    and licences: 12 ms a page on average, a quarter of the extraction, for fields the feed
    gives or the pipeline does not keep. The cheap part (about 1.5 ms) is this one.
    """
    meta = examine_meta(tree)
    if meta.author and " " not in meta.author:  # a handle or a first name, as trafilatura does
        meta.author = None
    with contextlib.suppress(Exception):  # bugs in its JSON-LD reader, as trafilatura guards
        meta = extract_meta_json(tree, meta)
    meta.title = meta.title or extract_title(tree)
    meta.sitename = (meta.sitename or extract_sitename(tree) or "").lstrip("@") or None
    return meta


def _body_html(body: etree._Element) -> str:
    """trafilatura's XML body as simple HTML (converted in place: the text is already out)."""
    root = convert_to_html(body)
    return "".join(etree.tostring(el, encoding="unicode", method="html") for el in root[0])
