"""Answering requesters and queuing channel posts: the database side of delivery, with no
Telegram connection, so the bot and `paperdigest worker` share it. A review that is published
also goes to the readers whose subscriptions it matches (paperdigest/fanout.py), and so does one
that would be published on a bot with no channel.

Every function runs in the caller's transaction: the outbox rows it writes are committed
with the review (or the failure) that caused them, or not at all. Each waiting request is
taken with a conditional UPDATE (`store.take_waiting`), so two processes answering the same
paper at once answer each requester once.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from bot import store, texts
from paperdigest import fanout, outbox, repo
from paperdigest.errors import PaperdigestError
from paperdigest.leases import aware
from paperdigest.models import ChatRequest, Review
from paperdigest.settings import Settings
from summarizer.grounding import may_post_automatically
from summarizer.ids import ArxivId

log = logging.getLogger(__name__)
QUEUED, POSTED, HELD, NO_CHANNEL = "queued", "posted", "held", "no channel"  # what publish() did


def answers_request(request: ChatRequest, review: Review) -> bool:
    """This review is the answer to this request: the version asked for, and for /regenerate
    (force) one written after the request, not the old review it asked to replace."""
    if request.version not in (None, review.version):
        return False
    return not request.force or aware(review.created_at) >= aware(request.created_at)


def answer_waiting(session: Session, review: Review, settings: Settings) -> int:
    """Queue this review for every request it answers; returns how many were answered."""
    answerable = [r for r in store.waiting_requests(session, review.arxiv_id) if answers_request(r, review)]
    taken = {r.id for r in answerable} & store.take_waiting(session, [r.id for r in answerable], "answered")
    answered = [r for r in answerable if r.id in taken]  # the others another process answered meanwhile
    for request in answered:
        outbox.enqueue(
            session,
            kind="reply",
            chat_id=str(request.chat_id),
            arxiv_id=review.arxiv_id,
            version=review.version,
            review_id=review.id,
            request_id=request.id,
        )
    # only a user's request publishes here; the watcher queues its own posts
    if any(r.publish for r in answered) or (answered and settings.PUBLISH_USER_REVIEWS):
        if publish(session, review, settings) == HELD:
            log.info("review %d of %s failed the check: not posted, waiting for an admin", review.id, review.arxiv_id)
            for request in (r for r in answered if r.publish):  # an admin's /post of a paper not reviewed yet
                outbox.enqueue(
                    session,
                    kind="notice",
                    chat_id=str(request.chat_id),
                    arxiv_id=review.arxiv_id,
                    request_id=request.id,
                    text=texts.held(review.id, review.arxiv_id),
                )
    return len(answered)


def publish(session: Session, review: Review, settings: Settings) -> str:
    """Queue the channel post of this review's paper version: QUEUED, or why not (POSTED: it has
    one already; HELD: the review failed the check and no admin approved it; NO_CHANNEL).

    A post of this version that the relay held back (its review failed the gate at send time)
    is queued again with this review, not doubled: one post per paper version. With no channel
    nothing is posted, but a review that would be still reaches the subscribers."""
    channel = settings.CHANNEL_ID
    if not channel:
        # a reader-facing bot with personal subscriptions only: the same gate as a post
        if may_post_automatically(review.validation, review.moderation):
            fanout.queue_for_subscribers(session, review)
        return NO_CHANNEL
    post = outbox.channel_post(session, channel, review.arxiv_id, review.version)
    if post is not None and post.status != outbox.HELD:
        return POSTED
    if not may_post_automatically(review.validation, review.moderation):
        return HELD
    if post is not None:
        log.info("outbox %d (channel, %s): held post queued again with review %d", post.id, review.arxiv_id, review.id)
        post.status, post.review_id, post.error, post.not_before = "pending", review.id, None, None
    else:
        outbox.enqueue(
            session,
            kind="channel",
            chat_id=channel,
            arxiv_id=review.arxiv_id,
            version=review.version,
            review_id=review.id,
        )
    fanout.queue_for_subscribers(session, review)  # readers whose subscriptions it matches, once each
    return QUEUED


def fail_waiting(session: Session, arxiv_id: str, err: PaperdigestError) -> int:
    """Tell every requester of this paper that it cannot be reviewed (a final failure)."""
    waiting = store.waiting_requests(session, arxiv_id)
    taken = store.take_waiting(session, [r.id for r in waiting], "failed", error=str(err))
    for request in (r for r in waiting if r.id in taken):
        outbox.enqueue(
            session,
            kind="notice",
            chat_id=str(request.chat_id),
            arxiv_id=arxiv_id,
            request_id=request.id,
            text=f"❌ {ArxivId(request.arxiv_id, request.version)}: {err.user_message}",
        )
    return len(taken)


def sweep(session: Session, settings: Settings) -> list[ChatRequest]:
    """Answer the waiting requests whose review is stored (another process stored it, or it was
    stored while the request's transaction was still open), and return those left with neither
    a review nor an active job: someone has to open a job for them."""
    orphans = []
    for request in store.waiting_requests(session):
        review = store.current_review(session, request.arxiv_id, request.version)
        if review is not None and answers_request(request, review):
            answer_waiting(session, review, settings)
        elif repo.active_job(session, request.arxiv_id) is None:
            orphans.append(request)
    return [r for r in orphans if r.status == "waiting"]
