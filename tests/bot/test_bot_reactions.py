"""Readers' reactions to channel posts, through the real bot and the fake Bot API: the bot
asks Telegram for `message_reaction_count` updates and keeps the latest counts of each post;
what is not one of the channel's posts is ignored without a word."""

from __future__ import annotations

import time

import pytest
from aiogram.types import Chat
from sqlalchemy import select

from bot.reactions import is_channel
from paperdigest.db import Database
from paperdigest.models import OutboxMessage, PostReaction
from paperdigest.settings import Settings
from tests.fakes.telegram import FakeTelegram
from tests.support.bot import ADMIN, ALICE, CHANNEL, eventually, handled, running, texts_in
from tests.support.papers import PAPER_ID

GROUP = -1009876543210


def reactions(settings: Settings) -> dict[int, tuple[str, int, dict[str, int]]]:
    db = Database(settings.DATABASE_URL)
    with db.read() as session:
        found = {r.message_id: (r.arxiv_id, r.total, r.counts) for r in session.scalars(select(PostReaction))}
    db.close()
    return found


def mark_parts(settings: Settings, message_ids: list[int]) -> None:
    db = Database(settings.DATABASE_URL)
    with db.session() as session, session.begin():
        session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "channel")).one().message_ids = message_ids
    db.close()


def channel_post(settings: Settings) -> OutboxMessage:
    db = Database(settings.DATABASE_URL)
    with db.read() as session:
        [post] = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "channel"))
    db.close()
    return post


@pytest.mark.parametrize(
    "channel_id, chat, same",
    [
        ("@digest_test", Chat(id=CHANNEL, type="channel", username="Digest_Test"), True),
        ("@digest_test", Chat(id=CHANNEL, type="channel"), False),
        (str(CHANNEL), Chat(id=CHANNEL, type="channel", username="digest_test"), True),
        (str(CHANNEL), Chat(id=GROUP, type="supergroup"), False),
    ],
)
def test_the_channel_is_known_by_its_name_or_its_id(channel_id: str, chat: Chat, same: bool) -> None:
    assert is_channel(chat, channel_id) is same


async def test_reaction_counts_of_a_channel_post_are_kept_latest_first(
    bot_settings, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.add_chat(GROUP, type="supergroup", title="Обсуждение")
    settings = bot_settings
    now = int(time.time())
    async with running(settings):
        fake_telegram.push_message(ADMIN, ADMIN, f"/post {PAPER_ID}")
        await eventually(lambda: fake_telegram.messages_in(CHANNEL), timeout=20)
        await eventually(lambda: channel_post(settings).status == "sent")
        [first] = [m.message_id for m in fake_telegram.messages_in(CHANNEL)]
        last = 2_147_483_649  # a second part of the post (a classic post has several)
        mark_parts(settings, [first, last])
        ids = [
            fake_telegram.push_reaction_count(CHANNEL, first, {"👍": 5, "🔥": 2}, date=now - 60),
            fake_telegram.push_reaction_count(CHANNEL, last, {"❤": 1}, date=now - 60),
            fake_telegram.push_reaction_count(CHANNEL, 99_999, {"👍": 7}, date=now - 60),  # no post of ours
            fake_telegram.push_reaction_count(GROUP, first, {"👍": 9}, date=now - 60),  # another chat
        ]
        await eventually(lambda: handled(settings, *ids))
        assert reactions(settings) == {first: (PAPER_ID, 7, {"👍": 5, "🔥": 2}), last: (PAPER_ID, 1, {"❤": 1})}
        newer = fake_telegram.push_reaction_count(CHANNEL, first, {"👍": 6}, date=now)  # one 🔥 taken back
        older = fake_telegram.push_reaction_count(CHANNEL, last, {"❤": 0}, date=now - 120)  # arrived late
        await eventually(lambda: handled(settings, newer, older))
    assert reactions(settings) == {first: (PAPER_ID, 6, {"👍": 6}), last: (PAPER_ID, 1, {"❤": 1})}
    asked = [call.params.get("allowed_updates") for call in fake_telegram.calls("getUpdates")]
    assert asked and all("message_reaction_count" in a and "message" in a for a in asked)
    assert fake_telegram.messages_in(GROUP) == [] and fake_telegram.messages_in(ALICE) == []


async def test_admins_help_tells_what_candidates_shows(bot_settings, fake_telegram: FakeTelegram) -> None:
    async with running(bot_settings):
        fake_telegram.push_message(ADMIN, ADMIN, "/help")
        fake_telegram.push_message(ALICE, ALICE, "/help")
        await eventually(lambda: texts_in(fake_telegram, ADMIN) and texts_in(fake_telegram, ALICE))
    [admin_help], [reader_help] = texts_in(fake_telegram, ADMIN), texts_in(fake_telegram, ALICE)
    assert "/candidates — кандидаты наблюдателя" in admin_help and "понравившийся читателям (по реакциям)" in admin_help
    assert "/candidates" not in reader_help
