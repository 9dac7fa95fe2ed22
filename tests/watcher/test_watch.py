"""The watcher over simulated arXiv days: the real pipeline, relay and Bot against the local fakes.

Each round opens a fresh pipeline and watcher (a restart between rounds, every time), with
the watcher's clock set to the simulated moment; the fake arXiv "announces" a day when the
test adds its papers. Posts go out through the real OutboxRelay to the fake Bot API.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from paperdigest import leases
from paperdigest.commands.watch import deliver, run_watch
from paperdigest.db import Database
from paperdigest.models import Lease, OutboxMessage, Paper, PaperVersion, Review, WatchCandidate
from paperdigest.quiet_hours import MOSCOW
from paperdigest.settings import Settings
from paperdigest.wiring import open_pipeline
from tests.fakes.arxiv_days import announce, announcement_at, arxiv_number, submitted_at
from tests.fakes.llm import FakeLLM, message_text
from tests.fakes.telegram import FakeTelegram
from tests.support.watch import ADMIN, CATS, CHANNEL, FRI, PDF, SAT, SUN, THU, llm_judge, relay_all, relevant, round_at
from watcher.run import open_watcher
from watcher.schedule import announcement_day


def review_prompts(fake_llm: FakeLLM) -> list[str]:
    prompts = [message_text(r.body["messages"][-1]) for r in fake_llm.requests]
    return [p for p in prompts if "Интересы канала" not in p]


def rows(settings: Settings, model: type, *where) -> list:
    db = Database(settings.DATABASE_URL)
    with db.read() as session:
        found = list(session.scalars(select(model).where(*where).order_by(model.__mapper__.primary_key[0])))
    db.close()
    return found


def listings(requests: list) -> list:
    return [r for r in requests if r.query.get("search_query")]


def channel_titles(fake_telegram: FakeTelegram) -> list[str]:
    return [re.search(r"<h1>(.*?)</h1>", m.rich["html"]).group(1) for m in fake_telegram.messages_in(CHANNEL) if m.rich]


async def test_simulated_week(watch_settings, fake_arxiv, fake_llm, fake_telegram, telegram_bot) -> None:
    # Thursday: 150 papers in three categories, five of them on topic.
    announce(fake_arxiv, THU, count=150, categories=CATS, first_number=1, seed=1)
    scores = {
        "Latent Reasoning A": 9,
        "Latent Reasoning B": 7,
        "Latent Reasoning C": 8,
        "Latent Reasoning D": 3,
        "Latent Reasoning E": 6,
    }
    thursday = {t: relevant(fake_arxiv, THU, 500 + n, t, cats=[CATS[n % 3]]) for n, t in enumerate(scores)}
    fake_llm.responder = llm_judge(scores)
    report = await round_at(watch_settings, announcement_at(THU) + timedelta(hours=1))
    await relay_all(watch_settings, telegram_bot)

    assert report.found == 155 and report.ranked == 155
    assert channel_titles(fake_telegram) == ["Latent Reasoning A", "Latent Reasoning C", "Latent Reasoning B"]
    requests = fake_arxiv.api_requests()
    assert len(listings(requests)) == 3  # one page per category
    assert len(requests) == 4  # and one id-list query: the three reviews' metadata, batched

    # Friday and Saturday: no announcement; rounds find nothing and post nothing.
    for day in (FRI, SAT):
        fake_llm.clear_requests()
        report = await round_at(watch_settings, announcement_at(day) + timedelta(hours=1))
        assert report.day == THU and report.found == 0 and not report.posted and fake_llm.requests == []

    # Sunday: new papers, a replacement (v2) of Thursday's best, a withdrawal of the third.
    announce(fake_arxiv, SUN, count=120, categories=CATS, first_number=1000, seed=2)
    sunday = {"Latent Reasoning F": 5, "Latent Reasoning G": 9.5, "Latent Reasoning H": 4}
    for n, title in enumerate(sunday):
        relevant(fake_arxiv, SUN, 1500 + n, title)
    fake_llm.responder = llm_judge({**scores, **sunday})
    fake_arxiv.add_version(thursday["Latent Reasoning A"], PDF, updated=submitted_at(SUN, 0.5))
    fake_arxiv.withdraw(thursday["Latent Reasoning B"], updated=submitted_at(SUN, 0.6))
    report = await round_at(watch_settings, announcement_at(SUN) + timedelta(hours=1))
    await relay_all(watch_settings, telegram_bot)
    assert report.found == 123 and report.edits == 2

    titles = channel_titles(fake_telegram)
    assert titles == [
        "Latent Reasoning A",
        "Latent Reasoning C",
        "Latent Reasoning B",
        "Latent Reasoning G",
        "Latent Reasoning F",
        "Latent Reasoning H",
    ]
    posts = {re.search(r"<h1>(.*?)</h1>", m.rich["html"]).group(1): m for m in fake_telegram.messages_in(CHANNEL)}
    assert "Обновлено до v2" in posts["Latent Reasoning A"].rich["html"] and posts["Latent Reasoning A"].edit_date
    assert "отозвана" in posts["Latent Reasoning B"].rich["html"]
    assert "Обновлено" not in posts["Latent Reasoning C"].rich["html"]
    assert len(fake_telegram.calls("sendRichMessage")) == 6 and len(fake_telegram.calls("editMessageText")) == 2
    assert [
        v.version for v in rows(watch_settings, PaperVersion, PaperVersion.arxiv_id == thursday["Latent Reasoning A"])
    ] == [1, 2]

    # Each paper reviewed once (REVIEW_NEW_VERSIONS is off: v2 only edits the post).
    reviewed = Counter(r.arxiv_id for r in rows(watch_settings, Review))
    assert len(reviewed) == 6 and set(reviewed.values()) == {1}
    assert len(review_prompts(fake_llm)) == 3

    # A restart and another round on Sunday: nothing new is fetched beyond the listings, nothing is sent.
    fake_arxiv.clear_requests()
    fake_llm.clear_requests()
    report = await round_at(watch_settings, announcement_at(SUN) + timedelta(hours=2))
    await relay_all(watch_settings, telegram_bot)
    assert (report.found, report.posted, report.edits) == (0, [], 0)
    assert len(fake_arxiv.api_requests()) == 3 and fake_llm.requests == []
    assert len(fake_telegram.calls("sendRichMessage")) == 6


async def test_restart_during_a_round_changes_nothing(
    watch_settings, fake_arxiv, fake_llm, fake_telegram, telegram_bot
) -> None:
    announce(fake_arxiv, THU, count=60, categories=CATS, first_number=1, seed=3)
    scores = {"Latent Reasoning A": 9, "Latent Reasoning B": 8, "Latent Reasoning C": 7, "Latent Reasoning D": 2}
    for n, title in enumerate(scores):
        relevant(fake_arxiv, THU, 500 + n, title)
    fake_llm.responder = llm_judge(scores)
    fake_llm.latency_s = 0.6
    moment = announcement_at(THU) + timedelta(hours=1)
    first = asyncio.create_task(round_at(watch_settings, moment))
    deadline = asyncio.get_running_loop().time() + 20
    while not review_prompts(fake_llm):  # stopped while the reviews are being written
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert [c.status for c in rows(watch_settings, WatchCandidate, WatchCandidate.status == "chosen")] == ["chosen"] * 3

    fake_llm.latency_s = 0.0
    await round_at(watch_settings, moment)
    await round_at(watch_settings, moment)
    await relay_all(watch_settings, telegram_bot)
    assert channel_titles(fake_telegram) == ["Latent Reasoning A", "Latent Reasoning B", "Latent Reasoning C"]
    assert Counter(r.arxiv_id for r in rows(watch_settings, Review)).most_common(1)[0][1] == 1
    assert len([r for r in rows(watch_settings, OutboxMessage) if r.kind == "channel"]) == 3


async def test_a_restart_mid_ranking_ranks_only_the_rest(watch_settings, fake_arxiv, fake_llm) -> None:
    """Each ranking batch is stored before the next LLM call; a restart pays only for the rest."""
    announce(fake_arxiv, THU, count=150, categories=CATS, first_number=1, seed=5)
    fake_llm.responder = llm_judge({})
    fake_llm.latency_s = 0.5
    moment = announcement_at(THU) + timedelta(hours=1)

    def ranking_calls() -> int:
        return sum("Интересы канала" in message_text(r.body["messages"][-1]) for r in fake_llm.requests)

    first = asyncio.create_task(round_at(watch_settings, moment))
    deadline = asyncio.get_running_loop().time() + 20
    while ranking_calls() < 1:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.02)
    fake_llm.fail_next("hang")  # taken by the second call as it arrives: it never answers
    while ranking_calls() < 2:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.7)
    first.cancel()  # as if the process were killed while it waits
    with pytest.raises(asyncio.CancelledError):
        await first
    candidates = rows(watch_settings, WatchCandidate)
    scored = [c for c in candidates if c.score is not None]
    assert len(candidates) > 50 and len(scored) == 50  # WATCH_RANK_BATCH: the first batch is kept

    fake_llm.latency_s = 0.0
    before = ranking_calls()
    report = await round_at(watch_settings, moment)
    assert report.ranked == len(candidates) - 50
    assert ranking_calls() - before == math.ceil((len(candidates) - 50) / 50)  # was one more: batch 1 again
    assert all(c.score is not None for c in rows(watch_settings, WatchCandidate))


async def test_listing_pages_hold_the_arxiv_pacing(watch_settings, fake_arxiv, fake_llm) -> None:
    announce(fake_arxiv, THU, count=90, categories=CATS, first_number=1, seed=4)
    relevant(fake_arxiv, THU, 500, "Latent Reasoning A")
    settings = watch_settings.replace(
        ARXIV_DELAY_S=0.25, WATCH_PAGE_SIZE=20, WATCH_MAX_PER_DAY=1, OPENAI_BASE_URL=None, OPENAI_API_KEY=None
    )  # offline: TF-IDF, draft review
    report = await round_at(settings, announcement_at(THU) + timedelta(hours=1))
    assert report.found == 91 and report.reviewed == [arxiv_number(THU, 500)]
    listing = listings(fake_arxiv.api_requests())
    assert len(listing) >= 6 and {r.query["max_results"] for r in listing} == {"20"}
    times = sorted(r.at for r in fake_arxiv.requests)
    assert all(b - a >= 0.24 for a, b in zip(times, times[1:]))
    [chosen] = rows(settings, WatchCandidate, WatchCandidate.status == "posted")
    assert chosen.ranker == "tfidf" and "latent" in chosen.reason


async def test_quiet_hours_defer_posting_not_reviewing(
    watch_settings, fake_arxiv, fake_llm, telegram_bot, fake_telegram
) -> None:
    now = datetime.now(timezone.utc)  # the relay reads the real clock, so this test lives in real time
    today = announcement_day(now)
    fake_arxiv.add_paper(
        arxiv_number(today, 500),
        title="Latent Reasoning A",
        authors=["Ada Reasoner"],
        abstract="Latent reasoning.",
        published=submitted_at(today, 0.5),
        versions={1: PDF},
    )
    fake_llm.responder = llm_judge({"Latent Reasoning A": 9})
    hour = now.astimezone(MOSCOW).hour
    settings = watch_settings.replace(WATCH_QUIET_HOURS=f"{hour}-{(hour + 2) % 24}")
    report = await round_at(settings, now)
    await relay_all(settings, telegram_bot)
    assert report.reviewed == [arxiv_number(today, 500)] and fake_telegram.messages_in(CHANNEL) == []
    [post] = [r for r in rows(settings, OutboxMessage) if r.kind == "channel"]
    assert post.not_before.hour == (hour + 2 - 3) % 24 and post.not_before.minute == 0  # Moscow is UTC+3


async def test_daily_digest_and_staleness_alarm(
    watch_settings, fake_arxiv, fake_llm, telegram_bot, fake_telegram
) -> None:
    settings = watch_settings.replace(
        DAILY_DIGEST=True, WATCH_MAX_PER_DAY=2, WATCH_STALE_MIN=10, OPENAI_BASE_URL=None, OPENAI_API_KEY=None
    )
    mon, tue, wed = date(2025, 1, 13), date(2025, 1, 14), date(2025, 1, 15)
    for number, day in enumerate((mon, tue), 1):
        announce(fake_arxiv, day, count=45, categories=CATS, first_number=number * 100, seed=number)
        relevant(fake_arxiv, day, number * 100 + 90, f"Latent Reasoning {day.day}")
        await round_at(settings, announcement_at(day) + timedelta(hours=1))
        await relay_all(settings, telegram_bot)
        await round_at(settings, announcement_at(day) + timedelta(hours=1, minutes=5))  # posts are out: digest
        await relay_all(settings, telegram_bot)
    digests = [m.text for m in fake_telegram.messages_in(CHANNEL) if (m.text or "").startswith("Обзоры дня")]
    assert len(digests) == 2 and "https://t.me/c/1234567890/1" in digests[0]
    assert "https://digest.example/papers/" in digests[0] and "Latent Reasoning 13" in digests[0]

    announce(fake_arxiv, wed, count=20, categories=CATS[:2], first_number=400, seed=9)  # cs.AI went quiet
    for hours in (1, 4, 5):
        await round_at(settings, announcement_at(wed) + timedelta(hours=hours))
    await relay_all(settings, telegram_bot)
    [alarm] = [m.text for m in fake_telegram.messages_in(ADMIN)]
    assert "cs.AI" in alarm and "2025-01-15" in alarm


async def test_the_digest_leaves_out_a_post_the_relay_held(
    watch_settings, fake_arxiv, fake_llm, telegram_bot, fake_telegram
) -> None:
    """A review dropped after its post was queued is held at send time: the day's digest
    still comes, without it (it used to wait for that post forever)."""
    settings = watch_settings.replace(DAILY_DIGEST=True, WATCH_MAX_PER_DAY=2, OPENAI_BASE_URL=None, OPENAI_API_KEY=None)
    announce(fake_arxiv, THU, count=30, categories=CATS, first_number=100, seed=3)
    relevant(fake_arxiv, THU, 190, "Latent Reasoning Kept")
    relevant(fake_arxiv, THU, 191, "Latent Reasoning Dropped")
    await round_at(settings, announcement_at(THU) + timedelta(hours=1))
    db = Database(settings.DATABASE_URL)
    try:
        with db.session() as session, session.begin():
            dropped = session.scalars(
                select(Review).join(Review.paper).where(Paper.title == "Latent Reasoning Dropped")
            ).one()
            dropped.moderation = "dropped"
    finally:
        db.close()
    await relay_all(settings, telegram_bot)
    await round_at(settings, announcement_at(THU) + timedelta(hours=1, minutes=5))
    await relay_all(settings, telegram_bot)
    [digest] = [m.text for m in fake_telegram.messages_in(CHANNEL) if (m.text or "").startswith("Обзоры дня")]
    assert "Latent Reasoning Kept" in digest and "Latent Reasoning Dropped" not in digest
    assert {r.status for r in rows(settings, OutboxMessage) if r.kind == "channel"} == {"sent", "held"}


async def test_new_version_is_reviewed_again_when_asked(
    watch_settings, fake_arxiv, fake_llm, telegram_bot, fake_telegram
) -> None:
    settings = watch_settings.replace(REVIEW_NEW_VERSIONS=True)
    paper = relevant(fake_arxiv, THU, 500, "Latent Reasoning A")
    fake_llm.responder = llm_judge({"Latent Reasoning A": 9})
    await round_at(settings, announcement_at(THU) + timedelta(hours=1))
    await relay_all(settings, telegram_bot)
    fake_arxiv.add_version(paper, PDF, updated=submitted_at(SUN, 0.5))
    report = await round_at(settings, announcement_at(SUN) + timedelta(hours=1))
    await relay_all(settings, telegram_bot)
    assert [r.version for r in rows(settings, Review)] == [1, 2] and report.edits == 1
    [post] = fake_telegram.messages_in(CHANNEL)
    assert "рецензия переписана" in post.rich["html"]


def test_watch_once_runs_one_round(watch_settings, fake_arxiv, fake_llm) -> None:
    relevant(fake_arxiv, THU, 500, "Latent Reasoning A")
    fake_llm.responder = llm_judge({"Latent Reasoning A": 9})
    report = run_watch(watch_settings, once=True)  # today's clock: Thursday's paper is older than the window
    assert report is not None and not report.skipped
    assert len(rows(watch_settings, WatchCandidate)) == report.found


async def test_one_round_at_a_time_across_processes(watch_settings, fake_arxiv) -> None:
    db = Database(watch_settings.DATABASE_URL)
    with db.session() as session, session.begin():  # a live watcher on another machine
        session.add(
            Lease(
                name=leases.WATCH_ROUND,
                holder="otherhost:1",
                expires_at=datetime.now(timezone.utc) + timedelta(hours=1),
            )
        )
    report = await round_at(watch_settings, announcement_at(THU) + timedelta(hours=1))
    assert report.skipped and fake_arxiv.requests == []
    with db.session() as session, session.begin():  # it stopped renewing its lease: presumed dead
        session.get(Lease, leases.WATCH_ROUND).expires_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    db.close()
    report = await round_at(watch_settings, announcement_at(THU) + timedelta(hours=1))
    assert not report.skipped and len(fake_arxiv.requests) == 3
    assert rows(watch_settings, Lease) == []  # released after the round


async def test_a_long_round_renews_its_lease_and_stops_when_another_process_takes_it(
    watch_settings, fake_arxiv
) -> None:
    """A round outliving LEASE_S keeps its lease by renewing it; when another process takes
    the lease anyway (this one stalled past the expiry), the round stops instead of running on
    beside the other's."""
    settings = watch_settings.replace(LEASE_S=0.6)
    fake_arxiv.delay_next("api", 0.5, times=6)  # each listing takes longer than a third of the lease
    db = Database(settings.DATABASE_URL)
    expiries: list[datetime] = []

    async def watch_lease() -> None:
        while True:
            with db.read() as session:
                lease = session.get(Lease, leases.WATCH_ROUND)
                if lease is not None:
                    expiries.append(lease.expires_at)
            await asyncio.sleep(0.1)

    watching = asyncio.create_task(watch_lease())
    report = await round_at(settings, announcement_at(THU) + timedelta(hours=1))
    watching.cancel()
    assert not report.skipped and len(fake_arxiv.requests) == 3
    assert len(set(expiries)) >= 3  # renewed while it ran (1.5 s against a 0.6 s lease)

    fake_arxiv.clear_requests()
    round_task = asyncio.create_task(round_at(settings, announcement_at(THU) + timedelta(hours=2)))
    await asyncio.sleep(0.3)
    with db.session() as session, session.begin():  # another host took it over
        session.get(Lease, leases.WATCH_ROUND).holder = "otherhost:7"
    with pytest.raises(leases.LeaseLost):
        await round_task
    db.close()
    assert len(fake_arxiv.requests) < 3
    assert [lease.holder for lease in rows(settings, Lease)] == ["otherhost:7"]  # its lease is left alone


async def test_run_loop_rounds_until_stopped(watch_settings, fake_arxiv, fake_llm) -> None:
    relevant(fake_arxiv, THU, 500, "Latent Reasoning A")
    fake_llm.responder = llm_judge({"Latent Reasoning A": 9})
    fake_llm.latency_s = 0.3
    settings = watch_settings.replace(WATCH_INTERVAL_S=0.05)
    stop = asyncio.Event()
    moment = announcement_at(THU) + timedelta(hours=1)
    async with open_pipeline(settings) as pipeline, open_watcher(settings, pipeline, clock=lambda: moment) as watcher:
        task = asyncio.create_task(watcher.run(stop))
        while len(listings(fake_arxiv.api_requests())) < 6:  # two rounds at least
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 5)
    [candidate] = rows(settings, WatchCandidate)
    assert candidate.status == "posted"


async def test_an_unavailable_listing_skips_that_category_only(watch_settings, fake_arxiv, fake_llm) -> None:
    announce(fake_arxiv, THU, count=30, categories=CATS, first_number=1, seed=6)
    fake_arxiv.fail_next("api", status=503, times=2)  # ARXIV_RETRIES=2 tries: cs.CL's listing gives up
    settings = watch_settings.replace(ARXIV_RETRIES=2, WATCH_MAX_PER_DAY=0)
    moment = announcement_at(THU) + timedelta(hours=1)
    first = await round_at(settings, moment)
    assert 0 < first.found < 30
    second = await round_at(settings, moment)
    assert first.found + second.found == 30


async def test_watch_once_delivers_what_it_queued_unless_a_running_bot_sends_it(
    watch_settings, fake_arxiv, fake_llm, fake_telegram
) -> None:
    """Cron's `watch --once` used to leave its posts queued: with no bot running they were
    never sent. Now it sends what is due, or says that the bot holding the relay will."""
    relevant(fake_arxiv, THU, 500, "Latent Reasoning A")
    fake_llm.responder = llm_judge({"Latent Reasoning A": 9})
    report = await round_at(watch_settings, announcement_at(THU) + timedelta(hours=1))
    assert report.queued
    db = Database(watch_settings.DATABASE_URL)
    with db.session() as session, session.begin():  # a bot on another host runs the relay
        session.add(
            Lease(name=leases.RELAY, holder="otherhost:1", expires_at=datetime.now(timezone.utc) + timedelta(hours=1))
        )
    line = await deliver(watch_settings)
    assert "the running bot (otherhost:1) holds the relay" in line and fake_telegram.messages_in(CHANNEL) == []
    with db.session() as session, session.begin():  # that bot stopped
        session.delete(session.get(Lease, leases.RELAY))
    db.close()
    assert "BOT_TOKEN is not set" in await deliver(watch_settings)  # says why, sends nothing
    settings = watch_settings.replace(BOT_TOKEN=fake_telegram.token, TELEGRAM_API_URL=fake_telegram.url)
    line = await deliver(settings)
    assert channel_titles(fake_telegram) == ["Latent Reasoning A"] and "sent in all" in line
    assert rows(settings, Lease) == []  # the relay lease is handed back on exit
    assert await deliver(settings) == "nothing to send"
    assert channel_titles(fake_telegram) == ["Latent Reasoning A"]  # sent once
