"""full-text search over items: FTS5 on SQLite, a tsvector GIN index on PostgreSQL

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The same expression is used by the search query, so PostgreSQL can use the index.
PG_DOCUMENT = (
    "to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(feed_summary, '') "
    "|| ' ' || coalesce(text, ''))"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # External-content FTS5 table kept in step by triggers; unicode61 folds accents.
        op.execute(
            "CREATE VIRTUAL TABLE item_fts USING fts5(title, feed_summary, text, "
            "content='item', content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
        )
        op.execute(
            "CREATE TRIGGER item_fts_ai AFTER INSERT ON item BEGIN "
            "INSERT INTO item_fts(rowid, title, feed_summary, text) "
            "VALUES (new.id, new.title, new.feed_summary, new.text); END"
        )
        op.execute(
            "CREATE TRIGGER item_fts_ad AFTER DELETE ON item BEGIN "
            "INSERT INTO item_fts(item_fts, rowid, title, feed_summary, text) "
            "VALUES ('delete', old.id, old.title, old.feed_summary, old.text); END"
        )
        op.execute(
            "CREATE TRIGGER item_fts_au AFTER UPDATE OF title, feed_summary, text ON item BEGIN "
            "INSERT INTO item_fts(item_fts, rowid, title, feed_summary, text) "
            "VALUES ('delete', old.id, old.title, old.feed_summary, old.text); "
            "INSERT INTO item_fts(rowid, title, feed_summary, text) "
            "VALUES (new.id, new.title, new.feed_summary, new.text); END"
        )
    else:
        op.execute(f"CREATE INDEX ix_item_fts ON item USING gin ({PG_DOCUMENT})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("item_fts_ai", "item_fts_ad", "item_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS item_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_item_fts")
