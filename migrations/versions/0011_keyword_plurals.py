"""Keyword rules in the singular: a stored keyword phrase and its lookup key are re-normalised
with paperdigest.subscriptions' current normal form (plurals folded), so `language models` and
`language model` are one rule and match "Large Language Models"; a reader's rules that became
one are kept once (the oldest)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 05:00:00
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from paperdigest.subscriptions import Rule, keyword_rule, words

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

RULES = sa.table(
    "subscription_rules",
    sa.column("id", sa.Integer),
    sa.column("user_id", sa.BigInteger),
    sa.column("kind", sa.String),
    sa.column("value", sa.String),
    sa.column("key", sa.String),
    sa.column("label", sa.String),
)


def upgrade() -> None:
    _renormalise(keyword_rule)


def downgrade() -> None:
    _renormalise(_exact_words_rule)


def _exact_words_rule(label: str) -> Rule:
    """The normal form of 0007-0010: the folded words as written."""
    phrase = words(label)
    return Rule("keyword", " ".join(phrase), max(phrase, key=len)[:100], label)


def _renormalise(rule_of: Callable[[str], Rule]) -> None:
    bind = op.get_bind()
    query = sa.select(RULES.c.id, RULES.c.user_id, RULES.c.label).where(RULES.c.kind == "keyword")
    kept: dict[tuple[int, str], int] = {}
    doubles: list[dict[str, int]] = []
    changed: list[dict[str, object]] = []
    for rule_id, user_id, label in bind.execute(query.order_by(RULES.c.id)).all():
        rule = rule_of(label)
        if (user_id, rule.value) in kept:
            doubles.append({"rule_id": rule_id})
            continue
        kept[(user_id, rule.value)] = rule_id
        changed.append({"rule_id": rule_id, "new_value": rule.value, "new_key": rule.key})
    by_id = RULES.c.id == sa.bindparam("rule_id")
    if doubles:
        bind.execute(sa.delete(RULES).where(by_id), doubles)
    if changed:
        # No row takes a value another row still holds: singular() is idempotent, so a reader's
        # rule whose value another one's new value equals is a double, and deleted above.
        update = sa.update(RULES).where(by_id).values(value=sa.bindparam("new_value"), key=sa.bindparam("new_key"))
        bind.execute(update, changed)
