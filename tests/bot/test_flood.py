"""bot/flood.py: direct replies wait out Telegram's 429s; the relay's tracked sends do not."""

from __future__ import annotations

import asyncio

import pytest
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import SendMessage

from bot.flood import CALM_S, PACE_PER_S, WaitOutFloodControl
from bot.wire import on_wire


def clocked_middleware(
    max_wait_s: float = 10.0,
    now: list[float] | None = None,
) -> tuple[WaitOutFloodControl, list[float]]:
    """The middleware on a clock that only its own sleeps (or the test, through `now`) move."""
    now = now if now is not None else [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    return WaitOutFloodControl(max_wait_s=max_wait_s, sleep=sleep, clock=lambda: now[0]), slept


def refusing(times: int, retry_after: int):
    calls = []

    async def make_request(_bot, method):
        calls.append(method)
        if len(calls) <= times:
            raise TelegramRetryAfter(method=method, message="Too Many Requests", retry_after=retry_after)
        return "sent"

    return make_request, calls


async def test_a_refused_reply_waits_retry_after_and_goes_once() -> None:
    middleware, slept = clocked_middleware()
    make_request, calls = refusing(times=2, retry_after=3)
    assert await middleware(make_request, None, SendMessage(chat_id=1, text="привет")) == "sent"
    assert len(calls) == 3 and len(slept) == 2 and all(s >= 3 for s in slept)


async def test_other_replies_hold_back_during_a_429_instead_of_earning_more() -> None:
    middleware = WaitOutFloodControl()
    first, _ = refusing(times=1, retry_after=1)
    second, second_calls = refusing(times=0, retry_after=0)
    refused = asyncio.create_task(middleware(first, None, SendMessage(chat_id=1, text="x")))
    await asyncio.sleep(0.05)  # it met its 429 and waits
    waiting = asyncio.create_task(middleware(second, None, SendMessage(chat_id=2, text="y")))
    await asyncio.sleep(0.5)
    assert second_calls == []
    assert await refused == "sent" and await waiting == "sent" and len(second_calls) == 1


async def test_after_a_429_replies_go_out_paced_until_it_is_calm_again() -> None:
    now = [0.0]
    middleware, slept = clocked_middleware(now=now)
    await middleware(refusing(times=1, retry_after=2)[0], None, SendMessage(chat_id=1, text="x"))
    slept.clear()
    for chat in range(2, 5):
        await middleware(refusing(times=0, retry_after=0)[0], None, SendMessage(chat_id=chat, text="x"))
    assert slept == pytest.approx([1 / PACE_PER_S] * 3)
    now[0] += CALM_S  # no 429 for a while and nobody waiting: no pacing
    slept.clear()
    await middleware(refusing(times=0, retry_after=0)[0], None, SendMessage(chat_id=9, text="x"))
    assert slept == []


async def test_a_flood_longer_than_the_budget_fails_the_reply_at_once() -> None:
    middleware, slept = clocked_middleware(max_wait_s=4)
    make_request, calls = refusing(times=1, retry_after=5)
    with pytest.raises(TelegramRetryAfter):
        await middleware(make_request, None, SendMessage(chat_id=1, text="x"))
    assert len(calls) == 1 and slept == []


async def test_the_relays_tracked_sends_are_left_to_the_relay() -> None:
    middleware, slept = clocked_middleware()
    make_request, calls = refusing(times=1, retry_after=3)
    with on_wire(lambda: None), pytest.raises(TelegramRetryAfter):
        await middleware(make_request, None, SendMessage(chat_id=1, text="пост"))
    assert len(calls) == 1 and slept == []
