"""Personal subscriptions: subscribers (how matches reach them), subscription_rules (category,
author, keyword phrase; looked up by kind and key), subscription_deliveries (each paper version
a reader was sent, once), and outbox.priority (subscribers' messages after channel posts and
direct answers)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="0"))
        batch_op.create_index("ix_outbox_claim", ["status", "priority", "id"], unique=False)
    op.create_table(
        "subscribers",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, primary_key=True),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("digest_minute", sa.Integer(), nullable=False),
        sa.Column("last_digest_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "subscription_rules",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["subscribers.user_id"], ondelete="CASCADE"),
        sa.UniqueConstraint("user_id", "kind", "value"),
    )
    with op.batch_alter_table("subscription_rules") as batch_op:
        batch_op.create_index("ix_subscription_rules_lookup", ["kind", "key", "value"], unique=False)
    op.create_table(
        "subscription_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("arxiv_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["review_id"], ["reviews.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], ondelete="SET NULL"),
        sa.UniqueConstraint("user_id", "arxiv_id", "version"),
    )
    with op.batch_alter_table("subscription_deliveries") as batch_op:
        batch_op.create_index("ix_subscription_deliveries_user_status", ["user_id", "status"], unique=False)


def downgrade() -> None:
    op.drop_table("subscription_deliveries")
    op.drop_table("subscription_rules")
    op.drop_table("subscribers")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_index("ix_outbox_claim")
        batch_op.drop_column("priority")
