"""Personal subscriptions, whole conversations: the real bot against the fake Bot API, arXiv and LLM.

A reader subscribes (category, author, phrase), lists and removes rules by button or command,
chooses instant or daily delivery; a published review reaches each matching reader once,
a failed one never, on a bot with a channel or without one (nothing posted, subscribers still
served), and a reader who blocked the bot is unsubscribed.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot import relay as relay_module
from bot import texts
from paperdigest.models import OutboxMessage, Subscriber, SubscriptionRule, utcnow
from tests.fakes.llm import russian_review
from tests.support.bot import ADMIN, ALICE, BOB, CHANNEL, answer_to, eventually, review_messages, running, texts_in
from tests.support.papers import PAPER_ID, rows

CAROL, DAVE = 1003, 1004
INVENTED = "\n\nТочность выросла до 99,9 %, чего в статье нет."  # a result the paper does not have


def invents(request: dict) -> str:
    return russian_review(request) + INVENTED


def shown(message) -> str:
    return message.rich["html"] if message.rich is not None else message.source or message.text or ""


async def test_subscribe_list_remove_by_button_and_unsubscribe(bot_settings, fake_telegram) -> None:
    async with running(bot_settings):
        added = await answer_to(fake_telegram, ALICE, "/subscribe cs.CL")
        assert "Подписка добавлена: категория cs.CL" in added and "придут сразу" in added
        added = await answer_to(fake_telegram, ALICE, "/subscribe автор: Yuntian Deng")
        assert "автор Yuntian Deng" in added
        assert "фраза latent reasoning" in await answer_to(fake_telegram, ALICE, "/subscribe latent reasoning")
        assert "уже есть" in await answer_to(fake_telegram, ALICE, "/subscribe CS.cl")

        listing = await answer_to(fake_telegram, ALICE, "/subscriptions")
        assert all(s in listing for s in ("категория cs.CL", "автор Yuntian Deng", "фраза latent reasoning"))
        message = fake_telegram.messages_in(ALICE)[-1]
        buttons = [row[0] for row in message.reply_markup["inline_keyboard"]]
        assert [b["text"] for b in buttons] == ["✖ cs.CL", "✖ Yuntian Deng", "✖ latent reasoning"]

        fake_telegram.push_callback(ALICE, ALICE, message.message_id, buttons[1]["callback_data"])
        await eventually(lambda: "Yuntian" not in (fake_telegram.messages_in(ALICE)[-1].text or ""))
        edited = fake_telegram.messages_in(ALICE)[-1]
        assert edited.message_id == message.message_id and "категория cs.CL" in edited.text
        assert len(edited.reply_markup["inline_keyboard"]) == 2
        [answered] = fake_telegram.calls("answerCallbackQuery")
        assert answered.params["text"] == texts.BUTTON_REMOVED

        assert "убрана: фраза latent reasoning" in await answer_to(
            fake_telegram, ALICE, "/unsubscribe Latent  Reasoning"
        )
        assert "нет" in await answer_to(fake_telegram, ALICE, "/unsubscribe stat.ML")
        assert "Все подписки убраны (1)" in await answer_to(fake_telegram, ALICE, "/unsubscribe все")
        assert "Подписок пока нет" in await answer_to(fake_telegram, ALICE, "/subscriptions")
        other = await answer_to(fake_telegram, BOB, "/subscriptions")  # nobody else's rules are shown
    assert "Подписок пока нет" in other


@pytest.mark.parametrize(
    "command, expected",
    [
        ("/subscribe", "Чтобы подписаться"),
        ("/subscribe автор: Deng", "имя и фамилию"),
        ("/subscribe категория: cats.dogs", "не похоже на категорию arXiv"),
        ("/subscribe ab", "слишком короткое"),
        ("/subscribe латентное рассуждение", "по-английски"),  # the title and abstract are in English
        ("/digest weekly", "Не понимаю «weekly»"),
        ("/digest daily 25:00", "«25:00» — не время"),
        ("/unsubscribe", "как при подписке"),
    ],
)
async def test_bad_input_says_what_was_wrong_and_what_to_write(bot_settings, fake_telegram, command, expected) -> None:
    async with running(bot_settings):
        answer = await answer_to(fake_telegram, ALICE, command)
    assert expected in answer and "/" in answer  # and an example to follow


async def test_digest_modes(bot_settings, fake_telegram) -> None:
    async with running(bot_settings):
        shown_help = await answer_to(fake_telegram, ALICE, "/help")
        assert all(command in shown_help for command in ("/subscribe", "/subscriptions", "/unsubscribe", "/digest"))
        assert "Подписок пока нет" in await answer_to(fake_telegram, ALICE, "/digest")
        await answer_to(fake_telegram, ALICE, "/subscribe cs.CL")
        now = await answer_to(fake_telegram, ALICE, "/digest")
        assert "придут сразу" in now and "/digest daily 20:30" in now  # the mode now, and how to change it
        assert "раз в день, в 09:00 по Москве" in await answer_to(fake_telegram, ALICE, "/digest daily")  # by default
        assert "раз в день, в 20:30 по Москве" in await answer_to(fake_telegram, ALICE, "/digest daily 20:30")
        assert "20:30 по Москве" in await answer_to(fake_telegram, ALICE, "/subscriptions")
        assert "в 20:30 по Москве" in await answer_to(fake_telegram, ALICE, "/digest ежедневно")  # the time is kept
        assert "выключено" in await answer_to(fake_telegram, ALICE, "/digest off")
        assert "придут сразу" in await answer_to(fake_telegram, ALICE, "/digest instant")
        group = await answer_to(fake_telegram, -100777, "/subscribe cs.CL")
    assert "в личном чате" in group
    [reader] = rows(bot_settings, Subscriber)
    assert (reader.user_id, reader.mode, reader.digest_minute) == (ALICE, "instant", 20 * 60 + 30)


async def test_a_published_review_reaches_each_matching_reader_once(bot_settings, fake_telegram) -> None:
    async with running(bot_settings.replace(PUBLISH_USER_REVIEWS=True)):
        await answer_to(fake_telegram, ALICE, "/subscribe continuous latent space")  # in the paper's title
        await answer_to(fake_telegram, CAROL, "/subscribe автор: Yuandong Tian")
        await answer_to(fake_telegram, DAVE, "/subscribe cs.CV")  # not the paper's
        fake_telegram.push_message(BOB, BOB, f"/review {PAPER_ID}")
        await eventually(lambda: review_messages(fake_telegram, ALICE) and review_messages(fake_telegram, CAROL), 20)
        await eventually(lambda: fake_telegram.messages_in(CHANNEL))
        fake_telegram.push_message(ADMIN, ADMIN, f"/regenerate {PAPER_ID}")  # a second review, same version
        await eventually(lambda: review_messages(fake_telegram, ADMIN), 20)
        fake_telegram.push_message(BOB, BOB, f"/review {PAPER_ID}")  # asked for again
        await eventually(lambda: len(review_messages(fake_telegram, BOB)) == 2)
        await asyncio.sleep(0.5)
    [alice] = review_messages(fake_telegram, ALICE)
    [carol] = review_messages(fake_telegram, CAROL)
    assert "По вашей подписке: continuous latent space" in shown(alice)
    assert "По вашей подписке: Yuandong Tian" in shown(carol) and "Training Large Language Models" in shown(carol)
    assert review_messages(fake_telegram, DAVE) == []


async def test_a_failed_review_reaches_no_subscriber_even_once_approved(bot_settings, fake_telegram, fake_llm) -> None:
    fake_llm.responder = invents
    async with running(bot_settings.replace(PUBLISH_USER_REVIEWS=True)):
        await answer_to(fake_telegram, ALICE, "/subscribe cs.CL")
        fake_telegram.push_message(BOB, BOB, f"/review {PAPER_ID}")
        await eventually(lambda: review_messages(fake_telegram, BOB), 20)
        [held] = [r for r in rows(bot_settings, OutboxMessage) if r.kind == "reply"]
        await answer_to(fake_telegram, ADMIN, f"/approve {held.review_id}")
        await eventually(lambda: fake_telegram.messages_in(CHANNEL))
        await asyncio.sleep(0.5)
    assert review_messages(fake_telegram, ALICE) == []
    assert [r.kind for r in rows(bot_settings, OutboxMessage) if r.kind.startswith("sub")] == []


async def test_a_bot_with_no_channel_still_sends_subscribers_what_it_would_publish(bot_settings, fake_telegram) -> None:
    async with running(bot_settings.replace(CHANNEL_ID=None, PUBLISH_USER_REVIEWS=True)):
        await answer_to(fake_telegram, ALICE, "/subscribe continuous latent space")
        fake_telegram.push_message(BOB, BOB, f"/review {PAPER_ID}")
        await eventually(lambda: review_messages(fake_telegram, ALICE), 20)
        fake_telegram.push_message(CAROL, CAROL, f"/review {PAPER_ID}")  # the same version asked for again
        await eventually(lambda: review_messages(fake_telegram, CAROL), 20)
        await asyncio.sleep(0.5)
    [alice] = review_messages(fake_telegram, ALICE)  # once per paper version
    assert "По вашей подписке: continuous latent space" in shown(alice)
    assert fake_telegram.messages_in(CHANNEL) == []


async def test_a_bot_with_no_channel_sends_no_subscriber_a_failed_review(bot_settings, fake_telegram, fake_llm) -> None:
    fake_llm.responder = invents
    async with running(bot_settings.replace(CHANNEL_ID=None, PUBLISH_USER_REVIEWS=True)):
        await answer_to(fake_telegram, ALICE, "/subscribe cs.CL")
        fake_telegram.push_message(BOB, BOB, f"/review {PAPER_ID}")
        await eventually(lambda: review_messages(fake_telegram, BOB), 20)
        await asyncio.sleep(0.5)
    assert review_messages(fake_telegram, ALICE) == []
    assert [r.kind for r in rows(bot_settings, OutboxMessage) if r.kind.startswith("sub")] == []


async def test_a_reader_who_blocked_the_bot_is_unsubscribed_not_retried(bot_settings, fake_telegram) -> None:
    async with running(bot_settings.replace(PUBLISH_USER_REVIEWS=True)):
        await answer_to(fake_telegram, ALICE, "/subscribe cs.CL")
        await answer_to(fake_telegram, ALICE, "/subscribe cs.AI")
        await answer_to(fake_telegram, CAROL, "/subscribe cs.CL")
        fake_telegram.forbid(ALICE)
        fake_telegram.push_message(BOB, BOB, f"/review {PAPER_ID}")
        await eventually(lambda: review_messages(fake_telegram, CAROL), 20)
        await eventually(lambda: not rows(bot_settings, SubscriptionRule, SubscriptionRule.user_id == ALICE))
        await asyncio.sleep(0.3)
    [refused] = [r for r in rows(bot_settings, OutboxMessage) if r.chat_id == str(ALICE) and r.kind == "subscription"]
    assert refused.status == "failed" and "blocked" in refused.error
    tries = [c for c in fake_telegram.calls("sendRichMessage") if str(c.params.get("chat_id")) == str(ALICE)]
    assert len(tries) == 1  # tried once, not retried
    assert rows(bot_settings, Subscriber, Subscriber.user_id == ALICE) == []
    assert [r.user_id for r in rows(bot_settings, SubscriptionRule)] == [CAROL]


async def test_a_daily_reader_gets_one_digest_at_their_time(bot_settings, fake_telegram, monkeypatch) -> None:
    monkeypatch.setattr(relay_module, "DIGEST_CHECK_S", 0.1)
    moscow = utcnow().astimezone(texts.MOSCOW) - timedelta(minutes=1)
    due = "00:00" if moscow.date() != utcnow().astimezone(texts.MOSCOW).date() else moscow.strftime("%H:%M")
    async with running(bot_settings.replace(PUBLISH_USER_REVIEWS=True)):
        await answer_to(fake_telegram, ALICE, "/subscribe cs.CL")
        assert f"в {due} по Москве" in await answer_to(fake_telegram, ALICE, f"/digest daily {due}")
        fake_telegram.push_message(BOB, BOB, f"/review {PAPER_ID}")
        digest = await eventually(lambda: [t for t in texts_in(fake_telegram, ALICE) if t.startswith("🔔")], 20)
        await asyncio.sleep(0.5)  # several daily checks later: still one digest
    assert len(digest) == 1 and "Новые рецензии по вашим подпискам: 1" in digest[0]
    assert f"/paper {PAPER_ID} — по подписке: cs.CL" in digest[0] and "Training Large Language Models" in digest[0]
    assert review_messages(fake_telegram, ALICE) == []  # the list, not the review itself
