"""Readers' reactions: post_reactions (the latest reaction counts of each channel post's
message, from Telegram's message_reaction_count updates), which the watcher's ranking reads

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 17:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "post_reactions",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("message_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("arxiv_id", sa.String(length=64), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("chat_id", "message_id"),
    )
    with op.batch_alter_table("post_reactions") as batch_op:
        batch_op.create_index("ix_post_reactions_arxiv_id", ["arxiv_id"], unique=False)


def downgrade() -> None:
    op.drop_table("post_reactions")
