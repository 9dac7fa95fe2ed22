"""The relay's "edit" rows: a published post changed in place, with the relay's guarantees,
and /candidates through the real bot."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.relay import OutboxRelay
from paperdigest import outbox
from paperdigest.db import Database
from paperdigest.models import OutboxMessage, Paper, Review
from paperdigest.records import PaperMeta
from paperdigest.settings import Settings
from summarizer.review_format import ReviewBody, render_review
from tests.fakes.arxiv_days import announce, announcement_at
from tests.fakes.telegram import FakeTelegram, make_bot
from tests.support.bot import ALICE, eventually, running, texts_in
from tests.support.watch import ADMIN, CATS, CHANNEL, THU, llm_judge, relevant, round_at

NOTE = "🔄 Обновлено до v2 на arXiv; рецензия написана по v1."
LONG_SECTION = "Длинный абзац о методе, который повторяется, чтобы пост занял несколько сообщений. " * 60


@pytest.fixture
def relay_settings(settings: Settings, fake_telegram: FakeTelegram) -> Settings:
    fake_telegram.add_chat(CHANNEL, type="channel", title="Digest", username="digest_test")
    return settings.replace(CHANNEL_ID=str(CHANNEL), CHANNEL_POST_INTERVAL_S=0.0, SITE_URL="https://digest.example")


@pytest.fixture
def db(relay_settings: Settings):
    database = Database(relay_settings.DATABASE_URL)
    yield database
    database.close()


def posted_review(db: Database, body: str = "Метод прост.") -> int:
    meta = PaperMeta("2501.00001", 1, "Latent Reasoning A", ["Ada Reasoner"], "Abstract.")
    markdown = render_review(meta, ReviewBody("Коротко.", {"Суть": "Суть.", "Метод": body}))
    with db.session() as session, session.begin():
        session.add(Paper(arxiv_id=meta.arxiv_id, title=meta.title, authors=meta.authors, abstract=meta.abstract))
        review = Review(
            arxiv_id=meta.arxiv_id,
            version=1,
            markdown=markdown,
            body=markdown,
            reviewer="offline",
            model="offline",
            prompt_version="x",
            validation="draft",
        )
        session.add(review)
        session.flush()
        outbox.enqueue(
            session, kind="channel", chat_id=str(CHANNEL), arxiv_id=meta.arxiv_id, version=1, review_id=review.id
        )
        return review.id


def queue_edit(db: Database, review_id: int, note: str = NOTE) -> int:
    with db.session() as session, session.begin():
        post = outbox.channel_post(session, str(CHANNEL), "2501.00001")
        return outbox.enqueue(
            session,
            kind="edit",
            chat_id=str(CHANNEL),
            arxiv_id="2501.00001",
            version=2,
            review_id=review_id,
            text=note,
            message_ids=list(post.message_ids),
        ).id


def row(db: Database, outbox_id: int) -> OutboxMessage:
    with db.read() as session:
        return session.get(OutboxMessage, outbox_id)


async def test_rich_post_is_edited_in_place(relay_settings, db, fake_telegram, telegram_bot) -> None:
    relay = OutboxRelay(telegram_bot, db, relay_settings)
    review_id = posted_review(db)
    await relay.send_due()
    edit_id = queue_edit(db, review_id)
    await relay.send_due()
    [post] = fake_telegram.messages_in(CHANNEL)
    assert NOTE in post.rich["html"] and post.edit_date and row(db, edit_id).status == "sent"
    assert len(fake_telegram.calls("sendRichMessage")) == 1


async def test_classic_post_edits_every_part_and_unchanged_parts_count_as_done(
    relay_settings, db, fake_telegram, telegram_bot
) -> None:
    settings = relay_settings.replace(POST_FORMAT="classic")
    relay = OutboxRelay(telegram_bot, db, settings)
    review_id = posted_review(db, LONG_SECTION)
    await relay.send_due()
    parts = fake_telegram.messages_in(CHANNEL)
    assert len(parts) >= 2
    edit_id = queue_edit(db, review_id)
    await relay.send_due()
    edited = fake_telegram.messages_in(CHANNEL)
    assert len(edited) == len(parts) and "Обновлено до v2" in edited[0].text
    assert edited[-1].edit_date is None  # the same text: Telegram said "not modified", which counts as done
    assert row(db, edit_id).status == "sent" and row(db, edit_id).parts_sent == len(parts)


async def test_flood_control_on_an_edit_waits_and_edits_once(relay_settings, db, fake_telegram, telegram_bot) -> None:
    relay = OutboxRelay(telegram_bot, db, relay_settings)
    review_id = posted_review(db)
    await relay.send_due()
    edit_id = queue_edit(db, review_id)
    fake_telegram.flood_next("editMessageText", retry_after=1)
    await relay.send_due()
    assert row(db, edit_id).status == "pending" and row(db, edit_id).not_before is not None
    for _ in range(50):  # flood control asked for 1 s
        await asyncio.sleep(0.1)
        await relay.send_due()
        if row(db, edit_id).status == "sent":
            break
    assert row(db, edit_id).status == "sent"
    assert len(fake_telegram.calls("editMessageText")) == 2  # the refused one and the one that went


async def test_an_edit_whose_answer_is_lost_is_unknown_not_repeated(relay_settings, db, fake_telegram) -> None:
    bot = make_bot(fake_telegram, timeout=1)
    try:
        relay = OutboxRelay(bot, db, relay_settings)
        review_id = posted_review(db)
        await relay.send_due()
        edit_id = queue_edit(db, review_id)
        fake_telegram.delay_next("editMessageText", 3)
        await relay.send_due()
        await relay.send_due()
    finally:
        await bot.session.close()
    assert row(db, edit_id).status == "unknown" and len(fake_telegram.calls("editMessageText")) == 1


async def test_candidates_command_is_for_admins(settings, fake_arxiv, fake_llm, fake_telegram) -> None:
    from tests.fakes.plugin import FAKE_LLM_KEY

    fake_telegram.add_chat(CHANNEL, type="channel", title="Digest")
    announce(fake_arxiv, THU, count=30, categories=CATS, first_number=1, seed=5)
    relevant(fake_arxiv, THU, 500, "Latent Reasoning A")
    fake_llm.responder = llm_judge({"Latent Reasoning A": 9})
    watch = settings.replace(
        OPENAI_BASE_URL=fake_llm.base_url,
        OPENAI_API_KEY=FAKE_LLM_KEY,
        WATCH_CATEGORIES=CATS,
        WATCH_INTEREST="latent reasoning",
        WATCH_MAX_PER_DAY=1,
        WATCH_EXCLUDE=["glacier"],
        CHANNEL_ID=str(CHANNEL),
        ADMIN_IDS=[ADMIN],
        BOT_TOKEN=fake_telegram.token,
        TELEGRAM_API_URL=fake_telegram.url,
        TELEGRAM_TIMEOUT_S=3.0,
    )
    await round_at(watch, announcement_at(THU) + timedelta(hours=1))
    async with running(watch):
        fake_telegram.push_message(ALICE, ALICE, "/candidates")
        fake_telegram.push_message(ADMIN, ADMIN, "/candidates")
        await eventually(lambda: texts_in(fake_telegram, ALICE) and texts_in(fake_telegram, ADMIN))
    assert "только для администраторов" in texts_in(fake_telegram, ALICE)[0]
    [listing] = texts_in(fake_telegram, ADMIN)
    lines = listing.splitlines()
    assert lines[0].startswith("Кандидаты объявления 2025-01-09: ") and "отсеяно фильтрами" in lines[0]
    assert (
        lines[1] == "Реакции читателей: пока нет постов с реакциями выше обычного — ранжирование только по интересам."
    )
    assert lines[2].startswith("1. 2501.00500 · 9.0 · пост в канал — Latent Reasoning A")
    assert lines[3].strip() == "по теме"
    assert lines[-1] == "Опубликовать вручную: /post <id>"
