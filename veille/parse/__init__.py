"""Parse: bodies into `Entry` values. Feeds (RSS, Atom, JSON Feed), listing pages, sitemaps.

Plain functions over bytes; no network, clock, settings or database. `canonical_url` is the
URL key the rest of veille compares items on.
"""

from veille.parse.entry import ParsedFeed
from veille.parse.feeds import looks_like_feed, parse_feed
from veille.parse.pages import Listing, compile_selector, looks_like_article, parse_listing
from veille.parse.sitemaps import Sitemap, gunzip, parse_sitemap
from veille.parse.urls import absolute_url, canonical_url, plain_text, same_site

__all__ = [
    "Listing",
    "ParsedFeed",
    "Sitemap",
    "absolute_url",
    "canonical_url",
    "compile_selector",
    "gunzip",
    "looks_like_article",
    "looks_like_feed",
    "parse_feed",
    "parse_listing",
    "parse_sitemap",
    "plain_text",
    "same_site",
]
