"""Reviews for Telegram users: run the pipeline in the background and deliver each answer once.

A request is a row (`chat_requests`) until its requester has the answer. When the pipeline
stores a review, `_on_stored` — inside the same transaction — writes an outbox reply for
every waiting requester and, when the review is to be published, the channel post; the
relay then sends them. A review that failed the check is never posted by itself
(`may_post_automatically`): its requesters get it with a warning, and it waits in /pending
for an admin's /approve. A review that was already stored is delivered the same way by
`_deliver`. After a crash, `recover()` resubmits every waiting request: finished jobs
deliver at once, unfinished ones resume from their step. The database side of delivery is
bot/answers.py, which `paperdigest worker` shares: with REVIEWS_IN_BOT=false this service only
opens job rows, a worker runs them and answers, and `keep_sweeping` picks up what falls
between processes.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from sqlalchemy.orm import Session

from bot import answers, store, texts
from bot.relay import OutboxRelay
from paperdigest import leases, outbox, repo
from paperdigest.db import Database
from paperdigest.errors import PaperdigestError
from paperdigest.models import ChatRequest, Review
from paperdigest.pacing import wait_or_stop
from paperdigest.settings import Settings
from summarizer.ids import ArxivId
from summarizer.pipeline import Pipeline

log = logging.getLogger(__name__)
STEPS = (("metadata", "метаданные"), ("pdf", "PDF"), ("text", "текст"), ("review", "рецензия"), ("stored", "готово"))
RETRY_TRANSIENT_S = 120.0  # a paper whose arXiv/LLM call failed transiently is tried again after this
STATUS_EDIT_INTERVAL_S = 1.0
STEP_POLL_S = 1.5  # how often, with reviews in workers, the status lines look at the jobs' steps
SWEEP_S = 10.0  # how often waiting requests are checked for a review stored elsewhere or a missing job
NO_WORKER_GRACE_S = 40.0  # with no worker heartbeat this long (its TTL and more), requesters are told
NO_WORKER = "no worker"  # the "step" shown while no worker is alive


def status_text(arxiv_id: str, step: str) -> str:
    if step == NO_WORKER:
        return texts.no_worker(html.escape(arxiv_id))
    names = []
    for key, name in STEPS:
        names.append(f"<b>{name}</b>" if key == step else name)
    return f"⏳ Готовлю рецензию на {html.escape(arxiv_id)}: " + " → ".join(names)


class WorkerWatch:
    """Whether the `paperdigest worker` processes are gone: no heartbeat for NO_WORKER_GRACE_S
    (from the bot's start, so a worker starting beside it is not reported). Logged once per outage."""

    def __init__(self, now: float) -> None:
        self.seen_at = now
        self.reported = False

    def gone(self, alive: bool, now: float, *, waiting: int) -> bool:
        if alive:
            if self.reported:
                log.info("a review worker is alive again")
            self.seen_at, self.reported = now, False
            return False
        if now - self.seen_at < NO_WORKER_GRACE_S:
            return False
        if waiting and not self.reported:
            log.warning(
                "no `paperdigest worker` has a live heartbeat (REVIEWS_IN_BOT=false): %d paper(s) wait; "
                "start one beside the bot, or set REVIEWS_IN_BOT=true",
                waiting,
            )
            self.reported = True
        return True


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
        """Make sure the paper is being reviewed; requests for it wait in the database. With
        REVIEWS_IN_BOT=false only its job row is opened: a worker process runs it."""
        if not self.settings.REVIEWS_IN_BOT:
            with self.db.session() as session, session.begin():
                repo.open_job(session, arxiv_id.base, arxiv_id.version, force=force, requested_by="telegram")
            return
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
        if not self.settings.REVIEWS_IN_BOT:  # the workers resume the jobs; the sweep opens missing ones
            self.sweep()
            return len(waiting)
        for request in waiting:
            self.submit(ArxivId(request.arxiv_id, request.version), force=request.force)
        return len(waiting)

    def sweep(self) -> int:
        """Answer the waiting requests another process stored a review for, and (re)submit those
        that have neither a review nor a job (answers.sweep); returns how many were submitted."""
        with self.db.session() as session, session.begin():
            orphans = [(ArxivId(r.arxiv_id, r.version), r.force) for r in answers.sweep(session, self.settings)]
        self.relay.wake()
        for arxiv_id, force in orphans:
            log.info("request for %s had no job: submitted again", arxiv_id)
            self.submit(arxiv_id, force=force)
        return len(orphans)

    async def keep_sweeping(self, stop: asyncio.Event) -> None:
        while not await wait_or_stop(stop, SWEEP_S):
            try:
                self.sweep()
            except Exception as err:  # noqa: BLE001 - the next sweep tries again
                log.warning("sweeping waiting requests failed (retrying): %r", err)

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
        if answers.answer_waiting(session, review, self.settings):
            self.relay.wake()

    def publish(self, session: Session, review: Review) -> str:
        """answers.publish, and the relay woken for what it queued."""
        outcome = answers.publish(session, review, self.settings)
        if outcome in (answers.QUEUED, answers.NO_CHANNEL):  # no channel: subscribers' messages may be queued
            self.relay.wake()
        return outcome

    async def _failed(self, arxiv_id: ArxivId, err: PaperdigestError) -> None:
        if err.retryable:
            log.warning("review of %s failed for now (%s); retrying in %.0f s", arxiv_id, err, RETRY_TRANSIENT_S)
            await self._edit_waiting(arxiv_id.base, f"⏳ {html.escape(err.user_message)}")
            asyncio.get_running_loop().call_later(RETRY_TRANSIENT_S, self.submit, arxiv_id)
            return
        with self.db.session() as session, session.begin():
            answers.fail_waiting(session, arxiv_id.base, err)
        self.relay.wake()

    # --- status messages ------------------------------------------------------------------

    def _on_step(self, arxiv_id: ArxivId, step: str) -> None:
        final = step == "stored"  # the last edit always goes out, however soon after the previous one
        asyncio.get_running_loop().create_task(
            self._edit_waiting(arxiv_id.base, status_text(arxiv_id.base, step), throttle=not final)
        )

    async def keep_showing_steps(self, stop: asyncio.Event) -> None:
        """REVIEWS_IN_BOT=false: the steps happen in a worker; the status lines follow the job rows."""
        shown: dict[str, str] = {}  # paper -> the step its status lines show
        workers = WorkerWatch(time.monotonic())
        while not await wait_or_stop(stop, STEP_POLL_S):
            try:
                with self.db.read() as session:
                    steps = store.steps_of_waiting(session)
                    alive = bool(leases.live_workers(session))
                told = workers.reported
                if workers.gone(alive, time.monotonic(), waiting=len(steps)):
                    steps = dict.fromkeys(steps, NO_WORKER)
                    if workers.reported and not told:
                        self._alert_no_worker(len(steps))
                for arxiv_id, step in steps.items():
                    if shown.get(arxiv_id, "metadata") != step:  # the status line starts at metadata
                        shown[arxiv_id] = step
                        await self._edit_waiting(arxiv_id, status_text(arxiv_id, step), throttle=False)
                shown = {k: v for k, v in shown.items() if k in steps}
            except Exception as err:  # noqa: BLE001 - a status line is a courtesy
                log.info("status lines not updated this time: %r", err)

    def _alert_no_worker(self, waiting: int) -> None:
        """Tell the admins, once per outage and from the one instance holding the relay lease."""
        if not self.relay.holding:
            return
        with self.db.session() as session, session.begin():
            for admin_id in self.settings.ADMIN_IDS:
                outbox.enqueue(session, kind="notice", chat_id=str(admin_id), text=texts.no_worker_alarm(waiting))
        self.relay.wake()

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
