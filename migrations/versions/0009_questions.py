"""Questions about a paper: each reader's question, the answer sent, its thread (parent) and tokens

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 17:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "questions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("update_id", sa.BigInteger(), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("arxiv_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("answered_by", sa.String(length=16), nullable=False),
        sa.Column("suspects", sa.JSON(), nullable=False),
        sa.Column("question_message_id", sa.BigInteger(), nullable=True),
        sa.Column("answer_message_id", sa.BigInteger(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["questions.id"], ondelete="SET NULL"),
        sa.UniqueConstraint("update_id"),
    )
    with op.batch_alter_table("questions") as batch_op:
        batch_op.create_index("ix_questions_answer", ["chat_id", "answer_message_id"], unique=False)
        batch_op.create_index("ix_questions_user_day", ["user_id", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_table("questions")
