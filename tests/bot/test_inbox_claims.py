"""Several webhook instances on one database (both backends): an update one instance is
handling is not replayed by another while its claim lasts; one a dead instance left behind
is replayed once, by one instance; the claims of updates still being handled are renewed."""

from __future__ import annotations

import asyncio

from aiogram.types import Update
from sqlalchemy import update

from bot import store
from bot.middlewares import DurableInbox
from paperdigest.db import Database
from paperdigest.models import InboxUpdate, utcnow

OTHER_HOST = "other-host:4242"  # a live instance on another machine: only its claim's expiry frees its work


def payload(update_id: int, text: str = "/latest") -> dict:
    return {
        "update_id": update_id,
        "message": {"message_id": update_id, "date": 0, "chat": {"id": 7, "type": "private"}, "text": text},
    }


def claims(db: Database) -> dict[int, tuple[str | None, str]]:
    with db.read() as session:
        return {row.update_id: (row.holder, row.status) for row in session.query(InboxUpdate)}


def test_a_live_claim_is_left_alone_and_an_expired_one_taken_once(database_url: str) -> None:
    db = Database(database_url)
    with db.session() as session, session.begin():
        assert store.store_update(session, 1, payload(1), OTHER_HOST, 60.0)
        assert store.store_update(session, 2, payload(2), "gone-host-is-here:1", 60.0)
        assert store.store_update(session, 3, payload(3))  # no holder: stored before claims existed
    with db.session() as session, session.begin():
        assert [row.update_id for row in store.claim_unhandled(session, "me:1", 60.0)] == [3]
    with db.session() as session, session.begin():  # the other host stopped renewing: its claim ran out
        session.execute(update(InboxUpdate).where(InboxUpdate.update_id == 1).values(held_until=utcnow()))
    with db.session() as session, session.begin():
        assert [row.update_id for row in store.claim_unhandled(session, "me:1", 60.0)] == [1]
    with db.session() as session, session.begin():
        assert store.claim_unhandled(session, "you:2", 60.0) == []  # mine now, and live
    assert claims(db) == {1: ("me:1", "received"), 2: ("gone-host-is-here:1", "received"), 3: ("me:1", "received")}
    db.close()


async def test_an_instance_replays_what_a_dead_one_left_and_not_what_a_live_one_handles(database_url: str) -> None:
    db = Database(database_url)
    handled: list[tuple[str, int]] = []

    class Feeder:  # what replay() feeds: the dispatcher, handled by the instance's own middleware
        def __init__(self, inbox: DurableInbox, name: str) -> None:
            self.inbox, self.name = inbox, name

        async def feed_update(self, bot, update: Update, **data) -> None:
            async def handler(event: Update, _data: dict) -> None:
                handled.append((self.name, event.update_id))

            await self.inbox(handler, update, data)

    live, dead, survivor = (DurableInbox(db, lease_s=0.3) for _ in range(3))
    live.holder, dead.holder, survivor.holder = OTHER_HOST, "host-b:1", "host-c:1"
    release = asyncio.Event()

    async def slow(event: Update, _data: dict) -> None:
        await release.wait()
        handled.append(("live", event.update_id))

    await live(slow, Update.model_validate(payload(1)), {})  # live keeps handling it past its first claim
    with db.session() as session, session.begin():
        store.store_update(session, 2, payload(2), dead.holder, 0.3)  # dead stored it, then died

    stop = asyncio.Event()
    renewing = asyncio.create_task(live.keep_replaying(Feeder(live, "live"), None, stop))
    await asyncio.sleep(0.6)  # past the first claims: live renewed update 1's, update 2's ran out
    assert handled == [("live", 2)]  # live's periodic replay took what the dead instance left
    assert await survivor.replay(Feeder(survivor, "survivor"), None) == 0  # 1 is live's, 2 is done
    release.set()
    await live.drain()
    stop.set()
    await renewing
    assert sorted(handled) == [("live", 1), ("live", 2)]  # each once
    assert claims(db) == {1: (None, "done"), 2: (None, "done")}
    db.close()
