"""held items: when an issue left an item out to wait for a curator

The digest policy `hold` keeps unsure items (and those of barely taught sources) out of an
issue until a curator judges them; `held_since` remembers them so the next issue after the
judgement takes them, whenever they were first stored. Indexed: the next issue reads the
(few) waiting items.

Revision ID: 0004p
Revises: 0004n
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004p"
down_revision = "0004n"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "item", sa.Column("held_since", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
    )
    op.create_index("ix_item_held_since", "item", ["held_since"])


def downgrade() -> None:
    op.drop_index("ix_item_held_since", table_name="item")
    with op.batch_alter_table("item") as batch:
        batch.drop_column("held_since")
