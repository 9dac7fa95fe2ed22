"""Fan-out: a new review reaches the readers whose subscriptions it matches, once per paper version.

`queue_for_subscribers` runs in the transaction that publishes the review (the watcher's
channel post, a published /review, or on a bot with no channel a /review that would have been
published: bot/answers.py `publish`): it records one `subscription_deliveries` row per matching
reader — unique per (reader, paper, version), inserted with ON CONFLICT DO NOTHING, so a
second publication, a restart or another process never queues a paper twice — and, for readers
in instant mode, one outbox row each (kind "subscription", priority BULK: after channel posts
and direct answers). Readers in daily mode get their rows "pending"; the relay's daily step
(bot/subscriber_digest.py) gathers them into one message at the reader's time.

A review that failed the number check is never sent to subscribers, even once an admin
approved it for the channel; nor one an admin dropped.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import bindparam, delete, func, literal, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from paperdigest.models import (
    Base,
    OutboxMessage,
    Paper,
    Review,
    Subscriber,
    SubscriptionDelivery,
    SubscriptionRule,
    utcnow,
)
from paperdigest.outbox import BULK
from paperdigest.subscriptions import DAILY, INSTANT, Match, matching_users

log = logging.getLogger(__name__)
SUBSCRIPTION, SUB_DIGEST = "subscription", "sub_digest"  # outbox kinds: one review; a daily digest
SUBSCRIBER_KINDS = (SUBSCRIPTION, SUB_DIGEST)
QUEUED, PENDING, DROPPED = "queued", "pending", "dropped"  # SubscriptionDelivery.status


def may_fan_out(review: Review) -> bool:
    return review.validation != "failed" and review.moderation != "dropped"


def queue_for_subscribers(session: Session, review: Review) -> int:
    """Queue this review for every matching reader who has not had its paper version; how many."""
    if not may_fan_out(review):
        return 0
    paper = session.get(Paper, review.arxiv_id)
    if paper is None:
        return 0
    # Readers who had this version already are skipped by the insert's ON CONFLICT, not looked
    # up first: no index leads with the paper, so that lookup read every delivery ever made.
    matches = matching_users(session, paper)
    recorded = _record(session, matches, review) if matches else set()
    instant = [m for m in matches if m.user_id in recorded and m.mode == INSTANT]
    if instant:
        _queue_instant(session, instant, review)
    if recorded:
        log.info(
            "review %d of %s: %d subscriber(s), %d now, %d in their daily digest",
            review.id,
            review.arxiv_id,
            len(recorded),
            len(instant),
            len(recorded) - len(instant),
        )
    return len(recorded)


def _record(session: Session, matches: list[Match], review: Review) -> set[int]:
    """Insert the deliveries; the user ids actually inserted (a concurrent fan-out's are skipped)."""
    every_row = {"arxiv_id": review.arxiv_id, "version": review.version, "review_id": review.id, "created_at": utcnow()}
    columns: dict[str, list[Any]] = {
        "user_id": [m.user_id for m in matches],
        "reason": [m.reason[:200] for m in matches],
        "status": [PENDING if m.mode == DAILY else QUEUED for m in matches],
    }
    statement = _insert_rows(session, SubscriptionDelivery, columns, every_row).on_conflict_do_nothing(
        index_elements=["user_id", "arxiv_id", "version"]
    )
    return set(session.scalars(statement.returning(SubscriptionDelivery.user_id)))


def _queue_instant(session: Session, matches: list[Match], review: Review) -> None:
    """One outbox row per reader in instant mode; the relay words `text` (the rule matched) as
    the note under the header."""
    every_row = {
        "kind": SUBSCRIPTION,
        "arxiv_id": review.arxiv_id,
        "version": review.version,
        "review_id": review.id,
        "priority": BULK,
    }
    columns: dict[str, list[Any]] = {"chat_id": [m.chat_id for m in matches], "text": [m.reason for m in matches]}
    session.execute(_insert_rows(session, OutboxMessage, columns, every_row))


def _insert_rows(
    session: Session, model: type[Base], columns: dict[str, list[Any]], constants: dict[str, Any]
) -> postgresql.Insert | sqlite.Insert:
    """INSERT … SELECT of every row from one parameter per column (PostgreSQL: unnest of arrays)
    or one for them all (SQLite: json_each of a JSON list), the same constants in every row.
    Thousands of rows as one short statement: SQLAlchemy's multi-row VALUES for 1,811 rows cost
    psycopg ~100 ms parsing its 12,677 placeholders, an executemany ~35 ms of one message a row,
    and SQLite's ~50 ms of SQLAlchemy handling each row (docs/benchmarks.md). Column defaults
    (outbox status, attempts, …) are filled in as for any insert."""
    table = model.__table__
    fixed = [literal(value, table.c[name].type) for name, value in constants.items()]
    names = [*columns, *constants]
    if _on_postgresql(session):
        arrays = [
            bindparam(f"unnest_{name}", values, type_=postgresql.ARRAY(table.c[name].type))
            for name, values in columns.items()
        ]
        rows = func.unnest(*arrays).table_valued(*columns).render_derived()
        return postgresql.insert(model).from_select(names, select(*(rows.c[name] for name in columns), *fixed))
    listed = json.dumps(list(zip(*columns.values(), strict=True)), ensure_ascii=False)
    each = func.json_each(bindparam("rows", listed)).table_valued("value")
    values = [func.json_extract(each.c.value, f"$[{i}]") for i in range(len(columns))]
    # WHERE: without one SQLite reads the ON of ON CONFLICT as a join's (its docs, "parsing ambiguity").
    return sqlite.insert(model).from_select(names, select(*values, *fixed).where(true()))


def _on_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def drop_blocked(session: Session, chat_id: str) -> int:
    """The reader blocked the bot (403): their subscriptions go, their queued messages fail, and
    what waited for their digest is dropped. Deliveries are kept: nothing is sent again later.
    Returns how many rules were removed."""
    users = list(session.scalars(select(Subscriber.user_id).where(Subscriber.chat_id == chat_id)))
    if not users:
        return 0
    rules = delete(SubscriptionRule).where(SubscriptionRule.user_id.in_(users)).returning(SubscriptionRule.id)
    removed = len(session.scalars(rules).all())
    session.execute(delete(Subscriber).where(Subscriber.user_id.in_(users)))
    session.execute(
        update(SubscriptionDelivery)
        .where(SubscriptionDelivery.user_id.in_(users), SubscriptionDelivery.status == PENDING)
        .values(status=DROPPED)
    )
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.chat_id == chat_id,
            OutboxMessage.kind.in_(SUBSCRIBER_KINDS),
            OutboxMessage.status == "pending",
        )
        .values(status="failed", error="the reader blocked the bot: unsubscribed")
    )
    return removed
