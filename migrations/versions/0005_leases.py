"""Leases: jobs.lease_expires_at and the leases table (the relay, the watcher's round)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=64), primary_key=True),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
    )
    # The watcher's round lease moved from watch_marks to leases; a round running during the
    # upgrade loses it (the next round starts over where the cursors are: nothing is lost).
    op.execute("DELETE FROM watch_marks WHERE key = 'lease'")


def downgrade() -> None:
    op.drop_table("leases")
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_column("lease_expires_at")
