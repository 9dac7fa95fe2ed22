"""Middlewares: the durable inbox, and who the user is (admin, allowed)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.types import Message, TelegramObject, Update
from sqlalchemy.exc import OperationalError

from bot import store, texts
from paperdigest.db import Database
from paperdigest.settings import Settings

log = logging.getLogger(__name__)
STORE_ATTEMPTS = 8  # with the 10 s busy timeout: about two minutes of a locked database
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class DurableInbox(BaseMiddleware):
    """Stores each update before polling confirms it to Telegram, then handles it in a task.

    Polling runs with handle_as_tasks=False, so Telegram's offset moves past an update only
    after this middleware returned — by then the update is in the database. Handling runs
    in the background, so a slow handler does not hold up the others. After a crash,
    `replay()` feeds the updates that were stored but not handled.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        if not data.get("replayed"):
            fresh = await self._store(event)
            if not fresh:
                log.info("update %d seen before: skipped", event.update_id)
                return None
        task = asyncio.create_task(self._handle(handler, event, data), name=f"update {event.update_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return None

    async def _store(self, event: Update) -> bool:
        """Store the update, waiting out a long-held write lock: an update not stored would be lost,
        because polling confirms it to Telegram as soon as this middleware returns."""
        payload = event.model_dump(mode="json", exclude_none=True)
        for attempt in range(STORE_ATTEMPTS):
            try:
                with self.db.session() as session, session.begin():
                    return store.store_update(session, event.update_id, payload)
            except OperationalError as err:  # "database is locked" after busy_timeout
                log.warning("update %d not stored yet (%s); retrying", event.update_id, err.orig)
                await asyncio.sleep(min(2.0 ** attempt, 10.0))
        raise RuntimeError(f"update {event.update_id} could not be stored after {STORE_ATTEMPTS} tries")

    async def _handle(self, handler: Handler, event: Update, data: dict[str, Any]) -> None:
        error = None
        try:
            await handler(event, data)
        except Exception as err:  # the errors router answered the user already
            error = repr(err)
        with self.db.session() as session, session.begin():
            store.finish_update(session, event.update_id, error)

    async def replay(self, dispatcher: Dispatcher, bot: Bot) -> int:
        with self.db.read() as session:
            payloads = [row.payload for row in store.unprocessed_updates(session)]
        for payload in payloads:
            await dispatcher.feed_update(bot, Update.model_validate(payload, context={"bot": bot}), replayed=True)
        return len(payloads)

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
