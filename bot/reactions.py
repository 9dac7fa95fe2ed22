"""Readers' reactions to channel posts: Telegram's `message_reaction_count` updates, stored
as the latest counts per post message (paperdigest.models.PostReaction); the watcher's
ranking reads them (watcher/taste.py).

Telegram sends these updates only to a bot that is an administrator of the channel and only
when `allowed_updates` names them; the router below makes aiogram's
`resolve_used_update_types()` name them, for polling and for the webhook alike. An update
for any other chat, or for a message that is not a channel post the outbox sent, is ignored.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from aiogram import Router
from aiogram.types import (
    Chat,
    MessageReactionCountUpdated,
    ReactionCount,
    ReactionTypeCustomEmoji,
    ReactionTypeEmoji,
    ReactionTypePaid,
)
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from paperdigest.db import Database
from paperdigest.models import OutboxMessage, PostReaction
from paperdigest.settings import Settings

log = logging.getLogger(__name__)


def make_router() -> Router:
    router = Router(name="reactions")
    router.message_reaction_count.register(reaction_count)
    return router


async def reaction_count(event: MessageReactionCountUpdated, db: Database, settings: Settings) -> None:
    if not settings.CHANNEL_ID or not is_channel(event.chat, settings.CHANNEL_ID):
        log.info("reaction counts for chat %s: not the channel, ignored", event.chat.id)
        return
    counts = emoji_counts(event.reactions)
    with db.session() as session, session.begin():
        stored = store_counts(session, settings.CHANNEL_ID, event.chat.id, event.message_id, counts, event.date)
    log.info(
        "reaction counts for channel message %d: %s",
        event.message_id,
        f"{sum(counts.values())} stored" if stored else "not a channel post or older than stored, ignored",
    )


def is_channel(chat: Chat, channel_id: str) -> bool:
    """CHANNEL_ID is either the channel's @name or its -100… id."""
    if channel_id.startswith("@"):
        return (chat.username or "").lower() == channel_id[1:].lower()
    return str(chat.id) == channel_id


def emoji_counts(reactions: list[ReactionCount]) -> dict[str, int]:
    """Emoji → count; custom emoji as "custom:<id>", paid stars as "paid"."""
    counts: dict[str, int] = {}
    for reaction in reactions:
        key = _reaction_key(reaction.type)
        counts[key] = counts.get(key, 0) + reaction.total_count
    return counts


def _reaction_key(kind: ReactionTypeEmoji | ReactionTypeCustomEmoji | ReactionTypePaid) -> str:
    if isinstance(kind, ReactionTypeEmoji):
        return kind.emoji
    if isinstance(kind, ReactionTypeCustomEmoji):
        return f"custom:{kind.custom_emoji_id}"
    return kind.type


def channel_post(session: Session, channel_id: str, message_id: int) -> OutboxMessage | None:
    """The channel post one of whose messages is `message_id` (a classic post has several).

    message_ids is a JSON list, which no index covers on both SQLite and PostgreSQL: the
    channel's posts are scanned newest first (a few thousand rows a year; reactions come
    mostly to recent posts)."""
    rows = session.execute(
        select(OutboxMessage.id, OutboxMessage.message_ids)
        .where(OutboxMessage.kind == "channel", OutboxMessage.chat_id == channel_id)
        .order_by(OutboxMessage.id.desc())
    )
    found = next((post_id for post_id, ids in rows if message_id in (ids or [])), None)
    return session.get(OutboxMessage, found) if found is not None else None


def store_counts(
    session: Session, channel_id: str, chat_id: int, message_id: int, counts: dict[str, int], reported: datetime
) -> bool:
    """Replace the message's counts unless a newer report is stored; False when ignored."""
    post = channel_post(session, channel_id, message_id)
    if post is None or post.arxiv_id is None:
        return False
    reported = _utc(reported)
    row = session.get(PostReaction, (chat_id, message_id))
    if row is not None and _utc(row.reported_at) > reported:
        return False
    values = dict(outbox_id=post.id, arxiv_id=post.arxiv_id, counts=counts, total=sum(counts.values()))
    if row is None:
        try:
            with session.begin_nested():  # another instance may store the same message meanwhile
                session.add(PostReaction(chat_id=chat_id, message_id=message_id, reported_at=reported, **values))
            return True
        except IntegrityError:
            row = session.get(PostReaction, (chat_id, message_id))
            if row is None or _utc(row.reported_at) > reported:
                return False
    for name, value in values.items():
        setattr(row, name, value)
    row.reported_at = reported
    return True


def _utc(value: datetime) -> datetime:
    """SQLite hands datetimes back naive; everything stored is UTC."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
