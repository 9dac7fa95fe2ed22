"""The chat ids of the bot conversations and the helpers that run the real bot and read what
it sent: `async with running(settings): ...`, `await eventually(check)`, `texts_in(fake, chat)`,
and readers' reactions to channel posts, `await react(fake, settings, {message_id: counts})`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from bot.app import BotApp
from paperdigest.db import Database
from paperdigest.models import InboxUpdate
from paperdigest.settings import Settings
from paperdigest.wiring import bot_app
from tests.fakes.telegram import FakeTelegram

CHANNEL = -1001234567890
ADMIN, ALICE, BOB = 1, 1001, 1002


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[BotApp]:
    app = bot_app(settings)
    task = asyncio.create_task(app.run())
    try:
        await asyncio.wait_for(app.ready.wait(), 15)
        yield app
    finally:
        await app.stop()
        await asyncio.wait_for(task, 15)


async def eventually(check: Callable[[], object], timeout: float = 15.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not met in {timeout} s: {check}")


def texts_in(fake: FakeTelegram, chat_id: int) -> list[str]:
    return [m.text or "" for m in fake.messages_in(chat_id)]


def review_messages(fake: FakeTelegram, chat_id: int) -> list:
    """The bot's messages carrying a review (rich, or classic parts with the header)."""
    return [m for m in fake.messages_in(chat_id) if m.rich is not None or "Статья:" in (m.text or "")]


async def answer_to(fake: FakeTelegram, chat: int, text: str) -> str:
    """Send `text` as the chat's user and wait for the bot's next message there."""
    count = len(texts_in(fake, chat))
    fake.push_message(chat, chat, text)
    return (await eventually(lambda: texts_in(fake, chat)[count:]))[0]


def handled(settings: Settings, *update_ids: int) -> bool:
    """The bot's inbox has handled these updates (and none of them failed)."""
    db = Database(settings.DATABASE_URL)
    with db.read() as session:
        rows = [session.get(InboxUpdate, i) for i in update_ids]
        done = all(r is not None and r.status != "received" for r in rows)
        errors = [r.error for r in rows if r is not None and r.error]
    db.close()
    assert not errors, errors
    return done


async def react(fake: FakeTelegram, settings: Settings, counts: dict[int, dict[str, int]]) -> None:
    """Readers react to the channel's messages: one `message_reaction_count` update per message,
    handled by the running bot before this returns."""
    ids = [fake.push_reaction_count(CHANNEL, message_id, emoji) for message_id, emoji in counts.items()]
    await eventually(lambda: handled(settings, *ids))
