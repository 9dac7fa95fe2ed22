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

import logging

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from paperdigest.models import OutboxMessage, Paper, Review, Subscriber, SubscriptionDelivery, SubscriptionRule, utcnow
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
    had = set(
        session.scalars(
            select(SubscriptionDelivery.user_id).where(
                SubscriptionDelivery.arxiv_id == review.arxiv_id, SubscriptionDelivery.version == review.version
            )
        )
    )
    fresh = [m for m in matching_users(session, paper) if m.user_id not in had]
    recorded = _record(session, fresh, review) if fresh else set()
    instant = [m for m in fresh if m.user_id in recorded and m.mode == INSTANT]
    if instant:
        session.execute(insert(OutboxMessage), [_instant_row(m, review) for m in instant])
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
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(SubscriptionDelivery)
        .on_conflict_do_nothing(index_elements=["user_id", "arxiv_id", "version"])
        .returning(SubscriptionDelivery.user_id)
    )
    rows = [
        {
            "user_id": m.user_id,
            "arxiv_id": review.arxiv_id,
            "version": review.version,
            "review_id": review.id,
            "reason": m.reason[:200],
            "status": PENDING if m.mode == DAILY else QUEUED,
            "created_at": utcnow(),
        }
        for m in matches
    ]
    return set(session.scalars(statement, rows))


def _instant_row(match: Match, review: Review) -> dict[str, object]:
    return {
        "kind": SUBSCRIPTION,
        "chat_id": match.chat_id,
        "arxiv_id": review.arxiv_id,
        "version": review.version,
        "review_id": review.id,
        "text": match.reason,  # the relay words it as the note under the header
        "priority": BULK,
    }


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
