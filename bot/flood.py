"""Replies made inside handlers wait out Telegram's flood control instead of being lost.

Telegram answers 429 with `retry_after` when a bot sends too fast (about 30 messages a
second overall, one a second per chat). A 429 means the request was not carried out, so
sending it again cannot double it. Without this, a burst's /start answer that met a 429
failed its handler and the user got nothing (or only the error sentence). The outbox relay
handles its own 429s (it reschedules the row, which survives a restart); its requests are
tracked by `bot.wire.on_wire` and pass through here untouched.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import GetUpdates, Response, TelegramMethod

from bot.wire import tracked

log = logging.getLogger(__name__)
MAX_TRIES = 4
MAX_WAIT_S = 60.0  # past this the handler fails as before: its update is marked failed, the log has why


class WaitOutFloodControl(BaseRequestMiddleware):
    def __init__(self, *, max_tries: int = MAX_TRIES, max_wait_s: float = MAX_WAIT_S,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.max_tries = max_tries
        self.max_wait_s = max_wait_s
        self._sleep = sleep

    async def __call__(self, make_request: NextRequestMiddlewareType[Any], bot: Bot,
                       method: TelegramMethod[Any]) -> Response[Any]:
        if tracked() or isinstance(method, GetUpdates):
            return await make_request(bot, method)
        waited, tries = 0.0, 1
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as err:
                if tries >= self.max_tries or waited + err.retry_after > self.max_wait_s:
                    raise
                log.warning("%s: Telegram's flood control, sending again in %d s", type(method).__name__,
                            err.retry_after)
                await self._sleep(err.retry_after)
                waited, tries = waited + err.retry_after, tries + 1
