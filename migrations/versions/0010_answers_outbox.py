"""/ask answers go through the outbox: outbox.question_id (the question a row answers) and
outbox.reply_to (the message it replies to), so an answer is queued in the transaction that
records it and sent once by the relay, like every other message

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 19:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("question_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reply_to", sa.BigInteger(), nullable=True))
        batch_op.create_foreign_key("fk_outbox_question", "questions", ["question_id"], ["id"], ondelete="SET NULL")
        batch_op.create_index("ix_outbox_question", ["question_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_index("ix_outbox_question")
        batch_op.drop_constraint("fk_outbox_question", type_="foreignkey")
        batch_op.drop_column("reply_to")
        batch_op.drop_column("question_id")
