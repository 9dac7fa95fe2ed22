"""Whole conversations: the real bot (aiogram, polling) against the fake Bot API, arXiv and LLM."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import select

from bot import store
from paperdigest.db import Database
from paperdigest.errors import ConfigError
from paperdigest.models import ChatRequest, OutboxMessage
from paperdigest.settings import Settings
from paperdigest.wiring import bot_app
from tests.support.bot import ADMIN, ALICE, BOB, CHANNEL, eventually, review_messages, running, texts_in
from tests.support.papers import PAPER_ID, add_paper


def outbox(settings: Settings) -> list[OutboxMessage]:
    db = Database(settings.DATABASE_URL)
    with db.read() as session:
        rows = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    db.close()
    return rows


async def test_invalid_id_is_answered_at_once_without_arxiv(bot_settings, fake_telegram, fake_arxiv) -> None:
    async with running(bot_settings):
        fake_arxiv.clear_requests()
        fake_telegram.push_message(ALICE, ALICE, "/review 2412.0676")
        [reply] = await eventually(lambda: texts_in(fake_telegram, ALICE))
    assert "не похоже на идентификатор arXiv" in reply and "2412.06769" in reply
    assert fake_arxiv.requests == []


async def test_new_paper_status_edits_then_review_then_cached(bot_settings, fake_telegram, fake_llm) -> None:
    fake_llm.latency_s = 1.2  # long enough for the status line to move
    async with running(bot_settings):
        fake_telegram.push_message(ALICE, ALICE, f"/review https://arxiv.org/abs/{PAPER_ID}")
        await eventually(lambda: review_messages(fake_telegram, ALICE), timeout=20)
        status = fake_telegram.messages_in(ALICE)[0]
        assert status.text.startswith("⏳ Готовлю рецензию на 2412.06769")
        assert len(fake_telegram.calls("editMessageText")) >= 1
        [review] = review_messages(fake_telegram, ALICE)
        assert review.rich is not None  # POST_FORMAT=rich by default
        fake_llm.reset()
        fake_telegram.push_message(BOB, BOB, PAPER_ID)  # a bare id, an already reviewed paper
        await eventually(lambda: review_messages(fake_telegram, BOB))
    assert fake_llm.requests == []  # the stored review came back at once
    assert not [m for m in fake_telegram.messages_in(BOB) if (m.text or "").startswith("⏳")]


async def test_two_users_one_paper_one_llm_call(bot_settings, fake_telegram, fake_llm) -> None:
    fake_llm.latency_s = 0.8
    async with running(bot_settings):
        fake_telegram.push_message(ALICE, ALICE, f"/review {PAPER_ID}")
        fake_telegram.push_message(BOB, BOB, f"/review arXiv:{PAPER_ID}")
        await eventually(
            lambda: review_messages(fake_telegram, ALICE) and review_messages(fake_telegram, BOB), timeout=20
        )
    assert len([r for r in fake_llm.requests if r.path.endswith("/chat/completions")]) == 1
    assert len(review_messages(fake_telegram, ALICE)) == 1 and len(review_messages(fake_telegram, BOB)) == 1


async def test_quota_refuses_new_papers_but_not_stored_ones(bot_settings, fake_telegram, fake_arxiv) -> None:
    add_paper(fake_arxiv, "2405.14838")
    async with running(bot_settings.replace(USER_DAILY_REVIEWS=1)):
        fake_telegram.push_message(ALICE, ALICE, f"/review {PAPER_ID}")
        await eventually(lambda: review_messages(fake_telegram, ALICE), timeout=20)
        fake_telegram.push_message(ALICE, ALICE, "/review 2405.14838")
        await eventually(lambda: any("лимит" in t for t in texts_in(fake_telegram, ALICE)))
        fake_telegram.push_message(ALICE, ALICE, f"/paper {PAPER_ID}")
        await eventually(lambda: len(review_messages(fake_telegram, ALICE)) == 2)
        fake_telegram.push_message(ALICE, ALICE, "/start")
        await eventually(lambda: any("осталось: 0 из 1" in t for t in texts_in(fake_telegram, ALICE)))
    refusal = next(t for t in texts_in(fake_telegram, ALICE) if "лимит" in t)
    assert "по Москве" in refusal


async def test_only_admins_post_and_each_version_is_posted_once(bot_settings, fake_telegram) -> None:
    async with running(bot_settings):
        fake_telegram.push_message(ALICE, ALICE, f"/post {PAPER_ID}")
        await eventually(lambda: any("только для администраторов" in t for t in texts_in(fake_telegram, ALICE)))
        fake_telegram.push_message(ADMIN, ADMIN, f"/post {PAPER_ID}")  # not reviewed yet: review, then post
        await eventually(lambda: fake_telegram.messages_in(CHANNEL), timeout=20)
        fake_telegram.push_message(ADMIN, ADMIN, f"/post {PAPER_ID}")
        await eventually(lambda: any("уже опубликована" in t for t in texts_in(fake_telegram, ADMIN)))
    [post] = fake_telegram.messages_in(CHANNEL)
    assert post.rich is not None
    channel_rows = [row for row in outbox(bot_settings) if row.kind == "channel"]
    assert len(channel_rows) == 1 and channel_rows[0].status == "sent" and channel_rows[0].message_ids


async def test_classic_format_splits_within_limits_and_ends_with_site_link(bot_settings, fake_telegram) -> None:
    async with running(bot_settings.replace(POST_FORMAT="classic", PUBLISH_USER_REVIEWS=True)):
        fake_telegram.push_message(ALICE, ALICE, f"/review {PAPER_ID}")
        await eventually(lambda: fake_telegram.messages_in(CHANNEL), timeout=20)
        await asyncio.sleep(0.5)
    parts = fake_telegram.messages_in(CHANNEL)
    assert parts[0].text.startswith("Training Large Language Models") and "Статья:" in parts[0].text
    assert "digest.example/papers/2412.06769.html" in parts[-1].source
    assert all(m.parse_mode == "HTML" for m in parts)


async def test_flood_control_waits_and_sends_once(bot_settings, fake_telegram) -> None:
    fake_telegram.flood_next("sendRichMessage", retry_after=1)
    async with running(bot_settings):
        started = time.monotonic()
        fake_telegram.push_message(ALICE, ALICE, f"/review {PAPER_ID}")
        await eventually(lambda: review_messages(fake_telegram, ALICE), timeout=20)
        waited = time.monotonic() - started
    assert waited >= 1.0
    assert len(review_messages(fake_telegram, ALICE)) == 1
    assert len(fake_telegram.calls("sendRichMessage")) == 2  # the refused one and the one that went


async def test_a_reply_refused_by_flood_control_is_sent_once_it_may(bot_settings, fake_telegram) -> None:
    """A handler's own answer (not the outbox) that meets a 429 waits retry_after and goes."""
    fake_telegram.flood_next("sendMessage", retry_after=1)
    async with running(bot_settings):
        started = time.monotonic()
        fake_telegram.push_message(BOB, BOB, "/start")
        [reply] = await eventually(lambda: texts_in(fake_telegram, BOB), timeout=20)
        waited = time.monotonic() - started
    assert "/review" in reply and waited >= 1.0  # the help text, not the error sentence
    assert len([c for c in fake_telegram.calls("sendMessage") if c.params.get("chat_id") in (BOB, str(BOB))]) == 2


async def test_unknown_outcome_is_not_resent_and_shows_in_pending(bot_settings, fake_telegram) -> None:
    fake_telegram.delay_next("sendRichMessage", 5)  # delivered, but the answer comes after our 3 s timeout
    async with running(bot_settings):
        fake_telegram.push_message(ALICE, ALICE, f"/review {PAPER_ID}")
        await eventually(lambda: any(r.status == "unknown" for r in outbox(bot_settings)), timeout=20)
        fake_telegram.push_message(ADMIN, ADMIN, "/pending")
        await eventually(lambda: any("unknown" in t for t in texts_in(fake_telegram, ADMIN)))
    assert len(fake_telegram.calls("sendRichMessage")) == 1


async def test_restart_mid_review_answers_the_requester_once(bot_settings, fake_telegram, fake_llm) -> None:
    fake_llm.fail_next("hang")
    async with running(bot_settings):
        fake_telegram.push_message(ALICE, ALICE, f"/review {PAPER_ID}")
        await eventually(lambda: fake_llm.requests, timeout=20)  # stopped while the LLM works
    db = Database(bot_settings.DATABASE_URL)
    with db.read() as session:
        [request] = session.scalars(select(ChatRequest)).all()
    db.close()
    assert request.status == "waiting"
    async with running(bot_settings):
        await eventually(lambda: review_messages(fake_telegram, ALICE), timeout=20)
        await asyncio.sleep(0.5)
    assert len(review_messages(fake_telegram, ALICE)) == 1


async def test_browse_commands(bot_settings, fake_telegram) -> None:
    async with running(bot_settings):
        fake_telegram.push_message(ALICE, ALICE, f"/review {PAPER_ID}")
        await eventually(lambda: review_messages(fake_telegram, ALICE), timeout=20)
        for command in ("/latest", "/search рассуждений", "/search continuous latent", "/search nothingmatcheshere"):
            fake_telegram.push_message(BOB, BOB, command)
        await eventually(lambda: len(texts_in(fake_telegram, BOB)) == 4)
    latest, russian, english, empty = texts_in(fake_telegram, BOB)
    assert "Training Large Language Models" in latest and "/paper 2412.06769" in latest
    assert "Training Large Language Models" in english
    assert "Training Large Language Models" in russian
    assert "Ничего не нашлось" in empty


async def test_latest_shows_a_review_stored_after_it_was_last_asked(bot_settings, fake_telegram) -> None:
    """/latest keeps its rows between calls; a newly stored review must still appear."""
    async with running(bot_settings):
        fake_telegram.push_message(BOB, BOB, "/latest")
        await eventually(lambda: texts_in(fake_telegram, BOB))
        fake_telegram.push_message(ALICE, ALICE, f"/review {PAPER_ID}")
        await eventually(lambda: review_messages(fake_telegram, ALICE), timeout=20)
        fake_telegram.push_message(BOB, BOB, "/latest")
        await eventually(lambda: len(texts_in(fake_telegram, BOB)) == 2)
    before, after = texts_in(fake_telegram, BOB)
    assert "Training Large Language Models" not in before
    assert "Training Large Language Models" in after and f"/paper {PAPER_ID}" in after


async def test_start_is_answered_ahead_of_a_backlog(bot_settings, fake_telegram) -> None:
    """Updates that piled up while the bot was down come in one batch; /start must not wait behind it."""
    for _ in range(30):
        fake_telegram.push_message(ALICE, ALICE, "/review 2412.0676")  # malformed: answered with an explanation
    fake_telegram.push_message(BOB, BOB, "/start")
    async with running(bot_settings):
        await eventually(lambda: len(texts_in(fake_telegram, ALICE)) == 30 and texts_in(fake_telegram, BOB))
    answered = [str(c.params.get("chat_id")) for c in fake_telegram.requests if c.method == "sendMessage"]
    assert answered.index(str(BOB)) == 0, answered[:5]
    assert "/review" in texts_in(fake_telegram, BOB)[0]


async def test_other_updates_run_a_few_at_a_time_and_never_hold_up_start(tmp_path) -> None:
    """A burst's 600 other updates handled at once made the next getUpdates, and the /start in
    it, wait ~2 s on the one event loop; they now take turns SLOW_LANE_HANDLERS at a time."""
    from aiogram.types import Update

    from bot.middlewares import SLOW_LANE_HANDLERS, DurableInbox, is_quick

    db = Database(f"sqlite:///{tmp_path / 'inbox.db'}")
    inbox, release, start_answered = DurableInbox(db), asyncio.Event(), asyncio.Event()
    running, peak, handled = 0, 0, []

    async def handler(update: Update, _data: dict) -> None:
        nonlocal running, peak
        if is_quick(update):
            start_answered.set()
        else:
            running += 1
            peak = max(peak, running)
            await release.wait()
            running -= 1
        handled.append(update.update_id)

    def message(update_id: int, text: str) -> Update:
        return Update.model_validate(
            {
                "update_id": update_id,
                "message": {"message_id": update_id, "date": 0, "chat": {"id": ALICE, "type": "private"}, "text": text},
            }
        )

    for update_id in range(1, 41):
        await inbox(handler, message(update_id, "/latest"), {})
    await inbox(handler, message(41, "/start"), {})
    await asyncio.wait_for(start_answered.wait(), 5)
    assert peak == SLOW_LANE_HANDLERS and handled == [41]
    release.set()
    await inbox.drain()
    assert sorted(handled) == list(range(1, 42))
    with db.read() as session:
        assert store.unprocessed_updates(session) == []
    db.close()


async def test_second_instance_stops_with_a_clear_message(bot_settings, fake_telegram) -> None:
    fake_telegram.conflict_polling()
    with pytest.raises(ConfigError, match="another process is polling"):
        await asyncio.wait_for(bot_app(bot_settings).run(), 20)


async def test_missing_or_rejected_token_is_a_clear_error(bot_settings) -> None:
    with pytest.raises(ConfigError, match="BOT_TOKEN is not set"):
        await bot_app(bot_settings.replace(BOT_TOKEN=None)).run()
    with pytest.raises(ConfigError, match="rejected BOT_TOKEN"):
        await bot_app(bot_settings.replace(BOT_TOKEN="123:wrong")).run()


async def test_webhook_mode_checks_the_secret_and_answers(bot_settings, fake_telegram, free_tcp_port) -> None:
    import aiohttp

    settings = bot_settings.replace(
        WEBHOOK_URL=f"https://bot.example/tg/{free_tcp_port}", WEBHOOK_SECRET="s3cret-Token", WEBHOOK_PORT=free_tcp_port
    )
    update = {
        "update_id": 77,
        "message": {
            "message_id": 5,
            "date": 1700000000,
            "text": "/review 2412.0676",
            "chat": {"id": ALICE, "type": "private", "first_name": "A"},
            "from": {"id": ALICE, "is_bot": False, "first_name": "A"},
        },
    }
    url = f"http://127.0.0.1:{free_tcp_port}/tg/{free_tcp_port}"
    fake_telegram.add_chat(ALICE, type="private")
    async with running(settings), aiohttp.ClientSession() as http:
        async with http.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}) as refused:
            assert refused.status == 401
        async with http.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token"}) as ok:
            assert ok.status == 200
        [reply] = await eventually(lambda: texts_in(fake_telegram, ALICE))
    assert "не похоже на идентификатор arXiv" in reply
    [webhook_call] = fake_telegram.calls("setWebhook")
    assert webhook_call.params["secret_token"] == "s3cret-Token"
    assert {"message", "message_reaction_count"} <= set(webhook_call.params["allowed_updates"])  # channel reactions


async def test_webhook_without_secret_is_refused(bot_settings) -> None:
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET is not"):
        await bot_app(bot_settings.replace(WEBHOOK_URL="https://bot.example/hook")).run()


async def test_a_handler_that_fails_answers_one_russian_sentence(bot_settings, fake_telegram, caplog) -> None:
    """Handling runs in the durable inbox's own task: its failure still reaches the errors handler."""
    fake_telegram.fail_next("sendMessage", status=500)  # the answer to /latest is refused
    async with running(bot_settings):
        fake_telegram.push_message(ALICE, ALICE, "/latest")
        [reply] = await eventually(lambda: texts_in(fake_telegram, ALICE))
    assert reply == "Что-то пошло не так; попробуйте ещё раз чуть позже."
    assert any("update" in r.message and "failed" in r.message for r in caplog.records if r.levelname == "ERROR")
