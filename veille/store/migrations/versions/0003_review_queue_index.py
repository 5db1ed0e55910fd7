"""review queue index: unreviewed items newest first, with what the queue ranks and filters on

The queue reads the source, scores, labels and unsure topics of the newest unreviewed items
(the source spreads the active-learning order over sources). On SQLite
those JSON columns sit after the article text in each row, so reading them walks the text's
overflow pages; this index carries them (SQLite has no INCLUDE, so they are trailing key
columns). PostgreSQL keeps long text out of line anyway; there they are INCLUDE columns (json
has no btree ordering).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE INDEX ix_item_queue ON item "
            "(reviewed_at, first_seen_at, id, source_id, scores, labels, unsure)"
        )
    else:
        op.execute(
            "CREATE INDEX ix_item_queue ON item (reviewed_at, first_seen_at, id) "
            "INCLUDE (source_id, scores, labels, unsure)"
        )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_item_queue")
