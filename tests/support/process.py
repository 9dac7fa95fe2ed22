"""The real `paperdigest bot` process against the session's fake servers, and its memory.

`process_env` and `bot_process` (stopped with SIGTERM) serve tests/proof and bench/memory.py;
`crash_env` and `start` the tests that SIGKILL the process and start it again
(tests/bot/test_bot_process.py, tests/reliability/test_crash_matrix.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from paperdigest.settings import Settings

COMMAND = Path(sys.executable).with_name("paperdigest")


def process_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment a deployed bot would get, built from test settings (no real keys leak in)."""
    env = {k: v for k, v in os.environ.items() if k not in Settings.model_fields}
    for name in (
        "DATABASE_URL",
        "DATA_DIR",
        "SITE_DIR",
        "SITE_URL",
        "ARXIV_API_URL",
        "ARXIV_PDF_URL",
        "TELEGRAM_API_URL",
        "CHANNEL_ID",
        "OPENAI_BASE_URL",
    ):
        value = getattr(settings, name)
        if value is not None:
            env[name] = str(value)
    for name in ("BOT_TOKEN", "OPENAI_API_KEY"):
        secret = getattr(settings, name)
        if secret is not None:
            env[name] = secret.get_secret_value()
    env.update(
        ADMIN_IDS="1",
        ARXIV_DELAY_S="0",
        RETRY_BASE_S="0.05",
        CHANNEL_POST_INTERVAL_S="0",
        CHAT_REPLY_INTERVAL_S="0",
        TELEGRAM_TIMEOUT_S="5",
    )
    env.update(extra)
    return env


def wait_until(check: Callable[[], object], timeout: float = 30.0, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"{what} not met in {timeout} s")


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident memory in MB; field="RssAnon" leaves out pages mapped from files (shared
    libraries such as the tokenizer's 74 MB one), which the kernel can drop and reload."""
    with open(f"/proc/{pid}/status") as status:
        line = next(x for x in status if x.startswith(f"{field}:"))
    return int(line.split()[1]) / 1024


def tree_rss_mb(pid: int, field: str = "VmRSS") -> float:
    """`rss_mb` of the process and all its descendants (the PDF worker, a site build)."""
    total = 0.0
    for member in [pid, *_descendants(pid)]:
        try:
            total += rss_mb(member, field)
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            pass  # exited between the listing and the read
    return total


def _descendants(pid: int) -> list[int]:
    children = []
    for thread in Path(f"/proc/{pid}/task").glob("*"):  # a child belongs to the thread that forked it
        try:
            children += [int(c) for c in (thread / "children").read_text().split()]
        except FileNotFoundError:
            pass
    return [grandchild for child in children for grandchild in (child, *_descendants(child))]


@contextmanager
def bot_process(env: dict[str, str], log: Path, *args: str) -> Iterator[subprocess.Popen]:
    """`paperdigest [args] bot`, stopped with SIGTERM (exit 0 expected) when the block ends."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(COMMAND), "--log-level", "INFO", *args, "bot"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def crash_env(settings: Settings) -> dict[str, str]:
    """The environment of the bot the crash tests kill and restart: user reviews published, a
    0.2 s channel interval; no SITE_DIR (unlike `process_env`)."""
    values = {
        name: getattr(settings, name)
        for name in (
            "DATABASE_URL",
            "DATA_DIR",
            "ARXIV_API_URL",
            "ARXIV_PDF_URL",
            "TELEGRAM_API_URL",
            "CHANNEL_ID",
            "OPENAI_BASE_URL",
            "SITE_URL",
        )
    }
    env = {k: v for k, v in os.environ.items() if k not in Settings.model_fields}
    env.update({k: str(v) for k, v in values.items()})
    env.update(
        BOT_TOKEN=settings.BOT_TOKEN.get_secret_value(),
        OPENAI_API_KEY=settings.OPENAI_API_KEY.get_secret_value(),
        ADMIN_IDS="1",
        ARXIV_DELAY_S="0",
        RETRY_BASE_S="0.05",
        PUBLISH_USER_REVIEWS="true",
        CHANNEL_POST_INTERVAL_S="0.2",
        TELEGRAM_TIMEOUT_S="3",
    )
    return env


def start(env: dict[str, str], log: Path, role: str = "bot") -> subprocess.Popen:
    """`paperdigest <role>` (bot or worker), its output appended to `log`."""
    command = Path(sys.executable).with_name("paperdigest")
    return subprocess.Popen(
        [str(command), "--log-level", "INFO", role], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )
