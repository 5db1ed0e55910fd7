"""Extraction stage: an item's page in, its clean text, excerpt, summary and language out.

Pure functions over plain values (no settings, clock, database or network): the pipeline
fetches pages and calls `extract_item` in a process pool.
"""

from veille.extract.item import extract_item
from veille.extract.language import detect_language
from veille.extract.sanitize import html_excerpt, html_to_text, sanitize_html
from veille.extract.summary import split_sentences, summarize

__all__ = [
    "detect_language",
    "extract_item",
    "html_excerpt",
    "html_to_text",
    "sanitize_html",
    "split_sentences",
    "summarize",
]
