"""The kinds of source, each read by its reader: the one list of kinds.

Adding a kind (say Mastodon) is one reader file here, its parser in veille/parse, and one
line in READERS; the sources file, the web form and the pull take their kinds from here.
"""

from veille.sources.readers.base import (
    HTTPStatusError,
    ReadContext,
    Reader,
    SourceRead,
    State,
)
from veille.sources.readers.feed import FeedReader
from veille.sources.readers.page import PageReader
from veille.sources.readers.sitemap import SitemapReader

READERS: dict[str, Reader] = {
    "feed": FeedReader(),
    "page": PageReader(),
    "sitemap": SitemapReader(),
}
KINDS = tuple(READERS)

__all__ = [
    "KINDS",
    "READERS",
    "HTTPStatusError",
    "ReadContext",
    "Reader",
    "SourceRead",
    "State",
]
