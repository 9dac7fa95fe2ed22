"""Secrets: the bot process and the CLI run with recognisable token and key values, through good
and failing paths; every log line, stdout/stderr, the database, the outbox, the data directory and
the built site are searched for them. Prints the counts; every one must be 0.

    .venv/bin/python -m pytest tests/proof/test_secrets.py -s
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from paperdigest.settings import Settings
from tests.fakes.arxiv import FakeArxiv
from tests.fakes.llm import FakeLLM
from tests.fakes.telegram import FakeTelegram
from tests.support.papers import PAPER_ID, add_paper
from tests.support.process import COMMAND, bot_process, process_env, wait_until

TOKEN = "1234567:SECRET-TOKEN-xyz"
KEY = "sk-SECRET-KEY-abc"
WRONG_TOKEN = "1234567:SECRET-TOKEN-wrong"
WRONG_KEY = "sk-SECRET-KEY-wrong"
SECRETS = (TOKEN, KEY, WRONG_TOKEN, WRONG_KEY, "SECRET-TOKEN", "SECRET-KEY")
USER = 1001


@pytest.fixture(scope="module")
def secret_fakes():
    with FakeTelegram(token=TOKEN) as telegram, FakeLLM(api_key=KEY) as llm, FakeArxiv() as arxiv:
        yield telegram, llm, arxiv


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(COMMAND), "--log-level", "DEBUG", *args], env=env, capture_output=True, text=True, timeout=120
    )
    return f"$ paperdigest {' '.join(args)} → exit {done.returncode}\n{done.stdout}{done.stderr}"


def dump_database(url: str) -> str:
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        return "\n".join(connection.iterdump())
    finally:
        connection.close()


def test_no_secret_in_any_output(secret_fakes, tmp_path: Path) -> None:
    telegram, llm, arxiv = secret_fakes
    add_paper(arxiv)
    add_paper(arxiv, "2405.14838")
    telegram.add_chat(-100500, type="channel", title="Digest")
    settings = Settings(
        _env_file=None,
        DATABASE_URL=f"sqlite:///{tmp_path / 'pd.db'}",
        DATA_DIR=tmp_path / "data",
        SITE_DIR=tmp_path / "site",
        SITE_URL="https://digest.example",
        ARXIV_API_URL=arxiv.api_url,
        ARXIV_PDF_URL=arxiv.pdf_url_template,
        TELEGRAM_API_URL=telegram.url,
        BOT_TOKEN=TOKEN,
        OPENAI_BASE_URL=llm.base_url,
        OPENAI_API_KEY=KEY,
        CHANNEL_ID="-100500",
    )
    env = process_env(settings, PUBLISH_USER_REVIEWS="true", LLM_RETRIES="1", ARXIV_RETRIES="1")
    outputs: dict[str, str] = {}
    bot_log = tmp_path / "bot.log"

    # 1. the bot: a review delivered to the user and the channel, then an LLM 500 and an arXiv 503
    with bot_process(env, bot_log, "--log-level", "DEBUG"):
        wait_until(lambda: telegram.calls("getUpdates"), what="bot polling")
        telegram.push_message(USER, USER, f"/review {PAPER_ID}")
        wait_until(lambda: telegram.messages_in(-100500), timeout=60, what="the channel post")
        llm.fail_next("server", times=5)
        telegram.push_message(USER, USER, "/review 2405.14838")
        arxiv.fail_next("api", status=503, times=10)
        telegram.push_message(USER + 1, USER + 1, "/review 2301.00001")
        wait_until(lambda: len(telegram.messages_in(USER + 1)) >= 1, timeout=60, what="the arXiv error reply")
    # 2. the bot with a token Telegram refuses (401)
    with bot_process(env | {"BOT_TOKEN": WRONG_TOKEN}, bot_log, "--log-level", "DEBUG") as refused:
        refused.wait(30)
    arxiv.clear_scripts()
    llm.clear_scripts()
    # 3. the CLI: good run, wrong key (401 from the LLM), arXiv errors, a site build
    outputs["cli review ok"] = cli(env, "review", "--force", PAPER_ID)
    outputs["cli wrong key"] = cli(env | {"OPENAI_API_KEY": WRONG_KEY}, "review", "--force", PAPER_ID)
    arxiv.fail_next("api", status=503, times=10)
    outputs["cli arxiv 503"] = cli(env, "review", "2301.00002")
    outputs["cli site build"] = cli(env, "site", "build")
    outputs["bot log"] = bot_log.read_text(errors="replace")
    outputs["database (incl. outbox, inbox, jobs)"] = dump_database(settings.DATABASE_URL)
    for root in (tmp_path / "data", tmp_path / "site"):
        for path in sorted(root.rglob("*")):
            if path.is_file():
                outputs[str(path.relative_to(tmp_path))] = path.read_bytes().decode("utf-8", errors="replace")
    outputs["telegram messages"] = repr([telegram.messages_in(c) for c in (USER, USER + 1, -100500)])

    assert "401" in outputs["cli wrong key"] or "API key" in outputs["cli wrong key"], outputs["cli wrong key"]
    assert "rejected BOT_TOKEN" in outputs["bot log"]
    counts = {secret: sum(text.count(secret) for text in outputs.values()) for secret in SECRETS}
    lines = sum(text.count("\n") for text in outputs.values())
    print(
        f"\nsecrets: {len(outputs)} outputs searched ({lines} lines, "
        f"{sum(map(len, outputs.values())) / 1024:.0f} KiB): " + ", ".join(f"{s!r}: {n}" for s, n in counts.items())
    )
    leaks = [where for where, text in outputs.items() if any(s in text for s in SECRETS)]
    assert leaks == [], leaks
