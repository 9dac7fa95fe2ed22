"""Reviews that failed the check: warned to whoever asked, never posted by themselves, an admin decides.

Whole conversations through the real bot against the fake Bot API, arXiv and LLM. A failed
review is made the way it happens in production: the fake LLM invents a result the paper
does not have, again on the retry. Where a test needs a particular record of the number
check, it writes `reviews.grounding` itself, as the pipeline stores it.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from paperdigest.db import Database
from paperdigest.models import OutboxMessage, Review, WatchCandidate, utcnow
from paperdigest.settings import Settings
from paperdigest.wiring import open_pipeline
from summarizer.grounding import ABSENT, FOUND, Grounding, NumberCheck
from summarizer.ids import ArxivId
from tests.fakes.arxiv_days import announcement_at, submitted_at
from tests.fakes.llm import message_text, russian_review
from tests.support.bot import ADMIN, ALICE, BOB, CHANNEL, answer_to, eventually, review_messages, running, texts_in
from tests.support.papers import PAPER_ID
from tests.support.watch import PDF, SUN, THU, llm_judge, relay_all, relevant, round_at

INVENTED = "\n\nТочность выросла до 99,9 %, чего в статье нет."
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"  # beside the checkout, not part of it
WARNED = "⚠️ Рецензия не прошла"  # how both warnings (named numbers, or general) begin


def invents(request: dict) -> str:
    return russian_review(request) + INVENTED


def shown(message) -> str:
    return message.rich["html"] if message.rich is not None else message.source or message.text or ""


def reviews(settings: Settings) -> list[Review]:
    db = Database(settings.DATABASE_URL)
    with db.read() as session:
        found = list(session.scalars(select(Review).order_by(Review.id)))
    db.close()
    return found


def channel_rows(settings: Settings) -> list[OutboxMessage]:
    db = Database(settings.DATABASE_URL)
    with db.read() as session:
        found = list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "channel")))
    db.close()
    return found


def record(settings: Settings, review_id: int, numbers: list[tuple[str, str]], **columns: object) -> None:
    """Store a number-check record on a review, as the pipeline does: (text, status) per number."""
    db = Database(settings.DATABASE_URL)
    with db.session() as session, session.begin():
        row = session.get(Review, review_id)
        checks = [
            NumberCheck(text=text, start=0, end=len(text), anchor=len(text), status=status, sentence=text)
            for text, status in numbers
        ]
        row.grounding = Grounding(checks).to_json()
        for name, value in columns.items():
            setattr(row, name, value)
    db.close()


async def stored_review(settings: Settings) -> Review:
    """A review stored before the bot starts (the watcher's, or an earlier request's)."""
    async with open_pipeline(settings) as pipeline:
        return await pipeline.review(ArxivId(PAPER_ID))


def assert_warned(settings: Settings, text: str) -> None:
    """The requester's copy carries the warning: the suspect numbers when they were recorded."""
    [review] = [r for r in reviews(settings) if r.validation == "failed"][-1:]
    grounding = Grounding.from_json(review.grounding)
    assert WARNED in text
    for number in grounding.suspects if grounding else []:
        assert number.text in text
    assert "automatic" not in text.lower() and "not found" not in text  # no English note


async def test_failed_review_is_warned_to_the_requester_and_posted_only_on_approval(
    bot_settings, fake_telegram, fake_llm
) -> None:
    fake_llm.responder = invents
    async with running(bot_settings.replace(PUBLISH_USER_REVIEWS=True)):
        fake_telegram.push_message(ALICE, ALICE, f"/review {PAPER_ID}")
        [reply] = await eventually(lambda: review_messages(fake_telegram, ALICE), timeout=20)
        [review] = reviews(bot_settings)
        assert review.validation == "failed"
        assert_warned(bot_settings, shown(reply))

        refusal = await answer_to(fake_telegram, ADMIN, f"/post {PAPER_ID}")  # /post does not approve
        assert "не прошла проверку" in refusal and f"/approve {review.id}" in refusal

        waiting = await answer_to(fake_telegram, ADMIN, "/pending")
        assert (
            waiting.startswith("Ждут решения")
            and f"#{review.id} {PAPER_ID}v{review.version}" in waiting
            and f"/approve {review.id}" in waiting
        )
        await asyncio.sleep(0.5)
        assert fake_telegram.messages_in(CHANNEL) == [] and channel_rows(bot_settings) == []

        approved = await answer_to(fake_telegram, ADMIN, f"/approve {review.id}")
        assert "одобрена и поставлена в очередь" in approved
        [post] = await eventually(lambda: fake_telegram.messages_in(CHANNEL))
        again = await answer_to(fake_telegram, ADMIN, f"/approve {PAPER_ID}")  # again, by paper: nothing more
        pending = await answer_to(fake_telegram, ADMIN, "/pending")
        await asyncio.sleep(0.5)
    assert "Training Large Language Models" in shown(post)  # posted as it is
    assert "уже опубликована" in again and "Ждут решения" not in pending
    assert len(fake_telegram.messages_in(CHANNEL)) == 1 and len(channel_rows(bot_settings)) == 1
    assert reviews(bot_settings)[0].moderation == "approved"


async def test_post_of_a_paper_whose_new_review_fails_tells_the_admin_why_not(
    bot_settings, fake_telegram, fake_llm
) -> None:
    fake_llm.responder = invents
    async with running(bot_settings):
        fake_telegram.push_message(ADMIN, ADMIN, f"/post {PAPER_ID}")  # not reviewed yet: review, then post
        [reply] = await eventually(lambda: review_messages(fake_telegram, ADMIN), timeout=20)
        notice = await eventually(lambda: next((t for t in texts_in(fake_telegram, ADMIN) if "/approve" in t), None))
        await asyncio.sleep(0.5)
    [review] = reviews(bot_settings)
    assert_warned(bot_settings, shown(reply))
    assert (
        notice.startswith(f"Рецензия #{review.id} на {PAPER_ID} не прошла проверку")
        and "в канал не отправлена" in notice
    )
    assert fake_telegram.messages_in(CHANNEL) == [] and channel_rows(bot_settings) == []


async def test_the_warning_names_the_recorded_suspect_numbers(bot_settings, fake_telegram, fake_llm) -> None:
    fake_llm.responder = invents
    stored = await stored_review(bot_settings)
    record(
        bot_settings, stored.id, [("97,0 %", FOUND), ("99,9 %", ABSENT), ("в 3,5 раза", ABSENT)], moderation="waiting"
    )
    async with running(bot_settings.replace(PUBLISH_USER_REVIEWS=True)):
        fake_telegram.push_message(BOB, BOB, PAPER_ID)  # a stored review comes back at once
        fake_telegram.push_message(ALICE, ALICE, f"/paper {PAPER_ID}")  # and to /paper, warned the same
        [reply] = await eventually(lambda: review_messages(fake_telegram, BOB))
        [read] = await eventually(lambda: review_messages(fake_telegram, ALICE))
        waiting = await answer_to(fake_telegram, ADMIN, "/pending")
        await asyncio.sleep(0.5)
    text = shown(reply)
    assert "не подтверждены текстом статьи — 99,9 %, в 3,5 раза. Остальные числа сверены со статьёй" in text
    assert "Проверено по тексту статьи: 1 из 3 чисел" in text
    assert shown(read) == text
    assert "сомнительные числа: 99,9 %, в 3,5 раза" in waiting
    assert fake_telegram.messages_in(CHANNEL) == []


@pytest.mark.parametrize("fmt", ["rich", "classic"])
async def test_header_says_how_many_numbers_were_checked(bot_settings, fake_telegram, fmt) -> None:
    stored = await stored_review(bot_settings)
    record(bot_settings, stored.id, [("97,0 %", FOUND), ("77,5 %", FOUND)])
    async with running(bot_settings.replace(POST_FORMAT=fmt)):
        fake_telegram.push_message(ALICE, ALICE, f"/paper {PAPER_ID}")
        fake_telegram.push_message(ADMIN, ADMIN, f"/post {PAPER_ID}")
        await eventually(lambda: review_messages(fake_telegram, ALICE) and fake_telegram.messages_in(CHANNEL))
        await asyncio.sleep(0.3)
    for message in (review_messages(fake_telegram, ALICE)[0], fake_telegram.messages_in(CHANNEL)[0]):
        text = shown(message)
        assert "Проверено по тексту статьи: 2 из 2 чисел" in text and WARNED not in text
        assert text.index("Статья:") < text.index("Проверено") < text.index("TL;DR")
        assert (message.rich is not None) == (fmt == "rich")


async def test_drop_and_refusals(bot_settings, fake_telegram, fake_llm) -> None:
    fake_llm.responder = invents
    async with running(bot_settings):
        fake_telegram.push_message(ALICE, ALICE, f"/review {PAPER_ID}")
        await eventually(lambda: review_messages(fake_telegram, ALICE), timeout=20)
        [review] = reviews(bot_settings)
        for command in (f"/approve {review.id}", f"/drop {review.id}"):
            fake_telegram.push_message(BOB, BOB, command)
        await eventually(lambda: len(texts_in(fake_telegram, BOB)) == 2)
        answers = [
            await answer_to(fake_telegram, ADMIN, command)
            for command in (
                "/approve",
                "/drop abc",
                "/approve 999",
                f"/drop {PAPER_ID}",
                f"/drop {PAPER_ID}",
                f"/approve {PAPER_ID}v3",
                "/pending",
            )
        ]
    assert all("только для администраторов" in t for t in texts_in(fake_telegram, BOB))
    usage, bad, missing, dropped, again, no_version, pending = answers
    assert usage.startswith("Укажите номер рецензии или статью: /approve 12")
    assert "/drop 12" in bad and "arXiv" in bad
    assert missing.startswith("Рецензии #999 нет")
    assert dropped.startswith(f"Рецензия #{review.id} на {PAPER_ID} отклонена") and "/regenerate" in dropped
    assert again.startswith(f"Рецензия #{review.id} на {PAPER_ID} отклонена")  # stays dropped, says so again
    assert no_version == f"Рецензии на {PAPER_ID}v3 нет."
    assert "Ждут решения" not in pending
    assert reviews(bot_settings)[0].moderation == "dropped"
    assert fake_telegram.messages_in(CHANNEL) == [] and channel_rows(bot_settings) == []


async def test_regenerate_replaces_the_waiting_review(bot_settings, fake_telegram, fake_llm) -> None:
    fake_llm.responder = invents
    async with running(bot_settings.replace(PUBLISH_USER_REVIEWS=True)):
        fake_telegram.push_message(ALICE, ALICE, f"/review {PAPER_ID}")
        await eventually(lambda: review_messages(fake_telegram, ALICE), timeout=20)
        [held] = reviews(bot_settings)
        offered = await answer_to(fake_telegram, ADMIN, "/pending")
        missing = await answer_to(fake_telegram, ADMIN, "/regenerate 999")
        fake_llm.responder = russian_review  # the second try is honest
        fake_telegram.push_message(ADMIN, ADMIN, f"/regenerate {held.id}")  # by its number, as /pending offers
        [fresh] = await eventually(lambda: review_messages(fake_telegram, ADMIN), timeout=20)
        [post] = await eventually(lambda: fake_telegram.messages_in(CHANNEL))  # it passed: PUBLISH_USER_REVIEWS
        pending = await answer_to(fake_telegram, ADMIN, "/pending")
        passed = await answer_to(fake_telegram, ADMIN, f"/approve {PAPER_ID}")
    first, second = reviews(bot_settings)
    assert f"/approve {held.id} · /regenerate {held.id} · /drop {held.id}" in offered
    assert missing.startswith("Рецензии #999 нет")
    assert (first.validation, second.validation, second.version) == ("failed", "passed", held.version)
    assert WARNED not in shown(fresh) and WARNED not in shown(post)
    assert "Ждут решения" not in pending
    assert passed.startswith(f"Рецензия #{second.id} на {PAPER_ID} прошла проверку")
    assert len(channel_rows(bot_settings)) == 1


async def test_a_dropped_review_is_never_given_out_again(bot_settings, fake_telegram, fake_llm) -> None:
    """/paper says it was withdrawn, /latest and /search pass it over, /review writes a new one."""
    fake_llm.responder = invents
    async with running(bot_settings):
        fake_telegram.push_message(ALICE, ALICE, f"/review {PAPER_ID}")
        await eventually(lambda: review_messages(fake_telegram, ALICE), timeout=20)
        [dropped] = reviews(bot_settings)
        assert "отклонена" in await answer_to(fake_telegram, ADMIN, f"/drop {dropped.id}")
        answers = [
            await answer_to(fake_telegram, BOB, command)
            for command in (f"/paper {PAPER_ID}", "/latest", "/search Training Large Language Models")
        ]
        calls = len(fake_llm.requests)
        fake_llm.responder = russian_review  # the new review is honest
        fake_telegram.push_message(BOB, BOB, f"/review {PAPER_ID}")
        [fresh] = await eventually(lambda: review_messages(fake_telegram, BOB), timeout=20)
        fake_telegram.push_message(BOB, BOB, f"/paper {PAPER_ID}")
        await eventually(lambda: len(review_messages(fake_telegram, BOB)) == 2)
        latest = await answer_to(fake_telegram, BOB, "/latest")
    withdrawn, no_latest, not_found = answers
    assert withdrawn == (
        f"Рецензия на {PAPER_ID} снята: она не прошла проверку по тексту статьи, и администратор "
        f"её отклонил. Новую можно запросить командой /review {PAPER_ID}"
    )
    assert no_latest.startswith("Рецензий пока нет") and not_found.startswith("Ничего не нашлось")
    assert len(fake_llm.requests) > calls  # a new review was written, not the dropped one handed back
    first, second = reviews(bot_settings)
    assert (first.moderation, second.validation, second.moderation) == ("dropped", "passed", None)
    assert WARNED not in shown(fresh) and "99,9" not in shown(fresh)
    assert shown(review_messages(fake_telegram, BOB)[1]) == shown(fresh)  # /paper now gives the new one
    assert "Training Large Language Models" in latest and f"/paper {PAPER_ID}" in latest


async def test_a_channel_post_queued_before_the_gate_is_held_until_approved(
    bot_settings, fake_telegram, fake_llm
) -> None:
    fake_llm.responder = invents
    stored = await stored_review(bot_settings)
    db = Database(bot_settings.DATABASE_URL)
    with db.session() as session, session.begin():  # as an older bot left it: no moderation, post queued
        session.get(Review, stored.id).moderation = None
        session.add(
            OutboxMessage(
                kind="channel", chat_id=str(CHANNEL), arxiv_id=PAPER_ID, version=stored.version, review_id=stored.id
            )
        )
    db.close()
    async with running(bot_settings):
        [held] = await eventually(lambda: [r for r in channel_rows(bot_settings) if r.status == "held"])
        pending = await answer_to(fake_telegram, ADMIN, "/pending")
        assert fake_telegram.messages_in(CHANNEL) == []
        approved = await answer_to(fake_telegram, ADMIN, f"/approve {stored.id}")
        [post] = await eventually(lambda: fake_telegram.messages_in(CHANNEL))
        await asyncio.sleep(0.5)
    assert f"#{stored.id} {PAPER_ID}v{stored.version}" in pending  # the review waits for a decision
    assert f"#{held.id} channel → {CHANNEL} ({PAPER_ID}): held — not posted: review {stored.id} failed" in pending
    assert "одобрена и поставлена в очередь" in approved and "Training Large Language Models" in shown(post)
    [row] = channel_rows(bot_settings)
    assert (row.id, row.status) == (held.id, "sent") and len(fake_telegram.messages_in(CHANNEL)) == 1


async def test_a_review_dropped_after_its_post_was_queued_is_not_posted(bot_settings, fake_telegram, fake_llm) -> None:
    """Approved, queued for later (quiet hours), then dropped: the relay holds the post; the
    regenerated review replaces the dropped one and /post sends that one."""
    fake_llm.responder = invents
    stored = await stored_review(bot_settings)
    db = Database(bot_settings.DATABASE_URL)
    with db.session() as session, session.begin():
        session.get(Review, stored.id).moderation = "approved"
        queued = OutboxMessage(
            kind="channel",
            chat_id=str(CHANNEL),
            arxiv_id=PAPER_ID,
            version=stored.version,
            review_id=stored.id,
            not_before=utcnow() + timedelta(hours=1),
        )
        session.add(queued)
        session.flush()
        post_id = queued.id
    async with running(bot_settings):
        dropped = await answer_to(fake_telegram, ADMIN, f"/drop {stored.id}")
        with db.session() as session, session.begin():  # the morning comes
            session.get(OutboxMessage, post_id).not_before = None
        await eventually(lambda: channel_rows(bot_settings)[0].status == "held")
        pending = await answer_to(fake_telegram, ADMIN, "/pending")
        fake_llm.responder = russian_review
        fake_telegram.push_message(ADMIN, ADMIN, f"/regenerate {PAPER_ID}")
        await eventually(lambda: review_messages(fake_telegram, ADMIN), timeout=20)
        await asyncio.sleep(0.5)
        assert fake_telegram.messages_in(CHANNEL) == []
        queued_again = await answer_to(fake_telegram, ADMIN, f"/post {PAPER_ID}")
        [post] = await eventually(lambda: fake_telegram.messages_in(CHANNEL))
        await asyncio.sleep(0.5)
    db.close()
    old, new = reviews(bot_settings)
    assert dropped.startswith(f"Рецензия #{old.id} на {PAPER_ID} отклонена")  # still queued: not "already posted"
    assert f"held — not posted: review {old.id} was dropped by an admin" in pending and "Ждут решения" not in pending
    assert queued_again.startswith(f"Рецензия на {PAPER_ID} поставлена в очередь")
    assert "99,9" not in shown(post) and WARNED not in shown(post)
    [row] = channel_rows(bot_settings)
    assert (row.id, row.status, row.review_id, new.validation) == (post_id, "sent", new.id, "passed")


async def test_watcher_holds_a_failed_review_until_an_admin_approves(
    watch_settings, fake_arxiv, fake_llm, fake_telegram, telegram_bot
) -> None:
    judge = llm_judge({"Latent Reasoning A": 9, "Latent Reasoning B": 8})

    def respond(request: dict) -> str:  # paper A's review invents a result, on the retry too; B's is honest
        answer = judge(request)
        about_a = any("Latent Reasoning A" in message_text(m) for m in request["messages"])
        return answer + INVENTED if about_a and answer.startswith("**TL;DR") else answer

    fake_llm.responder = respond
    paper_a = relevant(fake_arxiv, THU, 500, "Latent Reasoning A")
    relevant(fake_arxiv, THU, 501, "Latent Reasoning B")
    moment = announcement_at(THU) + timedelta(hours=1)
    settings = watch_settings.replace(BOT_TOKEN=fake_telegram.token, TELEGRAM_API_URL=fake_telegram.url)
    report = await round_at(settings, moment)
    await relay_all(settings, telegram_bot)
    assert report.held == [paper_a] and len(report.posted) == 1
    [post] = fake_telegram.messages_in(CHANNEL)
    assert "Latent Reasoning B" in shown(post)
    [notice] = texts_in(fake_telegram, ADMIN)
    review_a = next(r for r in reviews(settings) if r.arxiv_id == paper_a)
    assert notice.startswith(f"⚠️ Наблюдатель: рецензия #{review_a.id} на {paper_a} не прошла проверку")
    assert f"/approve {review_a.id}" in notice

    again = await round_at(settings, moment + timedelta(minutes=30))  # held: not posted, admins not told twice
    await relay_all(settings, telegram_bot)
    assert again.held == [] and again.posted == [] and len(fake_telegram.messages_in(CHANNEL)) == 1

    async with running(settings.replace(WATCH_CATEGORIES=[])):
        fake_telegram.push_message(ADMIN, ADMIN, f"/approve {paper_a}")
        await eventually(lambda: len(fake_telegram.messages_in(CHANNEL)) == 2)
    await round_at(settings, moment + timedelta(hours=1))
    await relay_all(settings, telegram_bot)
    assert len(fake_telegram.messages_in(CHANNEL)) == 2 and len(channel_rows(settings)) == 2
    db = Database(settings.DATABASE_URL)
    with db.read() as session:
        statuses = {
            c.arxiv_id: c.status for c in session.scalars(select(WatchCandidate)) if c.title.startswith("Latent")
        }
    db.close()
    assert set(statuses.values()) == {"posted"}


async def test_a_new_version_whose_review_fails_leaves_the_post_on_the_old_review(
    watch_settings, fake_arxiv, fake_llm, telegram_bot, fake_telegram
) -> None:
    settings = watch_settings.replace(REVIEW_NEW_VERSIONS=True)
    paper = relevant(fake_arxiv, THU, 500, "Latent Reasoning A")
    judge = llm_judge({"Latent Reasoning A": 9})
    fake_llm.responder = judge
    await round_at(settings, announcement_at(THU) + timedelta(hours=1))
    await relay_all(settings, telegram_bot)
    fake_arxiv.add_version(paper, PDF, updated=submitted_at(SUN, 0.5))
    fake_llm.responder = lambda request: (
        answer + INVENTED if (answer := judge(request)).startswith("**TL;DR") else answer
    )
    report = await round_at(settings, announcement_at(SUN) + timedelta(hours=1))
    await relay_all(settings, telegram_bot)
    assert [(r.version, r.validation) for r in reviews(settings)] == [(1, "passed"), (2, "failed")]
    [post] = fake_telegram.messages_in(CHANNEL)
    assert report.edits == 1 and "рецензия написана по v1" in post.rich["html"]  # the note, not the failed review
    assert "99,9" not in post.rich["html"]


@pytest.mark.corpus
@pytest.mark.skipif(
    not (SHARED / "llm-answers").is_dir() or not (SHARED / "corpus").is_dir(),
    reason=f"no corpus and LLM answers at {SHARED} (they live beside the checkout)",
)
async def test_an_invented_result_in_a_real_answer_never_reaches_the_channel(
    bot_settings, fake_arxiv, fake_llm, fake_telegram
) -> None:
    """Attention Is All You Need, with the corpus answer that claims a 47,3 % lower training cost."""
    answers = SHARED / "llm-answers"
    meta = next(m for m in json.loads((answers / "meta.json").read_text(encoding="utf-8")) if m["id"] == "1706.03762")
    fake_arxiv.add_paper(
        "1706.03762",
        title=meta["title"],
        authors=meta["authors"],
        abstract=meta["summary"],
        categories=meta["categories"],
        versions={7: (SHARED / "corpus" / "papers" / "1706.03762v7.pdf").read_bytes()},
    )
    answer = (answers / "invented" / "1706.03762.md").read_text(encoding="utf-8")
    fake_llm.responder = lambda request: answer  # the retry gets the same answer: it stays failed
    async with running(bot_settings.replace(PUBLISH_USER_REVIEWS=True)):
        fake_telegram.push_message(ALICE, ALICE, "/review 1706.03762")
        [reply] = await eventually(lambda: review_messages(fake_telegram, ALICE), timeout=60)
        await asyncio.sleep(0.5)
    [review] = reviews(bot_settings)
    assert review.validation == "failed"
    assert_warned(bot_settings, shown(reply))
    if review.grounding is not None:  # the number check's record names the invented number
        assert "47,3" in shown(reply).split("Остальные числа")[0]
    assert fake_telegram.messages_in(CHANNEL) == [] and channel_rows(bot_settings) == []
