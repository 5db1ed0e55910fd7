"""source.fetch_state: the reader's opaque state; story_band: the near-duplicate index

`source.etag`, `last_modified` and `feed_url` become one JSON value owned by the source's
reader (veille.sources.readers), like reader's `caching_info`: a new kind of source keeps
its own protocol state without a migration. Existing values move into it (a page's
discovered feed as `feed_url`, a feed's permanent move as `url`).

`story_band` holds the LSH band keys of the items filed in stories, so that filing a new
item is a query in the transaction that stores it (on SQLite and PostgreSQL, from any
number of processes) instead of an index rebuilt in one process's memory. Items of the
dedupe window filed before it existed are indexed by the next pull (the band keys are
dedupe's to compute, not a migration's).

Revision ID: 0005r
Revises: 0004l
"""

import json

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005r"
down_revision = "0004l"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column(
        "source", sa.Column("fetch_state", sa.JSON(), nullable=False, server_default="{}")
    )
    source = sa.table(
        "source",
        sa.column("id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("url", sa.String),
        sa.column("etag", sa.String),
        sa.column("last_modified", sa.String),
        sa.column("feed_url", sa.String),
        sa.column("fetch_state", sa.JSON),
    )
    rows = bind.execute(
        sa.select(
            source.c.id, source.c.kind, source.c.etag, source.c.last_modified, source.c.feed_url
        )
    ).all()
    for sid, kind, etag, last_modified, feed_url in rows:
        state = {"etag": etag, "last_modified": last_modified}
        if feed_url:
            state["feed_url" if kind == "page" else "url"] = feed_url
        state = {k: v for k, v in state.items() if v}
        if state:
            bind.execute(sa.update(source).where(source.c.id == sid).values(fetch_state=state))
    with op.batch_alter_table("source") as batch:
        batch.drop_column("etag")
        batch.drop_column("last_modified")
        batch.drop_column("feed_url")

    op.create_table(
        "story_band",
        sa.Column("band_key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("item_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("published_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"]),
        sa.PrimaryKeyConstraint("band_key", "item_id"),
    )
    op.create_index("ix_story_band_published", "story_band", ["published_at"])
    op.create_index("ix_story_band_item", "story_band", ["item_id"])


def downgrade() -> None:
    op.drop_index("ix_story_band_item", table_name="story_band")
    op.drop_index("ix_story_band_published", table_name="story_band")
    op.drop_table("story_band")
    with op.batch_alter_table("source") as batch:
        batch.add_column(sa.Column("etag", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch.add_column(
            sa.Column("last_modified", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
        batch.add_column(sa.Column("feed_url", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    source = sa.table(
        "source",
        sa.column("id", sa.Integer),
        sa.column("etag", sa.String),
        sa.column("last_modified", sa.String),
        sa.column("feed_url", sa.String),
        sa.column("fetch_state", sa.JSON),
    )
    bind = op.get_bind()
    for sid, state in bind.execute(sa.select(source.c.id, source.c.fetch_state)).all():
        state = state if isinstance(state, dict) else json.loads(state or "{}")
        bind.execute(
            sa.update(source)
            .where(source.c.id == sid)
            .values(
                etag=state.get("etag"),
                last_modified=state.get("last_modified"),
                feed_url=state.get("feed_url") or state.get("url"),
            )
        )
    with op.batch_alter_table("source") as batch:
        batch.drop_column("fetch_state")
