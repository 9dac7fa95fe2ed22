"""Daily digests of personal subscriptions: one message per reader per Moscow day, at their
time, with every paper that waited; switching mode sends or drops what waited. SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from bot.subscriber_digest import queue_due_digests, set_mode
from paperdigest import fanout, outbox
from paperdigest import subscriptions as subs
from paperdigest.db import Database, upgrade
from paperdigest.models import OutboxMessage, Paper, SubscriptionDelivery
from tests.support.reviews import stored_review

READER = 77
# 20:30 Moscow (UTC+3) on 2 December is 17:30 UTC
BEFORE, AT, NEXT_DAY = (
    datetime(2026, 12, d, h, m, tzinfo=timezone.utc) for d, h, m in ((2, 17, 29), (2, 17, 30), (3, 17, 45))
)


@pytest.fixture
def db(database_url: str):
    upgrade(database_url)
    database = Database(database_url)
    with database.session() as session, session.begin():
        subs.add_rule(session, READER, str(READER), subs.category_rule("cs.CL"))
        reader = subs.subscriber(session, READER)
        reader.mode, reader.digest_minute = subs.DAILY, 20 * 60 + 30
    yield database
    database.close()


def publish(db: Database, arxiv_id: str, title: str) -> None:
    with db.session() as session, session.begin():
        session.add(Paper(arxiv_id=arxiv_id, title=title, categories=["cs.CL"]))
        session.flush()
        assert fanout.queue_for_subscribers(session, stored_review(session, arxiv_id, markdown="#")) == 1


def step(db: Database, now: datetime) -> int:
    with db.session() as session, session.begin():
        return queue_due_digests(session, now)


def digests(db: Database) -> list[OutboxMessage]:
    with db.read() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_one_digest_a_day_at_the_readers_moscow_time(db: Database) -> None:
    publish(db, "2612.00001", "Первая статья")
    publish(db, "2612.00002", "Вторая статья")
    assert digests(db) == []  # nothing sent one by one
    assert step(db, BEFORE) == 0
    assert step(db, AT) == 1 and step(db, AT) == 0  # once that day, however often the relay looks
    publish(db, "2612.00003", "Третья статья")
    assert step(db, AT) == 0  # waits for tomorrow's
    assert step(db, NEXT_DAY) == 1 and step(db, NEXT_DAY) == 0
    first, second = digests(db)
    assert (first.kind, first.chat_id, first.priority) == (fanout.SUB_DIGEST, str(READER), outbox.BULK)
    assert "по вашим подпискам: 2" in first.text and "Первая статья" in first.text and "/paper 2612.00002" in first.text
    assert "по вашим подпискам: 1" in second.text and "Третья статья" in second.text and "Первая" not in second.text
    with db.read() as session:
        assert set(session.scalars(select(SubscriptionDelivery.status))) == {fanout.QUEUED}


def test_a_day_with_nothing_new_sends_nothing(db: Database) -> None:
    assert step(db, AT) == 0 and digests(db) == []


@pytest.mark.parametrize("mode, queued, status", [(subs.INSTANT, 1, fanout.QUEUED), (subs.OFF, 0, fanout.DROPPED)])
def test_leaving_daily_sends_what_waited_now_or_drops_it(db: Database, mode: str, queued: int, status: str) -> None:
    publish(db, "2612.00001", "Первая статья")
    with db.session() as session, session.begin():
        set_mode(session, subs.subscriber(session, READER), mode)
    assert len(digests(db)) == queued
    with db.read() as session:
        assert list(session.scalars(select(SubscriptionDelivery.status))) == [status]
    assert step(db, AT) == 0
