"""The outbox: every message the product sends to Telegram is first a row here.

The bot (replies, notices, its channel posts), the watcher (channel posts, edits, the daily
digest, admin alarms) and admins' commands all queue through `enqueue` in the transaction
that decides the message; the bot's relay (bot/relay.py) is the only sender. A row's status
runs pending → sending (the relay claimed it: `claim_next`) → in_flight → sent, or ends failed, unknown (the process stopped
mid-send: never resent blindly) or held (a channel post whose review may not be posted).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from paperdigest.models import OutboxMessage

ANSWER = "answer"  # an /ask answer: plain text replying to the question (reply_to), for question_id
HELD = "held"  # a channel row the relay would not post: its review may not reach the channel
FINAL_SEND = ("sent", "failed", "unknown", HELD)  # nothing more will happen to the row by itself
MAY_HAVE_LEFT = ("sending", "in_flight", "sent", "unknown")
# Claim order: lower first. Channel posts, edits, replies and notices are NORMAL; the messages
# of personal subscriptions (paperdigest/fanout.py) are BULK, sent only when nothing else is due.
NORMAL, BULK = 0, 10


def enqueue(session: Session, **fields: object) -> OutboxMessage:
    """Queue one message (kind, chat_id, and what it shows); its id is known on return."""
    row = OutboxMessage(**fields)
    session.add(row)
    session.flush()
    return row


def channel_post(session: Session, chat_id: str, arxiv_id: str, version: int | None = None) -> OutboxMessage | None:
    """The channel post of this paper version (one at most: ux_outbox_channel_post), whatever
    its status; without a version, the paper's first post, whatever version it showed."""
    query = select(OutboxMessage).where(
        OutboxMessage.kind == "channel", OutboxMessage.chat_id == chat_id, OutboxMessage.arxiv_id == arxiv_id
    )
    if version is not None:
        return session.scalar(query.where(OutboxMessage.version == version))
    return session.scalar(query.order_by(OutboxMessage.id).limit(1))


def channel_post_exists(session: Session, chat_id: str, arxiv_id: str, version: int) -> bool:
    """A channel post of this version is queued, sent or on its way; one the relay held back does not count."""
    post = channel_post(session, chat_id, arxiv_id, version)
    return post is not None and post.status != HELD


def channel_post_left(session: Session, chat_id: str, arxiv_id: str, version: int) -> bool:
    """Some of this version's channel post may be in the channel already (too late to hold it back)."""
    post = channel_post(session, chat_id, arxiv_id, version)
    return post is not None and (post.parts_sent > 0 or post.status in MAY_HAVE_LEFT)


def sent_channel_posts(session: Session, chat_id: str, since: datetime) -> list[OutboxMessage]:
    """Sent channel posts created since `since`, the first of each paper."""
    rows = session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.kind == "channel",
            OutboxMessage.chat_id == chat_id,
            OutboxMessage.status == "sent",
            OutboxMessage.created_at >= since,
        )
        .order_by(OutboxMessage.id)
    )
    first: dict[str, OutboxMessage] = {}
    for row in rows:
        first.setdefault(row.arxiv_id or "", row)
    return list(first.values())


def due_count(session: Session, now: datetime, *, due: bool = True) -> int:
    """Pending rows due by `now` (or, with due=False, those waiting for a later time)."""
    when = (OutboxMessage.not_before.is_(None)) | (OutboxMessage.not_before <= now)
    query = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
    return session.scalar(query.where(when if due else ~when)) or 0


def claim_next(
    session: Session, now: datetime, busy_chats: set[str], *, max_priority: int | None = None
) -> OutboxMessage | None:
    """Take the most urgent (lowest priority, then oldest) due pending row whose chat is not
    waiting out its interval: it becomes 'sending' in this transaction (commit it before
    sending), so no other relay takes it. `max_priority` leaves less urgent rows out (the
    relay's pace for subscribers' messages).

    One statement on both backends: on PostgreSQL the inner SELECT locks the row it picks and
    skips rows another relay holds (FOR UPDATE SKIP LOCKED); SQLite leaves the clause out, its
    writers being one at a time already."""
    query = select(OutboxMessage.id).where(OutboxMessage.status == "pending")
    query = query.where((OutboxMessage.not_before.is_(None)) | (OutboxMessage.not_before <= now))
    if busy_chats:
        query = query.where(OutboxMessage.chat_id.not_in(sorted(busy_chats)))
    if max_priority is not None:
        query = query.where(OutboxMessage.priority <= max_priority)
    oldest = (
        query.order_by(OutboxMessage.priority, OutboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    claimed = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == oldest, OutboxMessage.status == "pending")
        .values(status="sending")
        .returning(OutboxMessage.id)
    ).scalar()
    return session.get(OutboxMessage, claimed, populate_existing=True) if claimed is not None else None


def mark_interrupted_sends(session: Session) -> list[OutboxMessage]:
    """After a crash: a row left 'sending' never had its request leave the process, so it is
    sent again; one left 'in_flight' may be in the chat already, so it is never resent
    blindly. Returns the rows that became 'unknown'."""
    session.execute(update(OutboxMessage).where(OutboxMessage.status == "sending").values(status="pending"))
    interrupted = list(session.scalars(select(OutboxMessage).where(OutboxMessage.status == "in_flight")))
    for row in interrupted:
        row.status, row.error = "unknown", "the process stopped while sending; check the chat before resending"
    return interrupted
