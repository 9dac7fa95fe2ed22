"""Workers: jobs.not_before (a transient failure waits before any process retries it) and
inbox.holder / inbox.held_until (an update one webhook instance handles is not replayed by
another while its claim lasts)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.add_column(sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("inbox") as batch_op:
        batch_op.add_column(sa.Column("holder", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("held_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbox") as batch_op:
        batch_op.drop_column("held_until")
        batch_op.drop_column("holder")
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_column("not_before")
