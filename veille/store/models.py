"""The tables, in one place. Times are aware UTC everywhere (SQLModel stores them as UTC).

The schema changes only through Alembic migrations in ``migrations/versions``; a test checks
that the models and the migrated schema agree.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


class Source(SQLModel, table=True):
    """A followed source; feeds.yaml says what it is, this row says how it is doing."""

    __tablename__ = "source"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    url: str
    kind: str = "feed"  # feed | page | sitemap
    language: str | None = None
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    topics_hint: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    interval: int = 3600  # seconds between two fetches
    enabled: bool = True
    selector: str | None = None
    primary: bool = False
    # What the kind's reader keeps between two reads (validators, a discovered feed, …):
    # opaque to everything but the reader (veille.sources.readers), like reader's caching_info.
    fetch_state: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Fetch outcome (drives scheduling, Miniflux-style)
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    warning: str | None = None  # e.g. feedparser bozo on a feed that still yielded entries
    consecutive_failures: int = 0
    next_fetch_at: datetime | None = Field(default=None, index=True)
    created_at: datetime


class Story(SQLModel, table=True):
    """A cluster of items from several sources that tell the same news."""

    __tablename__ = "story"
    id: int | None = Field(default=None, primary_key=True)
    representative_id: int | None = Field(default=None, index=True)
    size: int = 1
    created_at: datetime
    updated_at: datetime


class StoryBand(SQLModel, table=True):
    """The near-duplicate index in the database: one row per LSH band key of an item filed in
    a story (dedupe.band_keys), pruned beyond the dedupe window. Filing a new item looks its
    keys up here in the same transaction that stores it, so the index commits with the story
    and every process sees the same one. The primary key makes filing an item twice a no-op."""

    __tablename__ = "story_band"
    __table_args__ = (
        Index("ix_story_band_published", "published_at"),
        Index("ix_story_band_item", "item_id"),
    )
    band_key: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    item_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("item.id"), primary_key=True, autoincrement=False)
    )
    published_at: datetime


class Item(SQLModel, table=True):
    __tablename__ = "item"
    __table_args__ = (
        UniqueConstraint("source_id", "guid", name="uq_item_source_guid"),
        Index("ix_item_first_seen", "first_seen_at"),
        # The review queue (migration 0003; on SQLite the included columns are trailing keys).
        Index(
            "ix_item_queue",
            "reviewed_at",
            "first_seen_at",
            "id",
            postgresql_include=["source_id", "scores", "labels", "unsure"],
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id", index=True)
    guid: str  # source GUID, else canonical URL: unique per source
    url: str
    canonical_url: str = Field(index=True)
    title: str = ""
    feed_summary: str = ""  # plain text from the feed
    feed_content: str = ""  # the feed's content, sanitised HTML
    published_at: datetime | None = None  # missing in the feed -> first_seen_at
    first_seen_at: datetime
    updated_at: datetime
    authors: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    image: str | None = None
    # Extraction
    text: str = ""  # plain text used for classification
    # The title the classifier read (the page's, else the feed's): types.classifier_doc
    doc_title: str | None = None
    html_excerpt: str = ""  # sanitised HTML for display
    extraction: str | None = None  # article | feed_content | summary; None = not yet extracted
    extraction_reason: str | None = None
    lang: str | None = None  # fr | en | other
    summary: str = ""  # short summary for the digest
    author: str | None = None
    site_name: str | None = None
    content_hash: str | None = Field(default=None, index=True)
    extracted_at: datetime | None = None
    # Stories
    story_id: int | None = Field(default=None, foreign_key="story.id", index=True)
    minhash: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    # Classification
    labels: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    scores: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    unsure: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    model_version: str | None = None
    classified_at: datetime | None = None
    # Curation: curator_labels is None until a curator has judged the item
    curator_labels: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    reviewed_at: datetime | None = Field(default=None, index=True)
    reviewed_by: str | None = None
    excluded: bool = False  # never in a digest
    pinned: bool = False  # first in its topic
    digest_rank: int | None = None  # curator's order in the next digest
    edited_summary: str | None = None  # curator's summary, used instead of `summary`
    # Digest policy: when an issue left this item out to wait for a curator (None: not waiting)
    held_since: datetime | None = Field(default=None, index=True)


class Review(SQLModel, table=True):
    """Every curator action, for history, undo and 'who and when'."""

    __tablename__ = "review"
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    user: str
    at: datetime
    action: str  # labels | accept | exclude | pin | rank | summary | undo
    before: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    after: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class User(SQLModel, table=True):
    """A curator account (role curator or admin)."""

    __tablename__ = "user_account"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    password_hash: str
    role: str = "curator"
    created_at: datetime
    last_login_at: datetime | None = None


class Subscriber(SQLModel, table=True):
    __tablename__ = "subscriber"
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, index=True)
    lang: str = "fr"
    topics: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = "pending"  # pending | confirmed | unsubscribed | bounced
    created_at: datetime
    confirmed_at: datetime | None = None
    unsubscribed_at: datetime | None = None
    failures: int = 0  # permanent SMTP rejections in a row
    # Migration 0004n: the reader's own choices, and bounce reports read from the mailbox
    frequency: str = "daily"  # daily | weekly
    paused: bool = False
    soft_bounces: int = 0  # temporary bounce reports in a row
    bounce_note: str | None = None  # the last bounce report: status and diagnostic
    bounced_at: datetime | None = None


class Digest(SQLModel, table=True):
    """One issue of the daily digest; its entries are frozen when it is built."""

    __tablename__ = "digest"
    __table_args__ = (Index("ix_digest_kind_date", "kind", "date", unique=True),)
    id: int | None = Field(default=None, primary_key=True)
    date: str = Field(index=True)  # YYYY-MM-DD, the issue's permalink (with its kind)
    created_at: datetime
    period_start: datetime | None = None
    period_end: datetime | None = None
    entries: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    item_count: int = 0
    sent_at: datetime | None = None
    kind: str = "daily"  # daily | weekly (migration 0004n)
    intro: str | None = None  # the curators' editorial note for this issue


class Delivery(SQLModel, table=True):
    """One row per (digest, subscriber): what makes sending idempotent."""

    __tablename__ = "delivery"
    __table_args__ = (UniqueConstraint("digest_id", "subscriber_id", name="uq_delivery"),)
    id: int | None = Field(default=None, primary_key=True)
    digest_id: int = Field(foreign_key="digest.id", index=True)
    subscriber_id: int = Field(foreign_key="subscriber.id", index=True)
    status: str = "pending"  # pending | sending | sent | failed | rejected
    attempts: int = 0
    last_error: str | None = None
    message_id: str | None = None
    sent_at: datetime | None = None
    updated_at: datetime


class Feedback(SQLModel, table=True):
    """A reader's "off topic?" report on an item, once per reader (migration 0004n)."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("item_id", "reporter", name="uq_feedback"),)
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    reporter: str  # "s:<subscriber id>", or "a:<keyed hash of the client address>"
    created_at: datetime


class IssueDraft(SQLModel, table=True):
    """The editorial intro curators write on the preview before the issue is built."""

    __tablename__ = "issue_draft"
    __table_args__ = (UniqueConstraint("kind", "date", name="uq_issue_draft"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = "daily"
    date: str
    intro: str = ""
    updated_at: datetime
    updated_by: str | None = None


class JobRun(SQLModel, table=True):
    """History of scheduled and manual runs (pull, digest, publish, train)."""

    __tablename__ = "job_run"
    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(index=True)
    started_at: datetime
    ended_at: datetime | None = None
    outcome: str = "running"  # running | ok | failed | skipped
    counts: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str | None = None


class Lock(SQLModel, table=True):
    """A named lease in the database so two processes never run the same job at once."""

    __tablename__ = "job_lock"
    name: str = Field(primary_key=True)
    owner: str
    acquired_at: datetime
    expires_at: datetime


# Faults and abuse (issue 17): sessions revocable server-side, limits shared by processes.


class WebSession(SQLModel, table=True):
    """A curator's login: the cookie carries a random id whose hash is this row's key, so
    logging out (or a new login) ends it on the server, whatever copy of the cookie exists.
    No foreign key: removing an account must not wait for its sessions (they die with it)."""

    __tablename__ = "web_session"
    id: str = Field(primary_key=True)  # sha256 of the cookie's session id
    user_id: int = Field(index=True)
    created_at: datetime
    expires_at: datetime = Field(index=True)


class RateEvent(SQLModel, table=True):
    """One counted event (a failed login, a subscription request) under a key such as
    `login:account:ana`; limits count the rows of a key within a window."""

    __tablename__ = "rate_event"
    __table_args__ = (Index("ix_rate_event_key_at", "key", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str
    at: datetime
