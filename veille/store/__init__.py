"""The store: tables, engine, migrations and the queries every other layer uses."""

from veille.store.db import open_store, session_scope, upgrade, utcnow
from veille.store.models import (
    Delivery,
    Digest,
    Item,
    JobRun,
    Lock,
    Review,
    Source,
    Story,
    Subscriber,
    User,
)

__all__ = [
    "Delivery",
    "Digest",
    "Item",
    "JobRun",
    "Lock",
    "Review",
    "Source",
    "Story",
    "Subscriber",
    "User",
    "open_store",
    "session_scope",
    "upgrade",
    "utcnow",
]
