"""`paperdigest watch [--once]`: the watcher alone, beside its own pipeline.

The watcher queues its posts in the outbox. `watch --once` (cron) then delivers what is due
itself, through a relay that holds the relay lease while it sends; when a running bot holds
that lease, its relay sends them and `watch --once` says so (one sender at a time: a row is
never sent twice). The long-running `watch` leaves sending to the bot.
"""

from __future__ import annotations

import asyncio
import signal

from sqlalchemy import func, select

from paperdigest import leases, outbox
from paperdigest.db import Database
from paperdigest.models import OutboxMessage, utcnow
from paperdigest.settings import Settings
from paperdigest.wiring import open_pipeline
from watcher.report import RoundReport
from watcher.run import open_watcher


async def watch(settings: Settings, *, once: bool) -> RoundReport | None:
    """`paperdigest watch`: one round (`once`), or rounds until SIGINT/SIGTERM."""
    async with open_pipeline(settings) as pipeline, open_watcher(settings, pipeline) as watcher:
        if once:
            return await watcher.round()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await watcher.run(stop)
        return None


def run_watch(settings: Settings, *, once: bool = False) -> RoundReport | None:
    return asyncio.run(watch(settings, once=once))


async def deliver(settings: Settings) -> str:
    """After `watch --once`: send the queued messages that are due, unless a running bot's relay
    does; one line saying which."""
    from bot.app import make_bot  # aiogram only where messages are sent
    from bot.relay import OutboxRelay

    db = Database(settings.DATABASE_URL)
    try:
        with db.read() as session:
            due, holder = outbox.due_count(session, utcnow()), leases.current_holder(session, leases.RELAY)
        if due == 0:
            return "nothing to send"
        if holder is not None:
            return f"{due} queued message(s): the running bot ({holder}) holds the relay and sends them"
        if settings.BOT_TOKEN is None:
            return f"{due} queued message(s) not sent: BOT_TOKEN is not set (set it, or run `paperdigest bot`)"
        bot = make_bot(settings)
        relay = OutboxRelay(bot, db, settings)
        try:
            handled = await relay.deliver_due()
            if not relay.holding and handled == 0:
                return f"{due} queued message(s): a bot took the relay meanwhile and sends them"
        finally:
            relay.release()
            await bot.session.close()
        with db.read() as session:
            later = outbox.due_count(session, utcnow(), due=False)
            sent = session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent"))
        tail = f"; {later} wait for a later time (quiet hours, a retry) and go with the next run" if later else ""
        return f"{handled} message(s) handled ({sent} sent in all){tail}"
    finally:
        db.close()


def run_deliver(settings: Settings) -> str:
    return asyncio.run(deliver(settings))
