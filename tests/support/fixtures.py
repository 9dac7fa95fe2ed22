"""Settings fixtures several test modules share: the pipeline with the fake LLM, the bot, the watcher.

Registered once with ``pytest_plugins`` in ``tests/conftest.py``; a test names them as
parameters and never imports them.
"""

from __future__ import annotations

import pytest

from paperdigest.settings import Settings
from tests.fakes.llm import FakeLLM
from tests.fakes.plugin import FAKE_LLM_KEY
from tests.fakes.telegram import FakeTelegram
from tests.support import bot, watch
from tests.support.papers import add_paper


@pytest.fixture
def llm_settings(settings: Settings, fake_llm: FakeLLM) -> Settings:
    return settings.replace(**{"OPENAI_BASE_URL": fake_llm.base_url, "OPENAI_API_KEY": FAKE_LLM_KEY, "LLM_RETRIES": 3})


@pytest.fixture
def bot_settings(settings: Settings, fake_llm: FakeLLM, fake_telegram: FakeTelegram, fake_arxiv) -> Settings:
    fake_telegram.add_chat(bot.CHANNEL, type="channel", title="Digest", username="digest_test")
    add_paper(fake_arxiv)
    return settings.replace(
        BOT_TOKEN=fake_telegram.token,
        TELEGRAM_API_URL=fake_telegram.url,
        CHANNEL_ID=str(bot.CHANNEL),
        ADMIN_IDS=[bot.ADMIN],
        OPENAI_BASE_URL=fake_llm.base_url,
        OPENAI_API_KEY=FAKE_LLM_KEY,
        CHANNEL_POST_INTERVAL_S=0.2,
        CHAT_REPLY_INTERVAL_S=0.05,
        TELEGRAM_TIMEOUT_S=3.0,
        SITE_URL="https://digest.example",
    )


@pytest.fixture
def watch_settings(settings: Settings, fake_llm: FakeLLM, fake_telegram: FakeTelegram) -> Settings:
    fake_telegram.add_chat(watch.CHANNEL, type="channel", title="Digest", username="digest_test")
    fake_telegram.add_chat(watch.ADMIN, type="private")
    return settings.replace(
        OPENAI_BASE_URL=fake_llm.base_url,
        OPENAI_API_KEY=FAKE_LLM_KEY,
        LLM_RETRIES=2,
        WATCH_CATEGORIES=watch.CATS,
        WATCH_INTEREST=watch.INTEREST,
        WATCH_MAX_PER_DAY=3,
        WATCH_PAGE_SIZE=100,
        WATCH_RANK_BATCH=50,
        CHANNEL_ID=str(watch.CHANNEL),
        ADMIN_IDS=[watch.ADMIN],
        CHANNEL_POST_INTERVAL_S=0.0,
        CHAT_REPLY_INTERVAL_S=0.0,
        TELEGRAM_TIMEOUT_S=3.0,
        SITE_URL="https://digest.example",
    )
