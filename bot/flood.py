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
import random
import time
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
MAX_WAIT_S = 120.0  # past this the handler fails: its update is marked failed and the log says why
JITTER_S = 1.0  # replies held by one 429 go again spread over a second, not in one burst


class WaitOutFloodControl(BaseRequestMiddleware):
    """After a 429 every direct send waits until Telegram's retry_after has passed (sending
    meanwhile would only earn more 429s), then goes again, until MAX_WAIT_S is spent."""

    def __init__(self, *, max_wait_s: float = MAX_WAIT_S, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_wait_s = max_wait_s
        self._sleep = sleep
        self._clock = clock
        self._resume_at = 0.0

    async def __call__(self, make_request: NextRequestMiddlewareType[Any], bot: Bot,
                       method: TelegramMethod[Any]) -> Response[Any]:
        if tracked() or isinstance(method, GetUpdates):
            return await make_request(bot, method)
        give_up_at = self._clock() + self.max_wait_s
        while True:
            if (pause := self._resume_at - self._clock()) > 0:
                await self._sleep(pause + random.uniform(0, JITTER_S))
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as err:
                self._resume_at = max(self._resume_at, self._clock() + err.retry_after)
                if self._resume_at > give_up_at:
                    raise
                log.warning("%s: Telegram's flood control, sending again in %d s", type(method).__name__,
                            err.retry_after)
