"""Subscribers' messages through the real relay and the fake Bot API: a flood of them never
holds a channel post back (priority), and a crash mid-broadcast sends nobody a message twice."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter

import pytest
from sqlalchemy import select

from bot.relay import OutboxRelay
from paperdigest import fanout, outbox
from paperdigest import subscriptions as subs
from paperdigest.db import Database
from paperdigest.models import OutboxMessage, Paper, Review
from paperdigest.settings import Settings
from tests.fakes.telegram import FakeTelegram
from tests.support.bot import CHANNEL, eventually
from tests.support.reviews import stored_review

READERS = range(5001, 5041)  # 40 readers, each in their own private chat
MARKDOWN = "# A Title\n\nA. Author  \nСтатья: https://arxiv.org/abs/2412.06769\n\n**TL;DR:** Коротко.\n"


@pytest.fixture
def db(settings: Settings, fake_telegram: FakeTelegram):
    database = Database(settings.DATABASE_URL)
    with database.session() as session, session.begin():
        session.add(Paper(arxiv_id="2412.06769", title="A Title", categories=["cs.CL"], primary_category="cs.CL"))
        session.flush()
        stored_review(session, "2412.06769", id=1, markdown=MARKDOWN)
        for reader in READERS:
            subs.add_rule(session, reader, str(reader), subs.category_rule("cs.CL"))
            fake_telegram.add_chat(reader, type="private")
    fake_telegram.add_chat(CHANNEL, type="channel")
    yield database
    database.close()


def fan_out(db: Database) -> int:
    with db.session() as session, session.begin():
        return fanout.queue_for_subscribers(session, session.get(Review, 1))


def to_readers(fake: FakeTelegram) -> Counter[str]:
    return Counter(d.chat_id for d in fake.delivered("sendRichMessage") if d.chat_id != str(CHANNEL))


async def test_a_subscriber_flood_does_not_delay_a_channel_post(db, settings, fake_telegram, telegram_bot) -> None:
    fake_telegram.limit_sends(30.0)  # Telegram's limit per bot
    assert fan_out(db) == len(READERS)
    relay = OutboxRelay(telegram_bot, db, settings.replace(CHAT_REPLY_INTERVAL_S=1.0, CHANNEL_POST_INTERVAL_S=0.0))
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await eventually(lambda: sum(to_readers(fake_telegram).values()) >= 5)
        with db.session() as session, session.begin():
            outbox.enqueue(session, kind="channel", chat_id=str(CHANNEL), arxiv_id="2412.06769", version=1, review_id=1)
        relay.wake()
        queued_at = time.monotonic()
        await eventually(lambda: fake_telegram.messages_in(CHANNEL))
        waited, readers_by_then = time.monotonic() - queued_at, sum(to_readers(fake_telegram).values())
        await eventually(lambda: sum(to_readers(fake_telegram).values()) == len(READERS), timeout=20)
    finally:
        stop.set()
        await task
    assert waited < 0.5 and readers_by_then < len(READERS)  # posted in the middle of the flood
    assert set(to_readers(fake_telegram).values()) == {1}  # every reader got it, once
    assert fake_telegram.refused() == []  # paced under the limit: no 429


async def test_a_broadcast_interrupted_by_a_crash_reaches_nobody_twice(
    db, settings, fake_telegram, telegram_bot
) -> None:
    assert fan_out(db) == len(READERS)
    fast = settings.replace(CHAT_REPLY_INTERVAL_S=0.0)
    crashing = asyncio.create_task(OutboxRelay(telegram_bot, db, fast).deliver_due())
    await eventually(lambda: sum(to_readers(fake_telegram).values()) >= 10)
    crashing.cancel()  # the process dies mid-broadcast: no lease handed back, a row mid-send
    with contextlib.suppress(asyncio.CancelledError):
        await crashing
    assert fan_out(db) == 0  # published again after the restart: nobody is queued twice
    restarted = OutboxRelay(telegram_bot, db, fast)
    restarted.recover()
    await restarted.deliver_due()
    with db.read() as session:
        statuses = Counter(session.scalars(select(OutboxMessage.status)))
    delivered = to_readers(fake_telegram)
    assert set(delivered.values()) == {1}  # nobody twice
    assert set(statuses) <= {"sent", "unknown"} and statuses["sent"] + statuses["unknown"] == len(READERS)
    assert statuses["sent"] <= len(delivered) <= len(READERS)  # an unknown one may have arrived: never resent


async def test_a_review_dropped_after_its_fan_out_reaches_no_reader(db, settings, fake_telegram, telegram_bot) -> None:
    assert fan_out(db) == len(READERS)
    with db.session() as session, session.begin():
        session.get(Review, 1).moderation = "dropped"  # an admin's /drop while the broadcast waited
    await OutboxRelay(telegram_bot, db, settings.replace(CHAT_REPLY_INTERVAL_S=0.0)).deliver_due()
    with db.read() as session:
        statuses = Counter(session.scalars(select(OutboxMessage.status)))
    assert to_readers(fake_telegram) == Counter() and statuses == {"failed": len(READERS)}
