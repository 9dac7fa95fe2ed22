"""pytest fixtures for the fake Telegram Bot API.

The server starts once per session; ``fake_telegram`` hands it to each test after a reset
(no chats, messages, updates, faults or recorded requests), and ``telegram_bot`` gives an
aiogram ``Bot`` pointed at it, closed after the test.

Register with ``pytest_plugins = ["tests.fakes.telegram_plugin"]`` in ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from aiogram import Bot

from tests.fakes.telegram import DEFAULT_TOKEN, FakeTelegram, make_bot


@pytest.fixture(scope="session")
def fake_telegram_server() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=DEFAULT_TOKEN) as fake:
        yield fake


@pytest.fixture
def fake_telegram(fake_telegram_server: FakeTelegram) -> FakeTelegram:
    """The session's FakeTelegram, reset: no chats, messages, updates, faults or requests."""
    fake_telegram_server.reset()
    return fake_telegram_server


@pytest.fixture
async def telegram_bot(fake_telegram: FakeTelegram) -> AsyncIterator[Bot]:
    bot = make_bot(fake_telegram)
    try:
        yield bot
    finally:
        await bot.session.close()
