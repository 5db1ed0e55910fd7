"""newsletter: readers' frequency and pause, bounce reports, weekly issues, editorial intros,
readers' "off topic?" reports

Revision ID: 0004n
Revises: 0004f
"""

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

revision = "0004n"
down_revision = "0004f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriber") as batch:
        batch.add_column(
            sa.Column("frequency", AutoString(), nullable=False, server_default="daily")
        )
        batch.add_column(
            sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("soft_bounces", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("bounce_note", AutoString(), nullable=True))
        batch.add_column(sa.Column("bounced_at", UTCDateTime(), nullable=True))
    # An issue is unique per (kind, date): the weekly issue may share its day with a daily one.
    with op.batch_alter_table("digest") as batch:
        batch.add_column(sa.Column("kind", AutoString(), nullable=False, server_default="daily"))
        batch.add_column(sa.Column("intro", AutoString(), nullable=True))
        batch.drop_index("ix_digest_date")
        batch.create_index("ix_digest_date", ["date"], unique=False)
        batch.create_index("ix_digest_kind_date", ["kind", "date"], unique=True)
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("reporter", AutoString(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("item_id", "reporter", name="uq_feedback"),
    )
    op.create_index("ix_feedback_item_id", "feedback", ["item_id"], unique=False)
    op.create_table(
        "issue_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", AutoString(), nullable=False),
        sa.Column("date", AutoString(), nullable=False),
        sa.Column("intro", AutoString(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "date", name="uq_issue_draft"),
    )


def downgrade() -> None:
    op.drop_table("issue_draft")
    op.drop_index("ix_feedback_item_id", table_name="feedback")
    op.drop_table("feedback")
    with op.batch_alter_table("digest") as batch:
        batch.drop_index("ix_digest_kind_date")
        batch.drop_index("ix_digest_date")
        batch.create_index("ix_digest_date", ["date"], unique=True)
        batch.drop_column("intro")
        batch.drop_column("kind")
    with op.batch_alter_table("subscriber") as batch:
        for name in ("bounced_at", "bounce_note", "soft_bounces", "paused", "frequency"):
            batch.drop_column(name)
