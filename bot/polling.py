"""Long polling that confirms a batch of updates to Telegram only after storing all of it.

aiogram's own polling feeds a batch one update at a time; storing each in its own
transaction before the next kept a burst's /start answers waiting behind the whole batch.
Here a batch is one transaction (`DurableInbox.receive`), and the offset — which tells
Telegram to forget the batch — moves only after that transaction committed.
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramConflictError
from aiogram.methods import GetUpdates
from aiogram.utils.backoff import Backoff, BackoffConfig

from bot.middlewares import DurableInbox

log = logging.getLogger(__name__)
BACKOFF = BackoffConfig(min_delay=1.0, max_delay=5.0, factor=1.3, jitter=0.1)  # aiogram's defaults


async def poll(bot: Bot, dispatcher: Dispatcher, inbox: DurableInbox, *, timeout_s: int) -> None:
    """Runs until cancelled; a 409 Conflict (another poller) ends it by raising."""
    backoff = Backoff(config=BACKOFF)
    request = GetUpdates(timeout=timeout_s, allowed_updates=dispatcher.resolve_used_update_types())
    # the HTTP request must outlast Telegram's long-poll wait
    request_timeout = int(bot.session.timeout + timeout_s)
    while True:
        try:
            updates = await bot(request, request_timeout=request_timeout)
        except TelegramConflictError:
            raise
        except Exception as err:  # noqa: BLE001 - network or server trouble: wait and ask again
            log.error("getUpdates failed (%s: %s); retrying in %.1f s", type(err).__name__, err, backoff.next_delay)
            await backoff.asleep()
            continue
        backoff.reset()
        if updates:
            await inbox.receive(dispatcher, bot, updates)
            request.offset = updates[-1].update_id + 1


async def run_polling(
    bot: Bot, dispatcher: Dispatcher, inbox: DurableInbox, stopped: asyncio.Event, *, timeout_s: int
) -> None:
    """Poll until `stopped` is set; a stop mid-request loses nothing (the offset had not moved)."""
    polling = asyncio.create_task(poll(bot, dispatcher, inbox, timeout_s=timeout_s), name="polling")
    stopping = asyncio.create_task(stopped.wait(), name="stop signal")
    try:
        await asyncio.wait({polling, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (polling, stopping):
            task.cancel()
        await asyncio.gather(polling, stopping, return_exceptions=True)
    if polling.done() and not polling.cancelled() and polling.exception() is not None:
        raise polling.exception()
