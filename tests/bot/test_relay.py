"""The outbox relay against the fake Bot API: fallbacks and failures, one row at a time."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import relay as relay_module
from bot import store
from bot.relay import OutboxRelay
from paperdigest import leases, outbox
from paperdigest.db import Database
from paperdigest.models import Lease, OutboxMessage, Paper, Question, Review, utcnow
from paperdigest.settings import Settings
from tests.fakes.telegram import FakeTelegram
from tests.support.reviews import stored_review

CHAT = 4242
MARKDOWN = (
    "# A Title\n\nA. Author  \nСтатья: https://arxiv.org/abs/2412.06769\n\n**TL;DR:** Коротко.\n\n"
    "## Суть\n\nТекст с формулой $x^2$.\n"
)


@pytest.fixture
def db(settings: Settings) -> Database:
    database = Database(settings.DATABASE_URL)
    with database.session() as session, session.begin():
        session.add(Paper(arxiv_id="2412.06769", title="A Title"))
        session.flush()
        stored_review(session, "2412.06769", id=1, markdown=MARKDOWN)
    yield database
    database.close()


def queue(db: Database, **fields) -> int:
    with db.session() as session, session.begin():
        row = outbox.enqueue(
            session,
            **{"kind": "reply", "chat_id": str(CHAT), "arxiv_id": "2412.06769", "version": 1, "review_id": 1, **fields},
        )
        session.flush()
        return row.id


def row(db: Database, row_id: int) -> OutboxMessage:
    with db.read() as session:
        return session.scalars(select(OutboxMessage).where(OutboxMessage.id == row_id)).one()


async def test_unparsable_html_falls_back_to_plain_text(
    db, settings, fake_telegram: FakeTelegram, telegram_bot, monkeypatch, caplog
) -> None:
    fake_telegram.add_chat(CHAT, type="private")
    monkeypatch.setattr(relay_module, "classic_messages", lambda markdown, site_url: ["<b>broken <i>nesting</b>"])
    row_id = queue(db)
    await OutboxRelay(telegram_bot, db, settings.replace(POST_FORMAT="classic")).send_due()
    sent = row(db, row_id)
    assert sent.status == "sent" and len(sent.message_ids) == 1
    [message] = fake_telegram.messages_in(CHAT)
    assert message.parse_mode is None and "A Title" in message.text and "x²" in message.text
    assert "sending plain text" in caplog.text


async def test_blocked_user_fails_for_good_without_retries(db, settings, fake_telegram, telegram_bot) -> None:
    fake_telegram.add_chat(CHAT, type="private")
    fake_telegram.forbid(CHAT)
    row_id = queue(db)
    relay = OutboxRelay(telegram_bot, db, settings)
    await relay.send_due()
    await relay.send_due()
    failed = row(db, row_id)
    assert failed.status == "failed" and "blocked" in failed.error
    assert len(fake_telegram.calls("sendRichMessage")) == 1


async def test_a_429_pauses_every_send_not_only_that_chats(db, settings, fake_telegram, telegram_bot) -> None:
    """Telegram's 429 may be the bot's overall limit: the relay sends nothing, to any chat,
    until retry_after has passed (sending on only earned more 429s)."""
    other = CHAT + 1
    for chat in (CHAT, other):
        fake_telegram.add_chat(chat, type="private")
    fake_telegram.flood_next("sendRichMessage", retry_after=30)
    first = queue(db)
    with db.session() as session, session.begin():
        queued = outbox.enqueue(
            session, kind="reply", chat_id=str(other), arxiv_id="2412.06769", version=1, review_id=1
        )
        session.flush()
        second = queued.id
    now = [0.0]
    relay = OutboxRelay(telegram_bot, db, settings, clock=lambda: now[0])
    assert await relay.send_due() == 1
    assert [row(db, first).status, row(db, second).status] == ["pending", "pending"]
    assert len(fake_telegram.calls("sendRichMessage")) == 1
    now[0] = 31.0
    with db.session() as session, session.begin():
        session.get(OutboxMessage, first).not_before = None  # as if the wall clock had moved too
    await relay.send_due()
    assert [row(db, first).status, row(db, second).status] == ["sent", "sent"]


async def test_server_error_is_retried_later_and_sent_once(db, settings, fake_telegram, telegram_bot) -> None:
    fake_telegram.add_chat(CHAT, type="private")
    fake_telegram.fail_next("sendRichMessage", status=500)
    row_id = queue(db)
    relay = OutboxRelay(telegram_bot, db, settings)
    await relay.send_due()
    waiting = row(db, row_id)
    assert waiting.status == "pending" and waiting.attempts == 1 and waiting.not_before is not None
    with db.session() as session, session.begin():
        session.get(OutboxMessage, row_id).not_before = None  # as if the back-off had passed
    relay._next_at.clear()
    await relay.send_due()
    assert row(db, row_id).status == "sent" and len(fake_telegram.messages_in(CHAT)) == 1


async def test_send_interrupted_after_the_request_left_becomes_unknown_and_is_never_resent(
    db, settings, fake_telegram, telegram_bot
) -> None:
    fake_telegram.add_chat(CHAT, type="private")
    row_id = queue(db)
    with db.session() as session, session.begin():
        session.get(OutboxMessage, row_id).status = "in_flight"  # a crash between request and answer
    relay = OutboxRelay(telegram_bot, db, settings)
    assert relay.recover() == 1
    await relay.send_due()
    assert row(db, row_id).status == "unknown"
    # the review is not sent again; its requester is told how to get it, in case it never arrived
    assert [c.method for c in fake_telegram.requests] == ["sendMessage"]
    [notice] = [m.text for m in fake_telegram.messages_in(CHAT)]
    assert "возможно, она не дошла" in notice and notice.endswith("/paper 2412.06769")


async def test_an_interrupted_channel_post_waits_for_an_admin_with_no_notice(
    db, settings, fake_telegram, telegram_bot
) -> None:
    row_id = queue(db, kind="channel", chat_id="-1001234567890")
    with db.session() as session, session.begin():
        session.get(OutboxMessage, row_id).status = "in_flight"
    relay = OutboxRelay(telegram_bot, db, settings)
    assert relay.recover() == 1
    await relay.send_due()
    assert row(db, row_id).status == "unknown" and fake_telegram.requests == []


async def test_send_interrupted_before_the_request_left_is_sent_once_after_restart(
    db, settings, fake_telegram, telegram_bot
) -> None:
    fake_telegram.add_chat(CHAT, type="private")
    row_id = queue(db)
    with db.session() as session, session.begin():
        session.get(OutboxMessage, row_id).status = "sending"  # a crash after marking, before the request
    relay = OutboxRelay(telegram_bot, db, settings)
    assert relay.recover() == 0
    await relay.send_due()
    assert row(db, row_id).status == "sent" and len(fake_telegram.messages_in(CHAT)) == 1


async def test_a_request_that_left_is_marked_in_flight_before_its_answer(
    db, settings, fake_telegram, telegram_bot
) -> None:
    """The row says in_flight while Telegram holds the answer; a timeout then means unknown, not resend."""
    fake_telegram.add_chat(CHAT, type="private")
    fake_telegram.delay_next("sendRichMessage", 3.0)
    row_id = queue(db)
    relay = OutboxRelay(telegram_bot, db, settings)
    sending = asyncio.create_task(relay.send_due())
    deadline = asyncio.get_running_loop().time() + 5
    while row(db, row_id).status != "in_flight":
        assert asyncio.get_running_loop().time() < deadline, row(db, row_id).status
        await asyncio.sleep(0.02)
    await sending
    assert row(db, row_id).status == "sent" and len(fake_telegram.messages_in(CHAT)) == 1


def set_review(db: Database, **columns) -> None:
    with db.session() as session, session.begin():
        review = session.get(Review, 1)
        for name, value in columns.items():
            setattr(review, name, value)


@pytest.mark.parametrize(
    ("moderation", "why"),
    [
        (None, "review 1 failed the number check and no admin approved it (/approve 1)"),  # queued before the gate
        ("waiting", "review 1 failed the number check and no admin approved it (/approve 1)"),
        ("dropped", "review 1 was dropped by an admin; /regenerate 2412.06769, then /post it"),  # dropped once queued
    ],
)
async def test_a_channel_post_whose_review_may_not_be_posted_is_held_at_send_time(
    db, settings, fake_telegram, telegram_bot, caplog, moderation, why
) -> None:
    channel = "-100777"
    fake_telegram.add_chat(int(channel), type="channel", title="Digest")
    fake_telegram.add_chat(CHAT, type="private")
    post = queue(db, kind="channel", chat_id=channel)
    reply = queue(db)  # the requester's copy of the same review still goes out (warned: bot/trust.py)
    set_review(db, validation="failed", moderation=moderation)
    relay = OutboxRelay(telegram_bot, db, settings)
    assert await relay.send_due() == 2
    held = row(db, post)
    assert (held.status, held.error, held.message_ids) == ("held", f"not posted: {why}", [])
    assert fake_telegram.messages_in(int(channel)) == [] and row(db, reply).status == "sent"
    assert f"outbox {post} (channel, 2412.06769) not sent to {channel}: {why}" in caplog.text
    with db.read() as session:
        assert post in [p.id for p in store.pending_overview(session)[1]]  # /pending lists it
        assert not outbox.channel_post_exists(session, channel, "2412.06769", 1)  # /drop, /post: not in the channel
    await relay.send_due()
    assert row(db, post).status == "held"  # never picked up again by itself


async def test_an_approved_failed_review_is_posted(db, settings, fake_telegram, telegram_bot) -> None:
    channel = "-100777"
    fake_telegram.add_chat(int(channel), type="channel", title="Digest")
    post = queue(db, kind="channel", chat_id=channel)
    set_review(db, validation="failed", moderation="approved")
    await OutboxRelay(telegram_bot, db, settings).send_due()
    assert row(db, post).status == "sent" and len(fake_telegram.messages_in(int(channel))) == 1


# --- several relays on one database (one webhook instance each, or a cron `watch --once`) -------


def other_relay(telegram_bot, db: Database, settings: Settings, holder: str) -> OutboxRelay:
    relay = OutboxRelay(telegram_bot, db, settings)
    relay.holder = holder  # as a process on another host would be
    return relay


async def test_one_relay_sends_while_another_stands_by_and_takes_over_when_it_stops(
    db, settings, fake_telegram, telegram_bot
) -> None:
    fake_telegram.add_chat(CHAT, type="private")
    first = other_relay(telegram_bot, db, settings, "host-a:1")
    second = other_relay(telegram_bot, db, settings, "host-b:2")
    assert first.recover() == 0 and first.holding
    assert second.recover() == 0 and not second.holding  # host-a holds the relay lease
    queue(db)
    assert await second.send_due() == 0 and fake_telegram.requests == []
    assert await first.send_due() == 1 and len(fake_telegram.messages_in(CHAT)) == 1

    stop = asyncio.Event()
    stop.set()
    await first.run(stop)  # a clean stop hands the lease back at once
    late = queue(db)
    assert await second.send_due() == 1 and second.holding
    assert row(db, late).status == "sent" and len(fake_telegram.messages_in(CHAT)) == 2


async def test_a_relay_whose_lease_was_taken_over_sends_nothing_more(db, settings, fake_telegram, telegram_bot) -> None:
    """host-a stalled past its lease (a frozen VM); host-b took over and recovered host-a's
    claimed row. When host-a wakes up it neither claims nor sends: every row goes out once."""
    fake_telegram.add_chat(CHAT, type="private")
    stalled = other_relay(telegram_bot, db, settings, "host-a:1")
    assert stalled.hold()
    row_id = queue(db)
    with db.session() as session, session.begin():
        session.get(OutboxMessage, row_id).status = "sending"  # host-a had claimed it, then froze
        session.get(Lease, leases.RELAY).expires_at = utcnow() - timedelta(seconds=1)
    taker = other_relay(telegram_bot, db, settings, "host-b:2")
    assert taker.recover() == 0 and row(db, row_id).status == "pending"  # the claim is undone, not lost
    with db.session() as session, session.begin():
        session.get(OutboxMessage, row_id).status = "sending"  # host-b claims it: its request is about to leave
    with pytest.raises(leases.LeaseLost):
        stalled._mark_sending(row_id)  # host-a, waking up inside its send: the row is not its to send
    assert await stalled.send_due() == 0 and not stalled.holding
    assert fake_telegram.requests == []
    with db.session() as session, session.begin():
        session.get(OutboxMessage, row_id).status = "pending"
    assert await taker.send_due() == 1 and len(fake_telegram.messages_in(CHAT)) == 1


def question(db: Database) -> int:
    with db.session() as session, session.begin():
        asked = Question(user_id=CHAT, chat_id=CHAT, arxiv_id="2412.06769", question="Точность?", answer="97,0%")
        session.add(asked)
        session.flush()
        return asked.id


async def test_an_answer_replies_to_its_question_and_is_recorded_on_it(
    db, settings, fake_telegram, telegram_bot
) -> None:
    fake_telegram.add_chat(CHAT, type="private")
    question_id = question(db)
    queue(db, kind=outbox.ANSWER, review_id=None, question_id=question_id, reply_to=7, text="💬 97,0%")
    await OutboxRelay(telegram_bot, db, settings).send_due()  # message 7 never existed: sent anyway, unthreaded
    queue(db, kind=outbox.ANSWER, review_id=None, question_id=question_id, reply_to=1, text="💬 ещё")
    await OutboxRelay(telegram_bot, db, settings).send_due()
    first, second = fake_telegram.messages_in(CHAT)
    assert (first.text, first.reply_to) == ("💬 97,0%", None) and (second.text, second.reply_to) == ("💬 ещё", 1)
    with db.read() as session:
        assert session.get(Question, question_id).answer_message_id == second.message_id


async def test_an_answer_interrupted_mid_send_is_not_resent_and_the_reader_is_told_to_ask_again(
    db, settings, fake_telegram, telegram_bot
) -> None:
    fake_telegram.add_chat(CHAT, type="private")
    row_id = queue(db, kind=outbox.ANSWER, review_id=None, question_id=question(db), reply_to=1, text="💬 97,0%")
    with db.session() as session, session.begin():
        session.get(OutboxMessage, row_id).status = "in_flight"
    relay = OutboxRelay(telegram_bot, db, settings)
    assert relay.recover() == 1
    await relay.send_due()
    assert row(db, row_id).status == "unknown"
    [notice] = [m.text for m in fake_telegram.messages_in(CHAT)]
    assert "ответ на ваш вопрос" in notice and "задайте вопрос ещё раз" in notice
