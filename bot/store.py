"""The bot's queries: the inbox, requests, quotas, moderation and statistics (the outbox itself: paperdigest/outbox.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, func, select, text, update
from sqlalchemy.orm import Session

from paperdigest import fanout
from paperdigest.db import insert_once
from paperdigest.leases import is_free
from paperdigest.models import (
    ChatRequest,
    InboxUpdate,
    Job,
    OutboxMessage,
    Paper,
    Question,
    Review,
    Subscriber,
    SubscriptionDelivery,
    SubscriptionRule,
    Usage,
    utcnow,
)
from paperdigest.outbox import HELD
from paperdigest.repo import day_start
from paperdigest.subscriptions import DAILY, INSTANT, OFF

DROPPED = "dropped"  # Review.moderation of a failed review an admin refused (/drop)


def next_reset(now: datetime | None = None) -> datetime:
    return day_start(now) + timedelta(days=1)


# --- inbox ---------------------------------------------------------------------------------


def store_update(
    session: Session, update_id: int, payload: dict, holder: str | None = None, lease_s: float = 0.0
) -> bool:
    """Record an update once, claimed by `holder` for lease_s while it handles it (no holder:
    any instance's replay takes it); False when it was already stored (Telegram sent it again,
    perhaps to another webhook instance)."""
    if session.get(InboxUpdate, update_id) is not None:
        return False
    held_until = utcnow() + timedelta(seconds=lease_s) if holder else None
    row = InboxUpdate(update_id=update_id, payload=payload, holder=holder, held_until=held_until)
    return insert_once(session, row)  # another instance may store it between our read and insert


def finish_update(session: Session, update_id: int, error: str | None = None) -> None:
    row = session.get(InboxUpdate, update_id)
    if row is not None:
        row.status, row.error = ("failed", error[:2000]) if error else ("done", None)
        row.holder = row.held_until = None


def renew_updates(session: Session, update_ids: list[int], holder: str, lease_s: float) -> None:
    """Extend this process's claims on the updates it is still handling."""
    if update_ids:
        session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.update_id.in_(update_ids), InboxUpdate.holder == holder)
            .values(held_until=utcnow() + timedelta(seconds=lease_s))
        )


def claim_unhandled(session: Session, holder: str, lease_s: float) -> list[InboxUpdate]:
    """The stored updates nobody is handling (their holder crashed or let its claim run out),
    each taken over for `holder` by a conditional UPDATE: of two instances replaying at once,
    one gets each update."""
    now = utcnow()
    claimed = []
    for row in unprocessed_updates(session):
        if not is_free(row.holder, row.held_until, now):
            continue
        taken = session.execute(
            update(InboxUpdate)
            .where(
                InboxUpdate.update_id == row.update_id,
                InboxUpdate.status == "received",
                InboxUpdate.holder.is_(None) if row.holder is None else InboxUpdate.holder == row.holder,
            )
            .values(holder=holder, held_until=now + timedelta(seconds=lease_s))
            .returning(InboxUpdate.update_id)
            .execution_options(synchronize_session=False)
        ).first()
        if taken is not None:
            claimed.append(row)
    return claimed


def unprocessed_updates(session: Session) -> list[InboxUpdate]:
    return list(
        session.scalars(select(InboxUpdate).where(InboxUpdate.status == "received").order_by(InboxUpdate.update_id))
    )


# --- requests ------------------------------------------------------------------------------


def waiting_requests(session: Session, arxiv_id: str | None = None) -> list[ChatRequest]:
    query = select(ChatRequest).where(ChatRequest.status == "waiting")
    if arxiv_id is not None:
        query = query.where(ChatRequest.arxiv_id == arxiv_id)
    return list(session.scalars(query.order_by(ChatRequest.id)))


def steps_of_waiting(session: Session) -> dict[str, str]:
    """The step of the active job of each paper that has waiting requests."""
    waiting = select(ChatRequest.arxiv_id).where(ChatRequest.status == "waiting").distinct()
    query = select(Job.arxiv_id, Job.step).where(Job.status.in_(("pending", "running")), Job.arxiv_id.in_(waiting))
    return {arxiv_id: step for arxiv_id, step in session.execute(query)}


def take_waiting(session: Session, request_ids: list[int], status: str, **fields: object) -> set[int]:
    """Move these requests from waiting to `status` (with `fields`); returns the ids this
    transaction took. Conditional, so of two processes answering the same request at once
    (PostgreSQL, READ COMMITTED) only one gets it: the other's UPDATE finds it answered."""
    if not request_ids:
        return set()
    taken = session.execute(
        update(ChatRequest)
        .where(ChatRequest.id.in_(request_ids), ChatRequest.status == "waiting")
        .values(status=status, answered_at=utcnow(), **fields)
        .returning(ChatRequest.id)
        .execution_options(synchronize_session="fetch")
    ).scalars()
    return set(taken)


def lock_user(session: Session, user_id: int) -> None:
    """Serialise one user's requests across processes, so the daily quota is counted in turn:
    a transaction-scoped advisory lock on PostgreSQL; SQLite's writers are one at a time already."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": user_id})


def charged_today(session: Session, user_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(ChatRequest)
            .where(ChatRequest.user_id == user_id, ChatRequest.charged.is_(True), ChatRequest.created_at >= day_start())
        )
        or 0
    )


# --- outbox (the queue itself: paperdigest/outbox.py) ----------------------------------------


WAITING = ("pending", "sending", "in_flight")  # an outbox row not sent yet


def subscriber_stats(session: Session) -> dict[str, int]:
    """Readers with at least one rule (by mode), rules, and their messages: sent since midnight
    UTC (as tokens today), waiting in the outbox, and matches waiting for a daily digest."""
    readers = select(Subscriber.mode, func.count()).where(Subscriber.user_id.in_(select(SubscriptionRule.user_id)))
    modes = dict(session.execute(readers.group_by(Subscriber.mode)).all())
    theirs = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind.in_(fanout.SUBSCRIBER_KINDS))
    deliveries = select(func.count()).select_from(SubscriptionDelivery)
    return {
        "subscribers": sum(modes.values()),
        "instant": modes.get(INSTANT, 0),
        "daily": modes.get(DAILY, 0),
        "off": modes.get(OFF, 0),
        "rules": _count(session, select(func.count()).select_from(SubscriptionRule)),
        "sent_today": _count(
            session, theirs.where(OutboxMessage.status == "sent", OutboxMessage.sent_at >= day_start())
        ),
        "waiting": _count(session, theirs.where(OutboxMessage.status.in_(WAITING))),
        "in_digest": _count(session, deliveries.where(SubscriptionDelivery.status == fanout.PENDING)),
    }


def question_stats(session: Session) -> dict[str, int]:
    """/ask questions asked since midnight UTC, and how the answered ones were answered (a
    question's row is written before its answer: one without an answer message is still open)."""
    done = Question.answer_message_id.is_not(None).label("done")
    today = select(Question.answered_by, done, func.count()).where(Question.created_at >= day_start())
    counts = session.execute(today.group_by(Question.answered_by, done)).all()
    answered = {by: n for by, is_done, n in counts if is_done}
    return {"asked": sum(n for *_, n in counts), "llm": answered.get("llm", 0), "passages": answered.get("passages", 0)}


def _count(session: Session, query: Select[tuple[int]]) -> int:
    return session.scalar(query) or 0


def pending_overview(session: Session, limit: int = 20) -> tuple[list[Job], list[OutboxMessage]]:
    jobs = session.scalars(
        select(Job).where(Job.status.in_(("pending", "running", "failed"))).order_by(Job.updated_at.desc()).limit(limit)
    ).all()
    shown = ("pending", "unknown", "failed", HELD)
    posts = session.scalars(
        select(OutboxMessage).where(OutboxMessage.status.in_(shown)).order_by(OutboxMessage.id.desc()).limit(limit)
    ).all()
    return list(jobs), list(posts)


# --- moderation ----------------------------------------------------------------------------


def not_dropped():  # -> a SQL condition on Review
    return Review.moderation.is_(None) | (Review.moderation != DROPPED)


def current_review(session: Session, arxiv_id: str, version: int | None = None) -> Review | None:
    """The paper's newest review an admin did not drop: the one the bot gives out and the site
    shows (digest/load.py). None when there is none, or when every review of it was dropped."""
    query = select(Review).where(Review.arxiv_id == arxiv_id, not_dropped())
    if version is not None:
        query = query.where(Review.version == version)
    return session.scalar(query.order_by(Review.created_at.desc(), Review.id.desc()).limit(1))


def held_reviews(session: Session, limit: int = 20) -> list[Review]:
    """Failed reviews waiting for an admin's decision, newest first: each paper's current review
    (its newest not dropped, as the site shows it), so one that /regenerate replaced is gone.
    moderation NULL on a failed review is a review stored before moderation existed: it waits too."""
    latest = select(func.max(Review.id)).where(not_dropped()).group_by(Review.arxiv_id)
    query = (
        select(Review)
        .where(
            Review.id.in_(latest),
            Review.validation == "failed",
            Review.moderation.is_(None) | (Review.moderation == "waiting"),
        )
        .order_by(Review.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


# --- reading -------------------------------------------------------------------------------


def latest_titles(session: Session, limit: int = 10) -> list[tuple[str, str]]:
    """(title, arxiv id) of the most recently reviewed papers, newest first: columns only,
    since /latest is among the commonest commands and review rows carry whole texts."""
    newest = (
        select(Review.arxiv_id, func.max(Review.created_at).label("reviewed_at")).group_by(Review.arxiv_id).subquery()
    )
    query = (
        select(Paper.title, Paper.arxiv_id)
        .join(newest, Paper.arxiv_id == newest.c.arxiv_id)
        .order_by(newest.c.reviewed_at.desc())
        .limit(limit)
    )
    return [(title, arxiv_id) for title, arxiv_id in session.execute(query)]


def with_a_current_review(session: Session, arxiv_ids: list[str]) -> set[str]:
    """Those of these papers that have a review an admin did not drop (reads only their reviews)."""
    if not arxiv_ids:
        return set()
    return set(session.scalars(select(Review.arxiv_id).where(Review.arxiv_id.in_(arxiv_ids), not_dropped()).distinct()))


def newest_review_id(session: Session) -> int:
    return session.execute(select(func.coalesce(func.max(Review.id), 0))).scalar_one()


def stats(session: Session) -> dict[str, object]:
    jobs = dict(session.execute(select(Job.status, func.count()).group_by(Job.status)).all())
    usage_total = session.execute(
        select(
            func.coalesce(func.sum(Usage.prompt_tokens + Usage.completion_tokens), 0),
            func.coalesce(func.sum(Usage.cost_usd), 0.0),
        )
    ).one()
    usage_today = session.execute(
        select(
            func.coalesce(func.sum(Usage.prompt_tokens + Usage.completion_tokens), 0),
            func.coalesce(func.sum(Usage.cost_usd), 0.0),
        ).where(Usage.created_at >= day_start())
    ).one()
    return {
        "papers": session.scalar(select(func.count()).select_from(Paper)) or 0,
        "reviews": session.scalar(select(func.count()).select_from(Review)) or 0,
        "jobs": jobs,
        "tokens_today": int(usage_today[0]),
        "cost_today": float(usage_today[1]),
        "tokens_total": int(usage_total[0]),
        "cost_total": float(usage_total[1]),
        "failed_jobs": jobs.get("failed", 0),
        "failed_posts": session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status.in_(("failed", "unknown")))
        )
        or 0,
    }
