"""Each backend end to end: a SQLite file and a real PostgreSQL server (`database_url`,
tests/support/postgres.py). The pipeline over HTTP against the local fakes and the site built
from what it stored; the CLI; a bot conversation with its relay; a watcher round."""

from __future__ import annotations

import asyncio
import json
import socket
from collections import Counter
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from typer.testing import CliRunner

from digest.build import build_site
from paperdigest.cli import app
from paperdigest.db import Database
from paperdigest.links import paper_path
from paperdigest.models import ChatRequest, Job, OutboxMessage, Paper, Review, Usage, WatchCandidate, WatchMark
from paperdigest.sample.pdfmake import write_paper_pdf
from paperdigest.settings import Settings
from paperdigest.wiring import open_pipeline
from summarizer.ids import ArxivId
from tests.fakes.arxiv_days import announce, announcement_at
from tests.fakes.llm import FakeLLM
from tests.fakes.plugin import FAKE_LLM_KEY
from tests.support.bot import ADMIN, ALICE, BOB, CHANNEL, eventually, review_messages, running, texts_in
from tests.support.cli import env_for
from tests.support.papers import PAPER_ID, add_paper
from tests.support.watch import CATS, THU, llm_judge, relay_all, relevant, round_at
from tests.support.watch import CHANNEL as WATCH_CHANNEL

PAPERS = {
    "2412.06769": "Training Large Language Models to Reason in a Continuous Latent Space",
    "2405.14838": "From Explicit CoT to Implicit CoT: Learning to Internalize CoT Step by Step",
    "2501.00001": "A Third Paper About Latent Reasoning",
}
runner = CliRunner()
AUTHORS = ["Shibo Hao", "Sainbayar Sukhbaatar", "Yuandong Tian"]
SECTIONS = [
    (
        "1 Introduction",
        "Large language models reason in language. We show that latent thought vectors replace "
        "the chain of thought tokens. Our code is available at https://github.com/facebookresearch/coconut. "
        "On ProsQA the method reaches 97.0% accuracy.",
    ),
    ("2 Method", "The last hidden state is fed back as the next input embedding. " * 6),
    (
        "3 Experiments",
        "Coconut reaches 97.0% on ProsQA with 14.2 tokens, while CoT reaches 77.5% with 49.4 tokens. " * 3,
    ),
    ("4 Limitations", "However, the method needs a multi-stage curriculum and more sequential forward passes."),
    ("5 Conclusion", "Continuous thoughts can encode several next steps at once, enabling a breadth-first search."),
]


def add_papers(fake_arxiv) -> None:
    for arxiv_id, title in PAPERS.items():
        pdf = write_paper_pdf(title, AUTHORS, SECTIONS, abstract="We introduce Coconut.", references=[])
        fake_arxiv.add_paper(
            arxiv_id,
            title=title,
            authors=AUTHORS,
            abstract="We introduce Coconut.",
            categories=["cs.CL", "cs.AI"],
            published=datetime(2024, 12, 9, tzinfo=timezone.utc),
            versions={1: pdf, 2: pdf},
        )


def review(settings: Settings, *ids: str, force: bool = False) -> list:
    async def go():
        async with open_pipeline(settings) as pipeline:
            return await pipeline.review_many([ArxivId(i) for i in ids], force=force)

    results = asyncio.run(go())
    return [results[ArxivId(i)] for i in ids]


def rows(settings: Settings, model: type) -> list:
    db = Database(settings.DATABASE_URL)
    with db.read() as session:
        found = list(session.scalars(select(model)))
    db.close()
    return found


def test_reviews_run_end_to_end_and_the_site_builds_on_each_backend(
    settings: Settings, database_url: str, fake_arxiv, fake_llm: FakeLLM
) -> None:
    settings = settings.replace(
        DATABASE_URL=database_url, OPENAI_BASE_URL=fake_llm.base_url, OPENAI_API_KEY=FAKE_LLM_KEY, LLM_RETRIES=3
    )
    add_papers(fake_arxiv)
    reviews = review(settings, *PAPERS)  # three jobs side by side on one database
    assert [r.validation for r in reviews] == ["passed"] * 3, [r.problems for r in reviews]
    assert all(r.reviewer == "llm" and r.version == 2 for r in reviews)
    jobs = rows(settings, Job)
    assert sorted((j.arxiv_id, j.status, j.step, j.worker) for j in jobs) == sorted(
        (arxiv_id, "done", "stored", None) for arxiv_id in PAPERS
    )
    assert {j.review_id for j in jobs} == {r.id for r in reviews}
    assert len(rows(settings, Usage)) == 3
    papers = {p.arxiv_id: p for p in rows(settings, Paper)}
    assert papers["2412.06769"].code_url == "https://github.com/facebookresearch/coconut"
    assert papers["2412.06769"].authors == AUTHORS and papers["2412.06769"].latest_version == 2

    fake_llm.reset()
    again = review(settings, "2412.06769")  # stored: no LLM call
    assert [r.id for r in again] == [reviews[0].id] and fake_llm.requests == []
    [forced] = review(settings, "2412.06769", force=True)
    assert forced.id not in {r.id for r in reviews} and len(rows(settings, Review)) == 4

    report = build_site(settings)
    assert report.written > 0
    front = (settings.SITE_DIR / "index.html").read_text("utf-8")
    for title in PAPERS.values():
        assert title.split(":")[0] in front
    page = (settings.SITE_DIR / paper_path("2412.06769")).read_text("utf-8")
    assert "Проверено по тексту статьи" in page and "github.com/facebookresearch/coconut" in page
    assert build_site(settings).written == 0  # nothing changed: nothing written


def test_the_commands_work_on_each_backend(settings: Settings, database_url: str, fake_arxiv) -> None:
    # The offline reviewer: no LLM settings. DATABASE_URL in the environment, as an operator sets it.
    add_papers(fake_arxiv)
    env = {**env_for(settings.replace(DATABASE_URL=database_url)), "SITE_DIR": str(settings.SITE_DIR)}
    upgraded = runner.invoke(app, ["db", "upgrade"], env=env)
    assert upgraded.exit_code == 0, upgraded.output
    assert "is up to date" in upgraded.output
    reviewed = runner.invoke(app, ["review", "2412.06769", "--json"], env=env)
    assert reviewed.exit_code == 0, reviewed.output
    assert json.loads(reviewed.stdout)[0]["arxiv_id"] == "2412.06769"
    listed = runner.invoke(app, ["jobs"], env=env)
    assert listed.exit_code == 0 and "2412.06769" in listed.output and "done" in listed.output
    resumed = runner.invoke(app, ["resume"], env=env)
    assert resumed.exit_code == 0 and "resumed 0 job(s)" in resumed.output
    built = runner.invoke(app, ["site", "build"], env=env)
    assert built.exit_code == 0, built.output
    assert (settings.SITE_DIR / paper_path("2412.06769")).exists()


def test_an_unreachable_postgres_server_is_one_line_without_the_password(settings: Settings) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**env_for(settings), "DATABASE_URL": f"postgresql://digest:hunter2@127.0.0.1:{port}/digest"}
    result = runner.invoke(app, ["jobs"], env=env)
    assert result.exit_code == 1
    assert "database error" in result.output and "hunter2" not in result.output


async def test_a_bot_conversation_on_each_backend(
    bot_settings: Settings, database_url: str, fake_telegram, fake_arxiv, fake_llm: FakeLLM
) -> None:
    # Two users asking for one paper share its one LLM call, an admin posts it once, and a
    # restart while the LLM works answers the third requester once: inbox, requests, jobs,
    # the outbox and its relay, all on this backend.
    settings = bot_settings.replace(DATABASE_URL=database_url)
    add_paper(fake_arxiv, "2405.14838")
    fake_llm.latency_s = 0.5
    async with running(settings):
        fake_telegram.push_message(ALICE, ALICE, f"/review {PAPER_ID}")
        fake_telegram.push_message(BOB, BOB, f"/review arXiv:{PAPER_ID}")
        await eventually(
            lambda: review_messages(fake_telegram, ALICE) and review_messages(fake_telegram, BOB), timeout=20
        )
        fake_telegram.push_message(ADMIN, ADMIN, f"/post {PAPER_ID}")
        await eventually(lambda: fake_telegram.messages_in(CHANNEL), timeout=20)
        fake_telegram.push_message(ADMIN, ADMIN, f"/post {PAPER_ID}")
        await eventually(lambda: any("уже опубликована" in t for t in texts_in(fake_telegram, ADMIN)))
    assert len(chat_calls(fake_llm)) == 1
    assert len(review_messages(fake_telegram, ALICE)) == 1 and len(review_messages(fake_telegram, BOB)) == 1
    assert len(fake_telegram.messages_in(CHANNEL)) == 1

    fake_llm.fail_next("hang")
    async with running(settings):
        fake_telegram.push_message(ALICE, ALICE, "/review 2405.14838")
        # stopped while the LLM works: once the hanging call arrived (counting every request, the
        # stop could come before it, leaving the hang armed for the restarted bot's call)
        await eventually(lambda: len(chat_calls(fake_llm)) == 2, timeout=20)
    async with running(settings):
        await eventually(lambda: len(review_messages(fake_telegram, ALICE)) == 2, timeout=20)
        await asyncio.sleep(0.5)
    assert len(review_messages(fake_telegram, ALICE)) == 2
    sent = [row for row in rows(settings, OutboxMessage) if row.kind == "channel"]
    assert len(sent) == 1 and sent[0].status == "sent"
    assert {row.status for row in rows(settings, ChatRequest)} == {"answered"}


async def test_a_watcher_round_on_each_backend(
    watch_settings: Settings, database_url: str, fake_arxiv, fake_llm: FakeLLM, fake_telegram, telegram_bot
) -> None:
    # An announcement of 40 papers, three on topic: ranked, the best three reviewed and posted
    # once through the relay; a second round at the same moment (a restart) changes nothing.
    settings = watch_settings.replace(DATABASE_URL=database_url)
    announce(fake_arxiv, THU, count=40, categories=CATS, first_number=1, seed=1)
    scores = {"Latent Reasoning A": 9, "Latent Reasoning B": 7, "Latent Reasoning C": 8}
    for n, title in enumerate(scores):
        relevant(fake_arxiv, THU, 500 + n, title, cats=[CATS[n % 3]])
    fake_llm.responder = llm_judge(scores)
    moment = announcement_at(THU) + timedelta(hours=1)
    report = await round_at(settings, moment)
    await relay_all(settings, telegram_bot)
    assert report.found == 43 and report.ranked == 43
    posted = [m for m in fake_telegram.messages_in(WATCH_CHANNEL) if m.rich]
    assert len(posted) == 3

    again = await round_at(settings, moment)
    await relay_all(settings, telegram_bot)
    assert again.found == 0 and len([m for m in fake_telegram.messages_in(WATCH_CHANNEL) if m.rich]) == 3
    candidates = rows(settings, WatchCandidate)
    assert Counter(c.status for c in candidates)["posted"] == 3 and len(candidates) == 43
    channel = [row for row in rows(settings, OutboxMessage) if row.kind == "channel"]
    assert len(channel) == 3 and {row.status for row in channel} == {"sent"}
    assert "lease" not in {mark.key for mark in rows(settings, WatchMark)}


def chat_calls(fake_llm: FakeLLM) -> list:
    return [r for r in fake_llm.requests if r.path.endswith("/chat/completions")]
