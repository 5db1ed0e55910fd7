"""item.doc_title: the title the classifier read (the article page's, else the feed's)

With the stored text, summary and language it rebuilds exactly the document an item was
scored on (veille.types.classifier_doc), so training, re-scoring and explanations read what
the pull read. NULL for items classified before it existed: they are read with their feed
title.

Revision ID: 0004l
Revises: 0004p
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004l"
down_revision = "0004p"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("item", sa.Column("doc_title", sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    op.drop_column("item", "doc_title")
