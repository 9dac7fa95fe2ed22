"""Reviews for Telegram users: run the pipeline in the background and deliver each answer once.

A request is a row (`chat_requests`) until its requester has the answer. When the pipeline
stores a review, `_on_stored` — inside the same transaction — writes an outbox reply for
every waiting requester and, when the review is to be published, the channel post; the
relay then sends them. A review that failed the check is never posted by itself
(`may_post_automatically`): its requesters get it with a warning, and it waits in /pending
for an admin's /approve. A review that was already stored is delivered the same way by
`_deliver`. After a crash, `recover()` resubmits every waiting request: finished jobs
deliver at once, unfinished ones resume from their step.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from sqlalchemy.orm import Session

from bot import store, texts
from bot.relay import OutboxRelay
from paperdigest import fanout, outbox
from paperdigest.db import Database
from paperdigest.errors import PaperdigestError
from paperdigest.models import ChatRequest, Review, utcnow
from paperdigest.settings import Settings
from summarizer.grounding import may_post_automatically
from summarizer.ids import ArxivId
from summarizer.pipeline import Pipeline

log = logging.getLogger(__name__)
STEPS = (("metadata", "метаданные"), ("pdf", "PDF"), ("text", "текст"), ("review", "рецензия"), ("stored", "готово"))
RETRY_TRANSIENT_S = 120.0  # a paper whose arXiv/LLM call failed transiently is tried again after this
STATUS_EDIT_INTERVAL_S = 1.0
QUEUED, POSTED, HELD, NO_CHANNEL = "queued", "posted", "held", "no channel"  # what publish() did


def status_text(arxiv_id: str, step: str) -> str:
    names = []
    for key, name in STEPS:
        names.append(f"<b>{name}</b>" if key == step else name)
    return f"⏳ Готовлю рецензию на {html.escape(arxiv_id)}: " + " → ".join(names)


class ReviewService:
    def __init__(self, pipeline: Pipeline, db: Database, settings: Settings, bot: Bot, relay: OutboxRelay) -> None:
        self.pipeline = pipeline
        self.db = db
        self.settings = settings
        self.bot = bot
        self.relay = relay
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._last_edit: dict[int, float] = {}
        pipeline.on_stored.append(self._on_stored)

    # --- submitting -----------------------------------------------------------------------

    def submit(self, arxiv_id: ArxivId, *, force: bool = False) -> None:
        """Make sure the paper is being reviewed; requests for it wait in the database."""
        running = self._tasks.get(arxiv_id.base)
        if running is not None and not running.done():
            return
        task = asyncio.create_task(self._run(arxiv_id, force), name=f"review {arxiv_id}")
        self._tasks[arxiv_id.base] = task

    async def recover(self) -> int:
        """After a restart: resubmit every waiting request's paper (finished ones deliver at once).
        The outbox's own recovery (`OutboxRelay.recover`) runs before the relay starts (bot/app.py)."""
        with self.db.read() as session:
            waiting = store.waiting_requests(session)
        for request in waiting:
            self.submit(ArxivId(request.arxiv_id, request.version), force=request.force)
        return len(waiting)

    async def _run(self, arxiv_id: ArxivId, force: bool) -> None:
        # No limit here: LLM_CONCURRENCY is enforced by the LLM client for every caller.
        try:
            review = await self.pipeline.review(arxiv_id, force=force, requested_by="telegram", on_step=self._on_step)
        except PaperdigestError as err:
            await self._failed(arxiv_id, err)
            return
        except Exception as err:  # a bug must not leave requesters waiting forever
            log.exception("review of %s crashed", arxiv_id)
            await self._failed(arxiv_id, PaperdigestError(f"internal error: {type(err).__name__}"))
            return
        self._deliver(review)

    # --- delivering -----------------------------------------------------------------------

    def _on_stored(self, session: Session, review: Review) -> None:
        self.answer_waiting(session, review)

    def _deliver(self, review: Review) -> None:
        with self.db.session() as session, session.begin():
            self.answer_waiting(session, review)

    def answer_waiting(self, session: Session, review: Review) -> None:
        publish = False  # only a user's request publishes here; the watcher queues its own posts
        asked_to_post: list[ChatRequest] = []  # an admin's /post of a paper not reviewed yet
        for request in store.waiting_requests(session, review.arxiv_id):
            if request.version not in (None, review.version):
                continue
            outbox.enqueue(
                session,
                kind="reply",
                chat_id=str(request.chat_id),
                arxiv_id=review.arxiv_id,
                version=review.version,
                review_id=review.id,
                request_id=request.id,
            )
            request.status, request.answered_at = "answered", utcnow()
            publish = publish or request.publish or self.settings.PUBLISH_USER_REVIEWS
            asked_to_post += [request] if request.publish else []
        if publish and self.publish(session, review) == HELD:
            log.info("review %d of %s failed the check: not posted, waiting for an admin", review.id, review.arxiv_id)
            for request in asked_to_post:
                outbox.enqueue(
                    session,
                    kind="notice",
                    chat_id=str(request.chat_id),
                    arxiv_id=review.arxiv_id,
                    request_id=request.id,
                    text=texts.held(review.id, review.arxiv_id),
                )
        self.relay.wake()

    def publish(self, session: Session, review: Review) -> str:
        """Queue the channel post of this review's paper version: QUEUED, or why not (POSTED: it has
        one already; HELD: the review failed the check and no admin approved it; NO_CHANNEL).

        A post of this version that the relay held back (its review failed the gate at send time)
        is queued again with this review, not doubled: one post per paper version."""
        channel = self.settings.CHANNEL_ID
        if not channel:
            return NO_CHANNEL
        post = outbox.channel_post(session, channel, review.arxiv_id, review.version)
        if post is not None and post.status != outbox.HELD:
            return POSTED
        if not may_post_automatically(review.validation, review.moderation):
            return HELD
        if post is not None:
            log.info(
                "outbox %d (channel, %s): held post queued again with review %d", post.id, review.arxiv_id, review.id
            )
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
        self.relay.wake()
        return QUEUED

    async def _failed(self, arxiv_id: ArxivId, err: PaperdigestError) -> None:
        if err.retryable:
            log.warning("review of %s failed for now (%s); retrying in %.0f s", arxiv_id, err, RETRY_TRANSIENT_S)
            await self._edit_waiting(arxiv_id.base, f"⏳ {html.escape(err.user_message)}")
            asyncio.get_running_loop().call_later(RETRY_TRANSIENT_S, self.submit, arxiv_id)
            return
        with self.db.session() as session, session.begin():
            for request in store.waiting_requests(session, arxiv_id.base):
                request.status, request.error, request.answered_at = "failed", str(err), utcnow()
                outbox.enqueue(
                    session,
                    kind="notice",
                    chat_id=str(request.chat_id),
                    arxiv_id=arxiv_id.base,
                    request_id=request.id,
                    text=f"❌ {arxiv_id}: {err.user_message}",
                )
        self.relay.wake()

    # --- status messages ------------------------------------------------------------------

    def _on_step(self, arxiv_id: ArxivId, step: str) -> None:
        final = step == "stored"  # the last edit always goes out, however soon after the previous one
        asyncio.get_running_loop().create_task(
            self._edit_waiting(arxiv_id.base, status_text(arxiv_id.base, step), throttle=not final)
        )

    async def _edit_waiting(self, arxiv_id: str, text: str, *, throttle: bool = True) -> None:
        with self.db.read() as session:
            requests = [(r.chat_id, r.status_message_id) for r in store.waiting_requests(session, arxiv_id)]
        for chat_id, message_id in requests:
            recent = time.monotonic() - self._last_edit.get(chat_id, 0.0) < STATUS_EDIT_INTERVAL_S
            if message_id is None or (throttle and recent):
                continue  # private chats: about one message per second
            self._last_edit[chat_id] = time.monotonic()
            try:
                await self.bot.edit_message_text(text=text, chat_id=chat_id, message_id=message_id, parse_mode="HTML")
            except TelegramAPIError as err:  # a status line is a courtesy: never fail the review for it
                log.info("status edit in chat %s skipped: %s", chat_id, err)

    # --- for handlers ---------------------------------------------------------------------

    def register_request(self, request: ChatRequest) -> None:
        self.submit(ArxivId(request.arxiv_id, request.version), force=request.force)

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
