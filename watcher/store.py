"""The watcher's queries: cursors, candidates, notes, once-only marks, the round lease, the
channel's taste (its posts and their readers' reactions).

Channel posts, edits and admin notices go through the one outbox (paperdigest/outbox.py),
queued in the transaction that decides them; the bot's relay sends them (the watcher knows
nothing of Telegram).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paperdigest.db import insert_once
from paperdigest.models import (
    OutboxMessage,
    Paper,
    PostReaction,
    Review,
    WatchCandidate,
    WatchCursor,
    WatchMark,
)
from summarizer.grounding import may_post_automatically
from watcher.ranking import Item, Taste
from watcher.taste import MIN_AGE, POSTS, Reacted, liking, taste_of

# held: its review failed the check and waits for an admin; dropped: an admin refused it
HOLDS_SLOT = ("chosen", "reviewed", "posted", "announced", "held", "dropped")  # counts against WATCH_MAX_PER_DAY


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; everything stored is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


# --- cursors and candidates -----------------------------------------------------------------


def cursor(session: Session, category: str) -> datetime | None:
    row = session.get(WatchCursor, category)
    return as_utc(row.last_submitted) if row else None


def move_cursor(session: Session, category: str, newest: datetime) -> None:
    row = session.get(WatchCursor, category)
    if row is None:
        session.add(WatchCursor(category=category, last_submitted=newest))
    elif (last := as_utc(row.last_submitted)) is None or newest > last:
        row.last_submitted = newest


def candidates_by_id(session: Session, ids: Iterable[str]) -> dict[str, WatchCandidate]:
    ids = list(ids)
    if not ids:
        return {}
    rows = session.scalars(select(WatchCandidate).where(WatchCandidate.arxiv_id.in_(ids)))
    return {row.arxiv_id: row for row in rows}


def day_candidates(session: Session, day: date, *statuses: str) -> list[WatchCandidate]:
    query = select(WatchCandidate).where(WatchCandidate.day == day)
    if statuses:
        query = query.where(WatchCandidate.status.in_(statuses))
    return list(session.scalars(query.order_by(WatchCandidate.rank, WatchCandidate.arxiv_id)))


def reviewed_unposted(session: Session) -> list[WatchCandidate]:
    """Reviewed but not yet queued for the channel (a stop between the two steps, or a review
    held for an admin), best first."""
    return list(
        session.scalars(
            select(WatchCandidate)
            .where(WatchCandidate.status.in_(("reviewed", "held")))
            .order_by(WatchCandidate.day, WatchCandidate.rank, WatchCandidate.arxiv_id)
        )
    )


def postable_review(session: Session, arxiv_id: str) -> Review | None:
    """The paper's newest review that may reach the channel: one that failed the check and was
    not approved is passed over (summarizer.grounding.may_post_automatically)."""
    reviews = session.scalars(
        select(Review).where(Review.arxiv_id == arxiv_id).order_by(Review.created_at.desc(), Review.id.desc())
    )
    return next((r for r in reviews if may_post_automatically(r.validation, r.moderation)), None)


def latest_day(session: Session) -> date | None:
    return session.scalar(select(func.max(WatchCandidate.day)))


def stale_chosen(session: Session, before: date) -> list[WatchCandidate]:
    return list(
        session.scalars(select(WatchCandidate).where(WatchCandidate.status == "chosen", WatchCandidate.day < before))
    )


def category_counts(session: Session, since: date) -> dict[date, Counter[str]]:
    """Per announcement day, how many candidates each watched category listed."""
    counts: dict[date, Counter[str]] = {}
    for day, listed in session.execute(
        select(WatchCandidate.day, WatchCandidate.listed_in).where(WatchCandidate.day >= since)
    ):
        counts.setdefault(day, Counter()).update(listed)
    return counts


# --- marks -----------------------------------------------------------------------------


def has_mark(session: Session, key: str) -> bool:
    return session.get(WatchMark, key) is not None


def set_mark(session: Session, key: str, value: str = "") -> None:
    if session.get(WatchMark, key) is None:
        insert_once(session, WatchMark(key=key, value=value))


# --- tokens ---------------------------------------------------------------------------------


def tokens_per_review(session: Session, default: int) -> int:
    """What a review usually costs: the mean of the last ten LLM reviews, else `default`."""
    recent = session.scalars(
        select(Review.prompt_tokens + Review.completion_tokens)
        .where(Review.reviewer == "llm")
        .order_by(Review.id.desc())
        .limit(10)
    ).all()
    return int(sum(recent) / len(recent)) if recent else default


# --- the channel's taste --------------------------------------------------------------------


def channel_taste(session: Session, channel_id: str, now: datetime) -> tuple[Taste, int]:
    """What the channel's readers liked (watcher/taste.py), and how many posts it was taken from."""
    posts = reacted_posts(session, channel_id, now)
    return taste_of(posts), len(posts)


def reacted_posts(session: Session, channel_id: str, now: datetime, limit: int = POSTS) -> list[Reacted]:
    """The channel's latest sent posts older than MIN_AGE, with their papers and reactions
    (a post nobody reacted to counts 0; the messages of a classic post are summed)."""
    posts = session.execute(
        select(OutboxMessage.id, Paper.arxiv_id, Paper.title, Paper.abstract)
        .join(Paper, Paper.arxiv_id == OutboxMessage.arxiv_id)
        .where(
            OutboxMessage.kind == "channel",
            OutboxMessage.chat_id == channel_id,
            OutboxMessage.status == "sent",
            OutboxMessage.sent_at < now - MIN_AGE,
        )
        .order_by(OutboxMessage.sent_at.desc(), OutboxMessage.id.desc())
        .limit(limit)
    ).all()
    counts: dict[int, int] = {}
    for post_id, emoji_counts in session.execute(
        select(PostReaction.outbox_id, PostReaction.counts).where(PostReaction.outbox_id.in_([p.id for p in posts]))
    ):
        if post_id is not None:
            counts[post_id] = counts.get(post_id, 0) + liking(emoji_counts or {})
    return [
        Reacted(Item(key, title, abstract or ""), counts.get(post_id, 0)) for post_id, key, title, abstract in posts
    ]
