"""`paperdigest worker` beside a bot with REVIEWS_IN_BOT=false, on each backend: the bot only
stores the request and opens its job; the worker reviews it and queues the answer, which the
bot's relay sends; a final failure reaches the requester from the worker; two workers never
run the same job; a request whose job went missing is picked up by the sweep."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import service
from paperdigest import leases, repo
from paperdigest.commands.worker import work
from paperdigest.db import Database
from paperdigest.leases import aware
from paperdigest.models import ChatRequest, Job, Review, utcnow
from paperdigest.settings import Settings
from summarizer.pipeline import RETRY_AFTER_S
from tests.fakes.llm import FakeLLM
from tests.fakes.telegram import FakeTelegram
from tests.support.bot import ADMIN, ALICE, BOB, eventually, review_messages, running, texts_in
from tests.support.papers import PAPER_ID, add_paper


def rows(settings: Settings, model: type) -> list:
    db = Database(settings.DATABASE_URL)
    with db.read() as session:
        found = list(session.scalars(select(model).order_by(model.id)))
    db.close()
    return found


class Workers:
    """Worker loops in this event loop (each a `work()` as the command runs it)."""

    def __init__(self, settings: Settings, count: int = 1) -> None:
        self.settings, self.count, self.stop, self.tasks = settings, count, asyncio.Event(), []

    async def __aenter__(self) -> Workers:
        for _ in range(self.count):
            ready = asyncio.Event()
            self.tasks.append(asyncio.create_task(work(self.settings, self.stop, ready=ready.set)))
            await asyncio.wait_for(ready.wait(), 30)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.stop.set()
        await asyncio.wait_for(asyncio.gather(*self.tasks), 30)


async def test_the_bot_leaves_reviews_to_the_worker(
    bot_settings: Settings, database_url: str, fake_telegram: FakeTelegram, fake_llm: FakeLLM
) -> None:
    settings = bot_settings.replace(DATABASE_URL=database_url, REVIEWS_IN_BOT=False)
    async with running(settings):
        fake_telegram.push_message(ALICE, ALICE, f"/review {PAPER_ID}")
        await eventually(lambda: rows(settings, Job))
        await asyncio.sleep(1.0)  # a bot that reviewed by itself would have called the LLM by now
        assert fake_llm.requests == [] and review_messages(fake_telegram, ALICE) == []
        assert [(j.arxiv_id, j.status) for j in rows(settings, Job)] == [(PAPER_ID, "pending")]
        fake_llm.latency_s = 3.0  # the job stays at its review step past a few of the bot's looks
        async with Workers(settings):
            await eventually(lambda: review_messages(fake_telegram, ALICE), timeout=30)
            # the status line followed the worker's steps, read from the job row
            edits = [c.params.get("text", "") for c in fake_telegram.calls("editMessageText")]
            assert any("<b>рецензия</b>" in text for text in edits), edits
            fake_llm.latency_s = 0.0
            fake_telegram.push_message(BOB, BOB, "/review 2412.99999")  # arXiv has no such paper
            await eventually(lambda: any(t.startswith("❌ 2412.99999") for t in texts_in(fake_telegram, BOB)), 30)
        await asyncio.sleep(0.5)
    assert len(review_messages(fake_telegram, ALICE)) == 1
    assert [(j.arxiv_id, j.status, j.worker) for j in rows(settings, Job)] == [
        (PAPER_ID, "done", None),
        ("2412.99999", "failed", None),
    ]
    assert [r.status for r in rows(settings, ChatRequest)] == ["answered", "failed"]


async def test_two_workers_share_the_jobs_and_run_each_once(
    llm_settings: Settings, database_url: str, fake_arxiv, fake_llm: FakeLLM
) -> None:
    settings = llm_settings.replace(DATABASE_URL=database_url, WORKER_JOBS=2)
    papers = [f"2501.{n:05d}" for n in range(1, 7)]
    for arxiv_id in papers:
        add_paper(fake_arxiv, arxiv_id)
    db = Database(database_url)
    with db.session() as session, session.begin():
        for arxiv_id in papers:
            repo.open_job(session, arxiv_id, None, force=False, requested_by="telegram")
    async with Workers(settings, count=2):
        await eventually(lambda: all(j.status == "done" for j in rows(settings, Job)), timeout=60)
    db.close()
    assert sorted(r.arxiv_id for r in rows(settings, Review)) == papers  # one review each: no job ran twice
    assert len(fake_llm.requests) == len(papers)


async def test_a_request_with_no_job_is_swept_up_by_a_worker(
    llm_settings: Settings, database_url: str, fake_arxiv
) -> None:
    """A bot that died between storing a request and opening its job: the worker's sweep opens it."""
    settings = llm_settings.replace(DATABASE_URL=database_url)
    add_paper(fake_arxiv)
    db = Database(database_url)
    with db.session() as session, session.begin():
        session.add(ChatRequest(chat_id=ALICE, user_id=ALICE, arxiv_id=PAPER_ID))
    async with Workers(settings):
        await eventually(lambda: [r.status for r in rows(settings, ChatRequest)] == ["answered"], timeout=30)
    db.close()
    [job] = rows(settings, Job)
    assert (job.status, job.requested_by) == ("done", "telegram")


async def test_a_transient_failure_waits_before_any_worker_retries(
    llm_settings: Settings, database_url: str, fake_arxiv, fake_llm: FakeLLM
) -> None:
    """The LLM down past its retries: the job goes back to pending with not_before set, so the
    worker does not spin on it (each try would be another paid call), and the requester waits."""
    settings = llm_settings.replace(DATABASE_URL=database_url, LLM_RETRIES=2)
    add_paper(fake_arxiv)
    fake_llm.fail_next("server", times=10)
    db = Database(database_url)
    with db.session() as session, session.begin():
        session.add(ChatRequest(chat_id=ALICE, user_id=ALICE, arxiv_id=PAPER_ID))
        repo.open_job(session, PAPER_ID, None, force=False, requested_by="telegram")
    async with Workers(settings):
        await eventually(lambda: rows(settings, Job)[0].not_before is not None, timeout=30)
        tries = len(fake_llm.requests)
        await asyncio.sleep(1.5)  # several of the worker's polls
        assert len(fake_llm.requests) == tries == 2
    db.close()
    [job] = rows(settings, Job)
    assert (job.status, job.worker) == ("pending", None) and job.error
    assert aware(job.not_before) > utcnow() + timedelta(seconds=RETRY_AFTER_S - 30)
    assert [r.status for r in rows(settings, ChatRequest)] == ["waiting"]


async def test_a_worker_that_stops_mid_job_hands_it_back_and_the_next_one_finishes_it(
    llm_settings: Settings, database_url: str, fake_arxiv, fake_llm: FakeLLM
) -> None:
    """Stopped (SIGTERM, a deploy) while the LLM writes: the job is pending again at once, not
    held until its lease runs out, so another worker — on any host — goes on with it."""
    settings = llm_settings.replace(DATABASE_URL=database_url)
    add_paper(fake_arxiv)
    db = Database(database_url)
    with db.session() as session, session.begin():
        session.add(ChatRequest(chat_id=ALICE, user_id=ALICE, arxiv_id=PAPER_ID))
        repo.open_job(session, PAPER_ID, None, force=False, requested_by="telegram")
    db.close()
    fake_llm.latency_s = 30.0
    async with Workers(settings):
        await eventually(lambda: rows(settings, Job)[0].step == "review" and fake_llm.requests, timeout=30)
    [job] = rows(settings, Job)
    assert (job.status, job.worker, job.step) == ("pending", None, "review")
    fake_llm.latency_s = 0.0
    async with Workers(settings):
        await eventually(lambda: [r.status for r in rows(settings, ChatRequest)] == ["answered"], timeout=30)
    [job] = rows(settings, Job)
    assert (job.status, job.attempts) == ("done", 2)


def live_workers(settings: Settings) -> list[str]:
    db = Database(settings.DATABASE_URL)
    with db.read() as session:
        holders = leases.live_workers(session)
    db.close()
    return holders


async def test_with_no_live_worker_requesters_and_admins_are_told_and_the_review_comes_once_one_starts(
    bot_settings: Settings, database_url: str, fake_telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "NO_WORKER_GRACE_S", 1.0)
    settings = bot_settings.replace(DATABASE_URL=database_url, REVIEWS_IN_BOT=False)
    fake_telegram.add_chat(ADMIN, type="private")

    def status_edits() -> list[str]:
        return [c.params.get("text", "") for c in fake_telegram.calls("editMessageText")]

    async with running(settings):
        fake_telegram.push_message(ALICE, ALICE, f"/review {PAPER_ID}")
        await eventually(lambda: any("обработчик рецензий сейчас не запущен" in t for t in status_edits()))
        await eventually(lambda: texts_in(fake_telegram, ADMIN))
        async with Workers(settings):
            assert len(live_workers(settings)) == 1
            await eventually(lambda: review_messages(fake_telegram, ALICE), timeout=30)
        assert live_workers(settings) == []  # a worker that stops says so at once
    [alarm] = texts_in(fake_telegram, ADMIN)  # once per outage, not once per look
    assert "paperdigest worker" in alarm and "REVIEWS_IN_BOT=true" in alarm
    assert len(review_messages(fake_telegram, ALICE)) == 1


def test_the_worker_outage_is_reported_after_the_grace_and_again_only_after_a_recovery() -> None:
    watch = service.WorkerWatch(now=0.0)
    assert not watch.gone(False, 1.0, waiting=1)  # the bot just started: a worker may be starting beside it
    assert watch.gone(False, service.NO_WORKER_GRACE_S + 1, waiting=1) and watch.reported
    assert not watch.gone(True, service.NO_WORKER_GRACE_S + 2, waiting=1) and not watch.reported
    assert not watch.gone(False, service.NO_WORKER_GRACE_S + 3, waiting=1)  # its heartbeat just stopped
