"""Sources: what veille follows. feeds.yaml (validated, with file:line errors) and OPML.

The file is the source of truth for *what* is followed; the store's `source` rows say *how
each one is doing* (see veille/store/sources.py).
"""

from veille.sources.catalog import add_sources, load_sources, parse_interval, parse_sources
from veille.sources.opml import parse_opml, to_opml

__all__ = [
    "add_sources",
    "load_sources",
    "parse_interval",
    "parse_opml",
    "parse_sources",
    "to_opml",
]
