"""veille: a news watch that pulls, classifies and digests good news about territories."""

__version__ = "0.1.0"
