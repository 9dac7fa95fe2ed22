"""The whole pipeline over HTTP against the local fakes: what users and operators would notice."""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from paperdigest import repo
from paperdigest.db import Database
from paperdigest.errors import LlmQuotaExceeded, PaperNotFound, PaperWithdrawn, PdfDownloadError
from paperdigest.models import Job, Paper, Review, Usage, utcnow
from paperdigest.settings import Settings
from paperdigest.wiring import open_pipeline
from summarizer.grounding import Grounding
from summarizer.ids import ArxivId
from tests.fakes.llm import FakeLLM, FakeReply, russian_review
from tests.fakes.plugin import FAKE_LLM_KEY
from tests.support.papers import BODY_MARKER, PAPER_ID, REF_MARKER, add_paper, llm_user_prompts, make_pdf, rows, run


def test_llm_review_end_to_end(llm_settings: Settings, fake_arxiv, fake_llm: FakeLLM) -> None:
    add_paper(fake_arxiv)
    [review] = run(llm_settings, PAPER_ID)
    assert review.validation == "passed", review.problems
    assert review.reviewer == "llm" and review.version == 2
    lines = review.markdown.splitlines()
    assert lines[0] == "# Training Large Language Models to Reason in a Continuous Latent Space"
    assert "Статья: https://arxiv.org/abs/2412.06769" in review.markdown
    assert "Код: https://github.com/facebookresearch/coconut" in review.markdown
    for title in ("## Суть", "## Метод", "## Эксперименты и результаты", "## Ограничения", "## Почему это важно"):
        assert title in review.markdown
    [prompt] = llm_user_prompts(fake_llm)
    assert BODY_MARKER in " ".join(prompt.split()) and REF_MARKER not in prompt  # body in, references out
    assert fake_llm.requests[-1].headers["Authorization"] == f"Bearer {FAKE_LLM_KEY}"
    [usage] = rows(llm_settings, Usage)
    assert usage.prompt_tokens > 0 and usage.cost_usd and usage.cost_usd > 0
    [job] = rows(llm_settings, Job)
    assert (job.status, job.step, job.review_id) == ("done", "stored", review.id)
    [paper] = rows(llm_settings, Paper)
    assert paper.code_url == "https://github.com/facebookresearch/coconut" and paper.latest_version == 2


def test_stored_review_comes_back_without_network(llm_settings, fake_arxiv, fake_llm) -> None:
    add_paper(fake_arxiv)
    [first] = run(llm_settings, PAPER_ID)
    fake_arxiv.clear_requests()
    fake_llm.reset()
    [again] = run(llm_settings, PAPER_ID)
    assert again.id == first.id
    assert fake_arxiv.requests == [] and fake_llm.requests == []
    [forced] = run(llm_settings, PAPER_ID, force=True)
    assert forced.id != first.id and len(llm_user_prompts(fake_llm)) == 1


def test_offline_reviewer_without_llm_settings(settings, fake_arxiv, fake_llm) -> None:
    add_paper(fake_arxiv)
    [review] = run(settings, PAPER_ID)
    assert review.reviewer == "offline" and review.validation == "draft"
    assert "Черновик без LLM" in review.markdown
    assert "## Эксперименты и результаты" in review.markdown and "97.0" in review.markdown
    assert fake_llm.requests == []


def test_transient_arxiv_errors_are_retried(llm_settings, fake_arxiv, fake_llm) -> None:
    add_paper(fake_arxiv)
    fake_arxiv.fail_next("api", status=503, times=2, retry_after=0)
    fake_arxiv.truncate_next("pdf", keep_bytes=500)
    [review] = run(llm_settings, PAPER_ID)
    assert review.validation == "passed"
    kinds = [r.kind for r in fake_arxiv.requests]
    assert kinds.count("api") == 3 and kinds.count("pdf") == 2


@pytest.mark.parametrize(
    ("setup", "error", "asks_pdf"),
    [
        (lambda fake: None, PaperNotFound, False),
        (lambda fake: add_paper(fake, withdrawn=True), PaperWithdrawn, False),
        (
            lambda fake: (add_paper(fake), fake.serve_bytes(f"{PAPER_ID}v2", b"<html>captcha</html>", "text/html")),
            PdfDownloadError,
            True,
        ),
    ],
)
def test_permanent_failures_are_clear_and_recorded(
    llm_settings, fake_arxiv, fake_llm, setup: Callable, error: type, asks_pdf: bool
) -> None:
    setup(fake_arxiv)
    [result] = run(llm_settings, PAPER_ID)
    assert isinstance(result, error)
    assert PAPER_ID in str(result)
    assert any(r.kind == "pdf" for r in fake_arxiv.requests) is asks_pdf
    [job] = rows(llm_settings, Job)
    assert job.status == "failed" and job.error_kind == error.__name__
    assert fake_llm.requests == []


def test_llm_rate_limit_is_retried_but_quota_is_not(llm_settings, fake_arxiv, fake_llm) -> None:
    add_paper(fake_arxiv)
    fake_llm.fail_next("rate_limit", times=1, retry_after=0)
    [review] = run(llm_settings, PAPER_ID)
    assert review.validation == "passed" and len(fake_llm.requests) == 2
    fake_llm.reset()
    fake_llm.fail_next("quota", times=5)
    [failed] = run(llm_settings, PAPER_ID, force=True)
    assert isinstance(failed, LlmQuotaExceeded) and len(fake_llm.requests) == 1
    assert "sk-test" not in str(failed)


def test_context_length_error_shrinks_the_input_once(llm_settings, fake_arxiv) -> None:
    add_paper(fake_arxiv, versions={1: make_pdf(pages_of_filler=6)})
    with FakeLLM(api_key=FAKE_LLM_KEY, context_tokens=3000) as small:
        settings = llm_settings.replace(**{"OPENAI_BASE_URL": small.base_url, "LLM_OUTPUT_TOKENS": 800})
        [review] = run(settings, PAPER_ID)
        prompts = llm_user_prompts(small)
    assert review.validation == "passed", review.problems
    assert len(prompts) == 2 and len(prompts[1]) < len(prompts[0])
    assert review.cuts and any("сокращён" in note for note in review.notes)


def test_invalid_review_is_retried_with_reasons_then_marked(llm_settings, fake_arxiv, fake_llm) -> None:
    add_paper(fake_arxiv)

    def invents_once(request: dict) -> str | FakeReply:
        first = len(fake_llm.requests) <= 1
        return (russian_review(request) + "\n\nТочность выросла до 99.9%.") if first else russian_review(request)

    fake_llm.responder = invents_once
    [review] = run(llm_settings, PAPER_ID)
    assert review.validation == "passed", review.problems
    retry_prompt = llm_user_prompts(fake_llm)[1]
    assert "99.9" in retry_prompt and "не прошла" in retry_prompt

    fake_llm.reset()
    fake_llm.responder = lambda request: russian_review(request) + "\n\nСм. https://evil.example/x"
    [marked] = run(llm_settings, PAPER_ID, force=True)
    assert marked.validation == "failed" and "evil.example" in marked.problems[0]
    assert "evil.example" not in marked.markdown and "[ссылка удалена]" in marked.body  # never published
    assert any("не прошла автоматическую проверку" in note for note in marked.notes)
    assert len(fake_llm.requests) == 2


def test_review_stores_where_each_number_is_and_a_failing_one_waits(llm_settings, fake_arxiv, fake_llm) -> None:
    add_paper(fake_arxiv)
    [review] = run(llm_settings, PAPER_ID)
    grounding = Grounding.from_json(review.grounding)
    assert review.validation == "passed" and review.moderation is None
    assert grounding.checked >= 2 and grounding.confirmed == grounding.checked
    found = grounding.numbers[0]
    assert found.source.quote and review.body[found.start : found.end] == found.text
    assert found.source.page is not None  # the page of the PDF the sentence is on

    fake_llm.reset()
    fake_llm.responder = lambda request: russian_review(request) + "\n\nТочность выросла до 99.9%."
    [failed] = run(llm_settings, PAPER_ID, force=True)
    suspects = Grounding.from_json(failed.grounding).suspects
    assert failed.validation == "failed" and failed.moderation == "waiting"
    assert [n.text for n in suspects] == ["99.9%"] and "99.9%" in failed.problems[0]
    note = next(n for n in failed.notes if "не прошла" in n)
    assert "99.9%" in note and not re.search(r"[A-Za-z]{4,}", note)  # Russian only, the suspect named

    fake_llm.reset()  # a foreign link before the numbers is removed from the stored text: offsets follow it
    fake_llm.responder = lambda request: russian_review(request).replace(
        "## Суть\n", "## Суть\nСм. https://evil.example/very/long/path/to/somewhere. ", 1
    )
    [linked] = run(llm_settings, PAPER_ID, force=True)
    numbers = Grounding.from_json(linked.grounding).numbers
    assert "evil.example" not in linked.body and numbers
    assert all(linked.body[n.start : n.end] == n.text for n in numbers)


def test_two_requests_share_one_job_and_one_llm_call(llm_settings, fake_arxiv, fake_llm) -> None:
    add_paper(fake_arxiv)
    fake_llm.latency_s = 0.3

    async def both():
        async with open_pipeline(llm_settings) as pipeline:
            return await asyncio.gather(
                pipeline.review(ArxivId(PAPER_ID), requested_by="a"),
                pipeline.review(ArxivId(PAPER_ID), requested_by="b"),
            )

    first, second = asyncio.run(both())
    assert first.id == second.id
    assert len(llm_user_prompts(fake_llm)) == 1 and len(rows(llm_settings, Job)) == 1


async def give_up_at_the_review_step(pipeline, wait_s: float = 0.0) -> None:
    """Ask for a review, and stop waiting once it reached the LLM step (plus `wait_s`)."""
    reached = asyncio.Event()
    task = asyncio.create_task(
        pipeline.review(ArxivId(PAPER_ID), on_step=lambda _id, step: reached.set() if step == "review" else None)
    )
    await reached.wait()
    await asyncio.sleep(wait_s)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def test_crashed_job_resumes_from_its_step(llm_settings, fake_arxiv, fake_llm) -> None:
    add_paper(fake_arxiv)
    fake_llm.fail_next("hang")

    async def crash_during_review():
        async with open_pipeline(llm_settings) as pipeline:
            await give_up_at_the_review_step(pipeline, wait_s=0.3)

    asyncio.run(crash_during_review())
    [job] = rows(llm_settings, Job)
    assert (job.status, job.worker, job.step) == ("pending", None, "review")  # a clean close hands it back
    from paperdigest.db import Database

    db = Database(llm_settings.DATABASE_URL)
    with db.session() as session, session.begin():
        crashed = session.get(Job, job.id)  # as a SIGKILLed process leaves it: still running, its holder dead
        crashed.status, crashed.worker = "running", f"{socket.gethostname()}:999999"
    db.close()
    fake_arxiv.clear_requests()
    fake_llm.reset()

    async def resume():
        async with open_pipeline(llm_settings) as pipeline:
            return await pipeline.resume()

    assert asyncio.run(resume()) == [job.id]
    [job] = rows(llm_settings, Job)
    assert job.status == "done" and job.attempts == 2
    assert fake_arxiv.requests == []  # metadata and PDF were not fetched again
    assert len(llm_user_prompts(fake_llm)) == 1


def test_closing_the_pipeline_ends_jobs_nobody_waits_for(llm_settings, fake_arxiv, fake_llm, caplog) -> None:
    """A caller that gave up leaves its (shielded) job running; closing must end it before the
    database closes, or it dies there and asyncio logs 'Task exception was never retrieved'."""
    import gc

    add_paper(fake_arxiv)
    fake_llm.fail_next("hang")

    async def give_up_then_close():
        async with open_pipeline(llm_settings) as pipeline:
            await give_up_at_the_review_step(pipeline)
            jobs = list(pipeline._running.values())
            assert jobs and not any(job.done() for job in jobs)  # still running without a caller
        assert all(job.cancelled() for job in jobs)

    asyncio.run(give_up_then_close())
    gc.collect()
    assert "never retrieved" not in caplog.text and "crashed" not in caplog.text
    [job] = rows(llm_settings, Job)
    assert (job.status, job.step) == ("pending", "review")  # handed back: resumed from here at the next start


def test_metadata_is_batched_and_requests_are_paced(llm_settings, fake_arxiv, fake_llm) -> None:
    for arxiv_id in ("2412.06769", "2405.14838", "1706.03762"):
        add_paper(fake_arxiv, arxiv_id, versions={1: make_pdf()})
    settings = llm_settings.replace(**{"ARXIV_DELAY_S": 0.25})
    reviews = run(settings, "2412.06769", "2405.14838", "1706.03762")
    assert all(r.validation == "passed" for r in reviews)
    api = [r for r in fake_arxiv.requests if r.kind == "api"]
    assert len(api) == 1 and len(api[0].query["id_list"].split(",")) == 3
    times = sorted(r.at for r in fake_arxiv.requests)
    assert all(b - a >= 0.24 for a, b in zip(times, times[1:]))


def test_long_pdf_is_cut_at_the_page_cap_with_a_note(settings, fake_arxiv) -> None:
    add_paper(fake_arxiv, versions={1: make_pdf(pages_of_filler=5)})
    [review] = run(settings.replace(**{"PDF_MAX_PAGES": 2}), PAPER_ID)
    assert any("прочитаны первые 2 из" in note for note in review.notes)
    assert "прочитаны первые 2 из" in review.markdown


def test_the_stored_review_holds_no_site_dependent_demo_link(settings, fake_arxiv, monkeypatch, tmp_path) -> None:
    import json

    import demos.registry

    monkeypatch.setattr(demos.registry, "PUBLISHED_DIR", tmp_path / "no-published-results")
    add_paper(fake_arxiv)
    [without] = run(settings, PAPER_ID)
    assert "Демо:" not in without.markdown
    results = settings.DATA_DIR / "demos" / "coconut" / "results.json"
    results.parent.mkdir(parents=True)
    results.write_text(json.dumps({"quick": True, "methods": {}}), encoding="utf-8")
    [with_demo] = run(settings, PAPER_ID, force=True)
    # The demo link depends on where the site lives: readers add it when they show the review
    # (tests/bot/test_bot_trust.py for Telegram; the site has its own demo section).
    assert "Демо:" not in with_demo.markdown and settings.SITE_URL not in with_demo.markdown


def test_papers_waiting_for_extraction_leave_the_shared_threads_free(llm_settings, fake_arxiv, fake_llm) -> None:
    """The worker extracts one PDF at a time; papers queued for it must not hold the threads the
    budget step and the bot use (a 100-paper batch's first LLM call waited 4 s behind them)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    ids = [f"2502.{40000 + n}" for n in range(3)]
    for arxiv_id in ids:
        add_paper(fake_arxiv, arxiv_id)
    entered, release = threading.Event(), threading.Event()

    async def go():
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(2))  # fewer than the papers
        async with open_pipeline(llm_settings) as pipeline:
            extract = pipeline.extractor.extract

            def held(path):
                entered.set()
                release.wait(10)
                return extract(path)

            pipeline.extractor.extract = held
            batch = asyncio.create_task(pipeline.review_many([ArxivId(i) for i in ids]))
            while not entered.is_set() or len([r for r in fake_arxiv.requests if r.kind == "pdf"]) < len(ids):
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)  # the last download reaches the text step
            try:
                assert await asyncio.wait_for(asyncio.to_thread(sum, [1, 2]), 5) == 3
            finally:
                release.set()
            return await batch

    results = asyncio.run(go())
    assert [results[ArxivId(i)].validation for i in ids] == ["passed"] * 3


# --- leases: jobs held by other processes, on this host or another -------------------------------


def _job_held_elsewhere(settings: Settings, holder: str, lease_s: float) -> int:
    db = Database(settings.DATABASE_URL)
    with db.session() as session, session.begin():
        job_id = repo.open_job(session, PAPER_ID, None, force=False, requested_by="other").id
        assert repo.claim_job(session, job_id, holder, lease_s)
    db.close()
    return job_id


def test_a_job_another_host_holds_is_waited_for_until_its_lease_runs_out(llm_settings, fake_arxiv, fake_llm) -> None:
    """A process on another machine took the job and stopped renewing (its host died): nobody
    here can see its PID, so the job is left alone until its lease expires, then taken over."""
    add_paper(fake_arxiv)
    job_id = _job_held_elsewhere(llm_settings, "otherhost:42", lease_s=1.5)
    started = time.monotonic()
    [review] = run(llm_settings, PAPER_ID)
    assert time.monotonic() - started >= 1.4  # not before the lease ran out
    [job] = rows(llm_settings, Job)
    assert (job.id, job.status, job.review_id, job.attempts) == (job_id, "done", review.id, 2)
    assert job.worker is None and job.lease_expires_at is None
    assert len(llm_user_prompts(fake_llm)) == 1


def test_a_running_job_renews_its_lease_so_no_other_process_takes_it(llm_settings, fake_arxiv, fake_llm) -> None:
    settings = llm_settings.replace(LEASE_S=0.6)
    add_paper(fake_arxiv)
    fake_llm.latency_s = 2.0  # the review outlives its lease three times over
    db = Database(settings.DATABASE_URL)
    expiries: set[object] = set()
    refused: list[bool] = []

    async def review_while_another_process_tries() -> None:
        async with open_pipeline(settings) as pipeline:
            task = asyncio.create_task(pipeline.review(ArxivId(PAPER_ID)))
            while not task.done():
                await asyncio.sleep(0.2)
                with db.session() as session, session.begin():
                    job = session.scalar(select(Job))
                    if job is not None and job.status == "running":
                        expiries.add(job.lease_expires_at)
                        refused.append(not repo.claim_job(session, job.id, "otherhost:9", settings.LEASE_S))
            await task

    asyncio.run(review_while_another_process_tries())
    db.close()
    assert len(expiries) >= 3 and refused and all(refused)
    [job] = rows(settings, Job)
    assert (job.status, job.attempts) == ("done", 1) and len(llm_user_prompts(fake_llm)) == 1


def test_a_job_taken_over_mid_review_stores_no_second_review(llm_settings, fake_arxiv, fake_llm) -> None:
    """This process stalled past its lease and another took the job over: the review it then
    finishes is dropped, and its caller gets the other process's review."""
    add_paper(fake_arxiv)
    fake_llm.latency_s = 1.0
    db = Database(llm_settings.DATABASE_URL)

    async def lose_the_job_mid_review():
        async with open_pipeline(llm_settings) as pipeline:
            reached = asyncio.Event()
            task = asyncio.create_task(
                pipeline.review(ArxivId(PAPER_ID), on_step=lambda _i, step: step == "review" and reached.set())
            )
            await reached.wait()
            with db.session() as session, session.begin():  # another host takes it over
                job = session.scalar(select(Job))
                job.worker, job.lease_expires_at = "otherhost:5", utcnow() + timedelta(seconds=60)
            await asyncio.sleep(1.5)  # our LLM answered meanwhile; its review was not stored
            assert rows(llm_settings, Review) == []
            with db.session() as session, session.begin():  # the other process stores its review
                theirs = Review(
                    arxiv_id=PAPER_ID,
                    version=2,
                    markdown="# их рецензия",
                    body="",
                    tldr="",
                    reviewer="llm",
                    validation="passed",
                    model="gpt-4o-mini",
                    prompt_version="v1",
                )
                session.add(theirs)
                session.flush()
                repo.finish_job(session, session.scalar(select(Job)), review_id=theirs.id)
            return await task

    got = asyncio.run(lose_the_job_mid_review())
    db.close()
    [stored] = rows(llm_settings, Review)
    assert got.id == stored.id and stored.markdown == "# их рецензия"
