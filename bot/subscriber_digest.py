"""Readers' daily digests and their mode: one message a day with what their subscriptions found.

The fan-out (paperdigest/fanout.py) leaves a daily reader's deliveries "pending". The relay
calls `queue_due_digests` every DIGEST_CHECK_S (bot/relay.py): for each daily reader whose
Moscow time has come and who has not had today's digest, one outbox row (kind "sub_digest",
priority BULK) lists the pending papers, which become "queued" with its id, in one transaction:
a restart neither loses nor repeats a digest.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import Session

from bot import texts
from paperdigest import outbox
from paperdigest.fanout import DROPPED, PENDING, QUEUED, SUB_DIGEST
from paperdigest.models import OutboxMessage, Paper, Subscriber, SubscriptionDelivery
from paperdigest.outbox import BULK
from paperdigest.subscriptions import DAILY, INSTANT, OFF

log = logging.getLogger(__name__)
DIGEST_ITEMS = 20  # papers listed in one message (Telegram's 4,096 characters); the rest are counted
DIGESTS_PER_STEP = 500  # readers handled in one transaction


def moscow_minute(now: datetime) -> tuple[datetime, int]:
    local = now.astimezone(texts.MOSCOW)
    return local, local.hour * 60 + local.minute


def queue_due_digests(session: Session, now: datetime) -> int:
    """Queue the digest of every daily reader due by `now`; how many were queued."""
    local, minute = moscow_minute(now)
    waiting = exists().where(SubscriptionDelivery.user_id == Subscriber.user_id, SubscriptionDelivery.status == PENDING)
    due = session.scalars(
        select(Subscriber)
        .where(
            Subscriber.mode == DAILY,
            Subscriber.digest_minute <= minute,
            or_(Subscriber.last_digest_on.is_(None), Subscriber.last_digest_on < local.date()),
            waiting,
        )
        .limit(DIGESTS_PER_STEP)
    ).all()
    for reader in due:
        queue_digest(session, reader)
        reader.last_digest_on = local.date()
    if due:
        log.info("daily digests queued for %d subscriber(s)", len(due))
    return len(due)


def queue_digest(session: Session, reader: Subscriber) -> OutboxMessage | None:
    """One message with every pending paper of this reader (None when nothing waits)."""
    pending = list(
        session.execute(
            select(SubscriptionDelivery, Paper.title)
            .join(Paper, Paper.arxiv_id == SubscriptionDelivery.arxiv_id)
            .where(SubscriptionDelivery.user_id == reader.user_id, SubscriptionDelivery.status == PENDING)
            .order_by(SubscriptionDelivery.id)
        )
    )
    if not pending:
        return None
    items = [(title, delivery.arxiv_id, delivery.reason) for delivery, title in pending[:DIGEST_ITEMS]]
    row = outbox.enqueue(
        session,
        kind=SUB_DIGEST,
        chat_id=reader.chat_id,
        text=texts.subscriber_digest(items, more=max(0, len(pending) - DIGEST_ITEMS)),
        priority=BULK,
    )
    for delivery, _ in pending:
        delivery.status, delivery.outbox_id = QUEUED, row.id
    return row


def set_mode(session: Session, reader: Subscriber, mode: str, minute: int | None = None) -> None:
    """Change how matches reach the reader. What waited for a digest is sent now when they
    choose instant, and dropped when they turn it off."""
    if mode == INSTANT and reader.mode == DAILY:
        queue_digest(session, reader)
    if mode == OFF:
        session.execute(
            update(SubscriptionDelivery)
            .where(SubscriptionDelivery.user_id == reader.user_id, SubscriptionDelivery.status == PENDING)
            .values(status=DROPPED)
        )
    reader.mode = mode
    if minute is not None:
        reader.digest_minute = minute
