"""The real `paperdigest bot` process, killed with SIGKILL in the middle of a review and restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from paperdigest.settings import Settings
from tests.fakes.llm import FakeLLM
from tests.fakes.telegram import FakeTelegram
from tests.test_bot import ALICE, CHANNEL, bot_settings, review_messages  # noqa: F401 (a fixture)
from tests.test_pipeline import PAPER_ID



def process_env(settings: Settings) -> dict[str, str]:
    values = {name: getattr(settings, name) for name in (
        "DATABASE_URL", "DATA_DIR", "ARXIV_API_URL", "ARXIV_PDF_URL", "TELEGRAM_API_URL", "CHANNEL_ID",
        "OPENAI_BASE_URL", "SITE_URL")}
    env = {k: v for k, v in os.environ.items() if k not in Settings.model_fields}
    env.update({k: str(v) for k, v in values.items()})
    env.update(BOT_TOKEN=settings.BOT_TOKEN.get_secret_value(), OPENAI_API_KEY=settings.OPENAI_API_KEY.get_secret_value(),
               ADMIN_IDS="1", ARXIV_DELAY_S="0", RETRY_BASE_S="0.05", PUBLISH_USER_REVIEWS="true",
               CHANNEL_POST_INTERVAL_S="0.2", TELEGRAM_TIMEOUT_S="3")
    return env


def start(env: dict[str, str], log: Path) -> subprocess.Popen:
    command = Path(sys.executable).with_name("paperdigest")
    return subprocess.Popen([str(command), "--log-level", "INFO", "bot"], env=env, stdout=log.open("ab"),
                            stderr=subprocess.STDOUT)


def wait_until(check: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"condition not met in {timeout} s")


def test_sigkill_mid_review_then_restart_answers_once_and_posts_once(
        bot_settings: Settings, fake_telegram: FakeTelegram, fake_llm: FakeLLM, tmp_path: Path) -> None:
    env, log = process_env(bot_settings), tmp_path / "bot.log"
    fake_llm.fail_next("hang")
    first = start(env, log)
    try:
        wait_until(lambda: fake_telegram.calls("getUpdates"))
        fake_telegram.push_message(ALICE, ALICE, f"/review {PAPER_ID}")
        wait_until(lambda: fake_llm.requests)  # the LLM call is in flight
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    second = start(env, log)
    try:
        wait_until(lambda: review_messages(fake_telegram, ALICE) and fake_telegram.messages_in(CHANNEL))
        time.sleep(1.0)  # anything sent twice would arrive by now
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(15) == 0, log.read_text()
    assert len(review_messages(fake_telegram, ALICE)) == 1
    assert len(fake_telegram.messages_in(CHANNEL)) == 1
    output = log.read_text()
    assert bot_settings.BOT_TOKEN.get_secret_value() not in output and "sk-test" not in output
