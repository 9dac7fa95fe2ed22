"""Middlewares: the durable inbox, and who the user is (admin, allowed)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.types import ErrorEvent, Message, TelegramObject, Update
from sqlalchemy.exc import OperationalError

from bot import store, texts
from paperdigest import leases
from paperdigest.db import Database
from paperdigest.pacing import wait_or_stop
from paperdigest.settings import Settings

log = logging.getLogger(__name__)
STORE_ATTEMPTS = 8  # with the 10 s busy timeout: about two minutes of a locked database
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


QUICK_COMMANDS = ("/start", "/help")
# Other updates are handled at most this many at once (a handler waiting on arXiv holds its
# place). Each costs a few ms of CPU on the one event loop: 600 of a burst handled together
# held up the next getUpdates, and the /start in it, for ~2 s.
SLOW_LANE_HANDLERS = 16


def is_quick(update: Update) -> bool:
    """A command answered from memory, or reaction counts to store: handled ahead of the rest of its batch."""
    if update.message_reaction_count is not None:
        return True
    text = update.message.text if update.message is not None and update.message.text else ""
    command = text.split(maxsplit=1)[0].split("@")[0] if text.strip() else ""
    return command in QUICK_COMMANDS


class DurableInbox(BaseMiddleware):
    """Stores each update before Telegram is told it arrived, then handles it in a task.

    With polling (`receive`), a whole getUpdates batch is stored in one transaction before
    the offset moves past it; in webhook mode this middleware stores the update before the
    200 goes back. Handling runs in the background, so a slow handler does not hold up the
    others. After a crash, `replay()` feeds the updates that were stored but not handled.
    """

    def __init__(
        self,
        db: Database,
        on_error: Callable[[ErrorEvent], Awaitable[None]] | None = None,
        *,
        lease_s: float = 60.0,
    ) -> None:
        self.db = db
        # Handling runs in a task of its own, past aiogram's errors middleware: a handler's
        # exception reaches the errors handler (log, one Russian sentence) only through here.
        self.on_error = on_error
        self._tasks: set[asyncio.Task[None]] = set()
        self._handling: set[int] = set()  # update ids this process holds a claim on
        self.holder = leases.this_holder()
        self.lease_s = lease_s
        self._slow_lane = asyncio.Semaphore(SLOW_LANE_HANDLERS)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        if not data.get("stored"):
            if not await self._store([event]):
                log.info("update %d seen before: skipped", event.update_id)
                return None
        self._handling.add(event.update_id)
        task = asyncio.create_task(self._handle(handler, event, data), name=f"update {event.update_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return None

    async def receive(self, dispatcher: Dispatcher, bot: Bot, updates: list[Update]) -> None:
        """A polled batch: stored at once, then handled — /start and /help answered first."""
        fresh = await self._store(updates)
        if len(fresh) < len(updates):
            log.info("%d update(s) seen before: skipped", len(updates) - len(fresh))
        # each feed only starts a task, so the next getUpdates follows at once
        for update in sorted(fresh, key=lambda update: not is_quick(update)):
            await dispatcher.feed_update(bot, update, stored=True)

    async def _store(self, events: list[Update]) -> list[Update]:
        """Store the updates (returns those not seen before), waiting out a long-held write lock:
        an update not stored would be lost, because Telegram forgets it once confirmed."""
        payloads = [(event, event.model_dump(mode="json", exclude_none=True)) for event in events]
        for attempt in range(STORE_ATTEMPTS):
            try:
                with self.db.session() as session, session.begin():
                    return [
                        event
                        for event, payload in payloads
                        if store.store_update(session, event.update_id, payload, self.holder, self.lease_s)
                    ]
            except OperationalError as err:  # "database is locked" after busy_timeout
                log.warning("%d update(s) not stored yet (%s); retrying", len(events), err.orig)
                await asyncio.sleep(min(2.0**attempt, 10.0))
        raise RuntimeError(f"{len(events)} update(s) could not be stored after {STORE_ATTEMPTS} tries")

    async def _handle(self, handler: Handler, event: Update, data: dict[str, Any]) -> None:
        error = None
        lane = contextlib.nullcontext() if is_quick(event) else self._slow_lane
        try:
            async with lane:
                await handler(event, data)
        except Exception as err:  # noqa: BLE001 - recorded on the update; the user gets one sentence
            error = repr(err)
            if self.on_error is not None:
                await self.on_error(ErrorEvent(update=event, exception=err))
        with self.db.session() as session, session.begin():
            store.finish_update(session, event.update_id, error)
        self._handling.discard(event.update_id)

    async def replay(self, dispatcher: Dispatcher, bot: Bot) -> int:
        """Handle the stored updates nobody is handling: after a crash of this process, or of
        another webhook instance (whose claims ran out). Claims of live instances are left alone."""
        with self.db.session() as session, session.begin():
            payloads = [row.payload for row in store.claim_unhandled(session, self.holder, self.lease_s)]
        for payload in payloads:
            await dispatcher.feed_update(bot, Update.model_validate(payload, context={"bot": bot}), stored=True)
        return len(payloads)

    async def keep_replaying(self, dispatcher: Dispatcher, bot: Bot, stop: asyncio.Event) -> None:
        """Every third of the lease: renew the claims on the updates still being handled here,
        then replay any another instance left behind (it died holding them)."""
        while not await wait_or_stop(stop, self.lease_s / 3):
            try:
                with self.db.session() as session, session.begin():
                    store.renew_updates(session, sorted(self._handling), self.holder, self.lease_s)
                if replayed := await self.replay(dispatcher, bot):
                    log.info("%d update(s) another instance left unhandled: replayed", replayed)
            except Exception as err:  # noqa: BLE001 - a missed round is retried; the claims have slack
                log.warning("renewing or replaying inbox updates failed (retrying): %r", err)

    async def drain(self, timeout: float = 10.0) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)


class UserContext(BaseMiddleware):
    """Adds `is_admin` for handlers and turns away users outside ALLOWED_USER_IDS."""

    def __init__(self, settings: Settings) -> None:
        self.admins = set(settings.ADMIN_IDS)
        self.allowed = set(settings.ALLOWED_USER_IDS)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user = getattr(event, "from_user", None)
        user_id = user.id if user else None
        data["is_admin"] = user_id in self.admins
        if self.allowed and not data["is_admin"] and user_id not in self.allowed:
            if isinstance(event, Message):
                await event.answer(texts.NOT_ALLOWED)
            return None
        return await handler(event, data)
