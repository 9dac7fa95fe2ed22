"""`paperdigest worker`: review jobs with no Telegram connection, beside the bot.

Run with `REVIEWS_IN_BOT=false` for the bot (or bots) on the same database: the bot stores
each request and opens its job; any worker claims the job (`Pipeline.take_next`, a row claim
that two workers never win both), runs it under a renewed lease and, in the transaction that
stores the review, queues the requesters' replies and the channel post
(`bot/answers.py`); the bot's relay sends them. A worker also rebuilds the site after each
review and, with WATCH_CATEGORIES set, runs the watcher's rounds (one process at a time holds
a round, by its lease). A worker that dies leaves its jobs to whoever takes their expired
leases — on the same host at once, since its PID is gone.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable

from sqlalchemy.orm import Session

from bot import answers
from digest.rebuild import SiteRebuilder
from paperdigest import leases, repo
from paperdigest.errors import PaperdigestError
from paperdigest.models import Job, Review
from paperdigest.pacing import wait_or_stop
from paperdigest.settings import Settings
from summarizer.pipeline import Pipeline

log = logging.getLogger(__name__)
POLL_S = 0.5  # how often an idle worker looks for a job
SWEEP_S = 5.0  # how often it looks for requests nobody opened a job for
HEARTBEAT_S = 10.0  # how often it tells the bots it is alive (leases.WORKER)
HEARTBEAT_TTL_S = 30.0  # a worker silent this long counts as gone


class Worker:
    def __init__(self, pipeline: Pipeline, settings: Settings) -> None:
        self.pipeline = pipeline
        self.settings = settings
        self.slots = asyncio.Semaphore(settings.WORKER_JOBS)
        self.finished = 0
        self.holder = leases.this_holder()
        pipeline.on_stored.append(self._answer)
        pipeline.on_failed.append(self._fail)

    def _answer(self, session: Session, review: Review) -> None:
        answers.answer_waiting(session, review, self.settings)

    def _fail(self, session: Session, job: Job, err: PaperdigestError) -> None:
        answers.fail_waiting(session, job.arxiv_id, err)

    async def run(self, stop: asyncio.Event) -> None:
        """Take jobs while a slot is free, until `stop`; the pipeline's closing ends those running."""
        beating = asyncio.create_task(self._keep_beating(stop))  # apart: all slots busy must not silence it
        next_sweep = 0.0
        try:
            while not stop.is_set():
                if time.monotonic() >= next_sweep:
                    self._sweep()
                    next_sweep = time.monotonic() + SWEEP_S
                await self._take_when_free(stop)
        finally:
            beating.cancel()
            self._beat(stopping=True)

    async def _take_when_free(self, stop: asyncio.Event) -> None:
        await self.slots.acquire()
        if not await self._take_one():
            self.slots.release()
            await wait_or_stop(stop, POLL_S)

    async def _keep_beating(self, stop: asyncio.Event) -> None:
        self._beat()
        while not await wait_or_stop(stop, HEARTBEAT_S):
            self._beat()

    def _beat(self, *, stopping: bool = False) -> None:
        """The heartbeat the bots read (leases.live_workers): a bot with REVIEWS_IN_BOT=false
        tells its requesters when no worker is alive instead of letting them wait in silence."""
        name = leases.WORKER + self.holder
        try:
            with self.pipeline.db.session() as session, session.begin():
                if stopping:
                    leases.release(session, name, self.holder)
                else:
                    leases.take(session, name, self.holder, HEARTBEAT_TTL_S)
        except Exception as err:  # noqa: BLE001 - the database may be restarting: the next beat tries again
            log.warning("worker heartbeat not written: %r", err)

    async def _take_one(self) -> bool:
        try:
            task = await self.pipeline.take_next()
        except Exception as err:  # noqa: BLE001 - the database may be restarting: try again soon
            log.warning("taking a job failed (retrying): %r", err)
            return False
        if task is None:
            return False
        task.add_done_callback(self._done)
        return True

    def _done(self, task: asyncio.Task[Review]) -> None:
        self.slots.release()
        self.finished += 1
        if not task.cancelled() and (err := task.exception()) is not None:
            log.info("%s ended: %s", task.get_name(), err)  # the job row and the requesters have it

    def _sweep(self) -> None:
        """Open a job for every waiting request that has none (its bot died before opening it)."""
        try:
            with self.pipeline.db.session() as session, session.begin():
                for request in answers.sweep(session, self.settings):
                    repo.open_job(
                        session, request.arxiv_id, request.version, force=request.force, requested_by="telegram"
                    )
        except Exception as err:  # noqa: BLE001 - the next sweep tries again
            log.warning("sweeping waiting requests failed (retrying): %r", err)


async def work(settings: Settings, stop: asyncio.Event, *, ready: Callable[[], None] | None = None) -> None:
    from paperdigest.wiring import open_pipeline  # the app layer: builds every client
    from watcher.run import run_watcher

    async with open_pipeline(settings) as pipeline:
        await asyncio.to_thread(pipeline.warm_up)
        rebuilder = SiteRebuilder(settings)
        pipeline.on_stored.append(rebuilder.schedule)
        worker = Worker(pipeline, settings)
        watching = None
        if settings.WATCH_CATEGORIES:
            watching = asyncio.create_task(run_watcher(settings, pipeline, stop), name="watcher")
        log.info("worker %s started: %d job(s) at once", pipeline.worker, settings.WORKER_JOBS)
        if ready is not None:
            ready()
        try:
            await worker.run(stop)
        finally:
            if watching is not None:
                await watching
            await rebuilder.close()
        log.info("worker %s stopped after %d job(s)", pipeline.worker, worker.finished)


def run_worker(settings: Settings) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await work(settings, stop)

    asyncio.run(main())
