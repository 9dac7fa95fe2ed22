"""reviews.grounding: each number of a review and where the paper says it; moderation of failed ones

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reviews") as batch_op:
        batch_op.add_column(sa.Column("grounding", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("moderation", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reviews") as batch_op:
        batch_op.drop_column("moderation")
        batch_op.drop_column("grounding")
