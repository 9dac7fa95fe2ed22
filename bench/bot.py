"""The bot end to end against local fakes: how fast the first status reply comes, and how many
messages one review takes in each format.

    .venv/bin/python bench/bot.py [--papers 10] [--llm-latency 0]

Runs the real BotApp (aiogram, long polling) in-process against tests/fakes (Bot API, arXiv,
OpenAI-compatible LLM, all on 127.0.0.1). For each of N distinct papers a user sends
/review; we time the first bot message in the chat (the status line) and the review itself.
Then the same reviews are posted to a channel in `rich` and `classic` format and the
messages counted. Prints Markdown tables (medians and p95 over the N requests).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from paperdigest.settings import Settings  # noqa: E402
from paperdigest.wiring import bot_app  # noqa: E402
from tests.fakes.arxiv import FakeArxiv  # noqa: E402
from tests.fakes.llm import FakeLLM  # noqa: E402
from tests.fakes.telegram import FakeTelegram  # noqa: E402
from tests.support.papers import add_paper  # noqa: E402

CHANNEL = -1009876543210


def settings_for(tmp: Path, arxiv: FakeArxiv, llm: FakeLLM, telegram: FakeTelegram, post_format: str) -> Settings:
    return Settings(
        _env_file=None,
        DATABASE_URL=f"sqlite:///{tmp / post_format}.db",
        DATA_DIR=tmp / "data",
        ARXIV_API_URL=arxiv.api_url,
        ARXIV_PDF_URL=arxiv.pdf_url_template,
        ARXIV_DELAY_S=0,
        OPENAI_BASE_URL=llm.base_url,
        OPENAI_API_KEY="sk-test",
        BOT_TOKEN=telegram.token,
        TELEGRAM_API_URL=telegram.url,
        CHANNEL_ID=str(CHANNEL),
        PUBLISH_USER_REVIEWS=True,
        POST_FORMAT=post_format,
        CHANNEL_POST_INTERVAL_S=0,
        CHAT_REPLY_INTERVAL_S=0,
        USER_DAILY_REVIEWS=0,
        LLM_CONCURRENCY=8,
    )


async def wait_for(check, timeout: float = 60.0) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise TimeoutError("the bot did not answer in time")
        await asyncio.sleep(0.005)
    return time.monotonic()


async def run_format(settings: Settings, telegram: FakeTelegram, ids: list[str]) -> tuple[list[float], list[float]]:
    app = bot_app(settings)
    task = asyncio.create_task(app.run())
    await asyncio.wait_for(app.ready.wait(), 30)
    first, full = [], []
    try:
        for n, arxiv_id in enumerate(ids):
            user = 5000 + n
            sent = time.monotonic()
            telegram.push_message(user, user, f"/review {arxiv_id}")
            first.append(await wait_for(lambda: telegram.messages_in(user)) - sent)
            full.append(await wait_for(lambda: len(telegram.messages_in(user)) >= 2) - sent)
        await wait_for(lambda: len({m.message_id for m in telegram.messages_in(CHANNEL)}) >= 1)
        await asyncio.sleep(1.0)
    finally:
        await app.stop()
        await task
    return first, full


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=10)
    parser.add_argument("--llm-latency", type=float, default=0.0, help="seconds the fake LLM takes per call")
    args = parser.parse_args()
    ids = [f"2501.{10000 + n}" for n in range(args.papers)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp, FakeArxiv() as arxiv, FakeLLM() as llm, FakeTelegram() as telegram:
        llm.latency_s = args.llm_latency
        for arxiv_id in ids:
            add_paper(arxiv, arxiv_id)
        for post_format in ("rich", "classic"):
            telegram.reset()
            telegram.add_chat(CHANNEL, type="channel", title="Bench")
            settings = settings_for(Path(tmp), arxiv, llm, telegram, post_format)
            first, full = asyncio.run(run_format(settings, telegram, ids))
            posts = telegram.messages_in(CHANNEL)
            rows.append(
                (
                    post_format,
                    statistics.median(first),
                    p95(first),
                    statistics.median(full),
                    p95(full),
                    len(posts) / len(ids),
                )
            )
    print(f"{args.papers} papers, fake LLM latency {args.llm_latency} s\n")
    print(
        "| format | first status reply, median | p95 | review delivered, median | p95 | channel messages per review |"
    )
    print("|---|---|---|---|---|---|")
    for name, f_med, f_p95, d_med, d_p95, per_review in rows:
        print(
            f"| {name} | {f_med * 1000:.0f} ms | {f_p95 * 1000:.0f} ms | {d_med:.2f} s | {d_p95:.2f} s | {per_review:.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
