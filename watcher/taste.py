"""The channel's taste, from readers' reactions to its past posts (post_reactions, stored by
the bot from Telegram's message_reaction_count updates).

A post's weight is how far its reactions rise above the channel's median:
`min(MAX_WEIGHT, reactions / max(median, 1) - 1)`, and only above the median. Liked posts
pull similar candidates up (watcher/ranking.py); posts at or below the median pull nothing
(they are the LLM's examples of what was ignored), so a quiet week cannot push a topic down.
Posts younger than MIN_AGE are left out: readers have not had time to react yet.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paperdigest.models import OutboxMessage, Paper, PostReaction
from watcher.ranking import Item, Taste

POSTS = 300  # the channel's latest posts the taste is taken from
MIN_AGE = timedelta(days=1)
MAX_WEIGHT = 4.0  # one viral post must not outweigh the rest


@dataclass(frozen=True)
class Reacted:
    item: Item  # the post's paper
    reactions: int


def taste_of(posts: Sequence[Reacted]) -> Taste:
    if not posts:
        return Taste()
    median = statistics.median(p.reactions for p in posts)
    base = max(median, 1.0)
    ranked = sorted(posts, key=lambda p: (-p.reactions, p.item.key))  # the order never depends on the input's
    liked = tuple((p.item, min(MAX_WEIGHT, p.reactions / base - 1)) for p in ranked if p.reactions > base)
    quiet = sorted((p for p in posts if p.reactions <= median), key=lambda p: (p.reactions, p.item.key))
    ignored = tuple(p.item for p in quiet)
    return Taste(liked, ignored, float(median))


def reacted_posts(session: Session, channel_id: str, now: datetime, limit: int = POSTS) -> list[Reacted]:
    """The channel's latest sent posts older than MIN_AGE, with their papers and reactions
    (a post nobody reacted to counts 0; the messages of a classic post are summed)."""
    reactions = (
        select(PostReaction.outbox_id, func.sum(PostReaction.total).label("total"))
        .group_by(PostReaction.outbox_id)
        .subquery()
    )
    rows = session.execute(
        select(Paper.arxiv_id, Paper.title, Paper.abstract, func.coalesce(reactions.c.total, 0))
        .select_from(OutboxMessage)
        .join(Paper, Paper.arxiv_id == OutboxMessage.arxiv_id)
        .outerjoin(reactions, reactions.c.outbox_id == OutboxMessage.id)
        .where(
            OutboxMessage.kind == "channel",
            OutboxMessage.chat_id == channel_id,
            OutboxMessage.status == "sent",
            OutboxMessage.sent_at < now - MIN_AGE,
        )
        .order_by(OutboxMessage.sent_at.desc(), OutboxMessage.id.desc())
        .limit(limit)
    )
    return [Reacted(Item(key, title, abstract or ""), int(total)) for key, title, abstract, total in rows]
