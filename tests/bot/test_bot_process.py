"""The real `paperdigest bot` process, killed with SIGKILL in the middle of a review and restarted."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

from paperdigest.settings import Settings
from tests.fakes.llm import FakeLLM
from tests.fakes.telegram import FakeTelegram
from tests.support.bot import ALICE, CHANNEL, review_messages
from tests.support.papers import PAPER_ID
from tests.support.process import crash_env, start


def wait_until(check: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"condition not met in {timeout} s")


def test_sigkill_mid_review_then_restart_answers_once_and_posts_once(
    bot_settings: Settings, fake_telegram: FakeTelegram, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    env, log = crash_env(bot_settings), tmp_path / "bot.log"
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
