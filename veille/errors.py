"""One exception tree. Third-party errors are wrapped at the boundary with their culprit."""


class VeilleError(Exception):
    """Base of every error veille reports to a user as one line."""


class ConfigError(VeilleError):
    """A setting, feeds.yaml or OPML file is invalid (message names file, line and field)."""


class SourceError(VeilleError):
    """A source could not be fetched or parsed; recorded on the source, never fatal to a run."""


class FetchError(SourceError):
    """HTTP-level failure: refused address, timeout, oversized body, bad status."""


class ParseError(SourceError):
    """The body is not a feed, listing page or sitemap we can read."""


class StoreError(VeilleError):
    """The database is unreachable or in an unexpected state."""


class ModelError(VeilleError):
    """A model file is missing, corrupt, or was not written by veille."""


class DeliveryError(VeilleError):
    """An email could not be delivered (transient or permanent)."""


class NotWritableError(ConfigError):
    """A file veille must write (the sources file) sits in a folder it cannot write."""
