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
# After a 429, direct replies go out at most this many a second (Telegram's overall limit is
# about 30; the outbox relay sends too) until none is waiting and none was refused for CALM_S.
PACE_PER_S = 20.0
CALM_S = 5.0


class WaitOutFloodControl(BaseRequestMiddleware):
    """After a 429 every direct reply waits until Telegram's retry_after has passed (sending
    meanwhile would only earn more 429s), then they go out paced, until MAX_WAIT_S is spent."""

    def __init__(
        self,
        *,
        max_wait_s: float = MAX_WAIT_S,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_wait_s = max_wait_s
        self._sleep = sleep
        self._clock = clock
        self._resume_at = 0.0  # no direct reply before this (the last 429's retry_after)
        self._next_slot = 0.0  # the next free PACE_PER_S slot while pacing

    async def __call__(
        self, make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> Response[Any]:
        if tracked() or isinstance(method, GetUpdates):
            return await make_request(bot, method)
        give_up_at = self._clock() + self.max_wait_s
        while True:
            if (pause := self._slot() - self._clock()) > 0:
                await self._sleep(pause)
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as err:
                self._resume_at = max(self._resume_at, self._clock() + err.retry_after)
                if self._resume_at > give_up_at:
                    raise
                log.warning(
                    "%s: Telegram's flood control, sending again in %d s or later",
                    type(method).__name__,
                    err.retry_after,
                )

    def _slot(self) -> float:
        """When this reply may go: now while calm; else after the 429's pause, one per 1/PACE_PER_S."""
        now = self._clock()
        if now >= self._resume_at + CALM_S and now >= self._next_slot:
            return now
        slot = max(now, self._resume_at, self._next_slot)
        self._next_slot = slot + 1 / PACE_PER_S
        return slot
