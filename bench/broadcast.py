"""A broadcast to personal subscribers through the real relay and the fake Bot API under
Telegram's limit of ~30 messages a second per bot: how fast it goes, and how long a channel
post queued in the middle of it waits.

    .venv/bin/python bench/broadcast.py [--readers 600] [--posts 5] [--runs 3]

Each run builds a SQLite database at the newest migration with READERS subscribers (one
category rule each) and one review they all match, fans it out (`fanout.queue_for_subscribers`,
READERS outbox rows of priority BULK), starts the relay, and queues POSTS channel posts one
second apart once the broadcast is under way. Measured: messages a second to readers, the
429s Telegram answered, each channel post's wait from its queueing to the channel, and readers
who got the review twice. Two relays side by side: as shipped (subscriber messages paced at
BULK_SENDS_PER_S) and with that pace lifted (so only Telegram's 429s hold it back). Prints a
Markdown table of medians over --runs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot import relay as relay_module  # noqa: E402
from paperdigest import fanout, outbox  # noqa: E402
from paperdigest import subscriptions as subs  # noqa: E402
from paperdigest.db import Database, upgrade  # noqa: E402
from paperdigest.models import Paper, Review  # noqa: E402
from paperdigest.settings import Settings  # noqa: E402
from tests.fakes.telegram import FakeTelegram, make_bot  # noqa: E402
from tests.support.reviews import stored_review  # noqa: E402

CHANNEL = -1009876543210
FIRST_READER = 100_000
MARKDOWN = "# {title}\n\nA. Author  \nСтатья: https://arxiv.org/abs/{id}\n\n**TL;DR:** Коротко о статье.\n"


def paper_ids(posts: int) -> list[str]:
    """The broadcast's paper first, then one paper per channel post."""
    return [f"2412.{6769 + n:05d}" for n in range(posts + 1)]


def fill(db: Database, telegram: FakeTelegram, readers: int, posts: int) -> None:
    with db.session() as session, session.begin():
        for n, arxiv_id in enumerate(paper_ids(posts)):
            session.add(Paper(arxiv_id=arxiv_id, title=f"Paper {n}", categories=["cs.CL"], primary_category="cs.CL"))
            session.flush()
            stored_review(session, arxiv_id, id=n + 1, markdown=MARKDOWN.format(title=f"Paper {n}", id=arxiv_id))
        for reader in range(FIRST_READER, FIRST_READER + readers):
            subs.add_rule(session, reader, str(reader), subs.category_rule("cs.CL"))
            telegram.add_chat(reader, type="private")
        session.flush()
        fanout.queue_for_subscribers(session, session.get(Review, 1))


def to_readers(telegram: FakeTelegram) -> Counter[str]:
    sends = telegram.delivered("sendRichMessage", "sendMessage")
    return Counter(d.chat_id for d in sends if d.chat_id != str(CHANNEL))


async def wait_for(check, timeout: float = 600.0) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise TimeoutError("the broadcast did not finish in time")
        await asyncio.sleep(0.01)
    return time.monotonic()


async def one_run(telegram: FakeTelegram, tmp: Path, readers: int, posts: int, paced: bool) -> dict[str, float]:
    telegram.reset()
    telegram.limit_sends(30.0)
    telegram.add_chat(CHANNEL, type="channel")
    url = f"sqlite:///{tmp / f'broadcast-{paced}-{time.monotonic_ns()}.db'}"
    upgrade(url)
    db = Database(url)
    fill(db, telegram, readers, posts)
    settings = Settings(
        _env_file=None,
        DATABASE_URL=url,
        DATA_DIR=tmp / "data",
        BOT_TOKEN=telegram.token,
        TELEGRAM_API_URL=telegram.url,
        CHANNEL_ID=str(CHANNEL),
        CHANNEL_POST_INTERVAL_S=0,
    )
    bot = make_bot(telegram)
    shipped_pace = relay_module.BULK_SENDS_PER_S
    relay_module.BULK_SENDS_PER_S = shipped_pace if paced else 10_000.0
    relay = relay_module.OutboxRelay(bot, db, settings)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        started = time.monotonic()
        await wait_for(lambda: sum(to_readers(telegram).values()) >= min(50, readers))
        waits = []
        for arxiv_id in paper_ids(posts)[1:]:
            with db.session() as session, session.begin():
                review_id = session.query(Review.id).filter(Review.arxiv_id == arxiv_id).scalar()
                outbox.enqueue(
                    session, kind="channel", chat_id=str(CHANNEL), arxiv_id=arxiv_id, version=1, review_id=review_id
                )
            relay.wake()
            queued, already = time.monotonic(), len(telegram.messages_in(CHANNEL))
            waits.append(await wait_for(lambda: len(telegram.messages_in(CHANNEL)) > already) - queued)
            await asyncio.sleep(1.0)
        finished = await wait_for(lambda: sum(to_readers(telegram).values()) >= readers)
    finally:
        stop.set()
        await task
        relay_module.BULK_SENDS_PER_S = shipped_pace
        await bot.session.close()
        db.close()
    got = to_readers(telegram)
    return {
        "per_s": readers / (finished - started),
        "seconds": finished - started,
        "refused": len(telegram.refused()),
        "post_wait_ms": statistics.median(waits) * 1000,
        "post_wait_max_ms": max(waits) * 1000,
        "twice": sum(1 for n in got.values() if n > 1),
    }


async def main(readers: int, posts: int, runs: int) -> None:
    results: dict[bool, list[dict[str, float]]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as tmp, FakeTelegram() as telegram:
        for _ in range(runs):
            for paced in (True, False):  # interleaved, so both see the same machine
                results[paced].append(await one_run(telegram, Path(tmp), readers, posts, paced))
    print(f"{readers} readers, {posts} channel posts queued mid-broadcast, medians of {runs} runs\n")
    print("| relay | readers/s | broadcast | 429s | channel post wait (median, max) | readers served twice |")
    print("|---|---|---|---|---|---|")
    for paced, label in ((True, f"as shipped ({relay_module.BULK_SENDS_PER_S:g}/s)"), (False, "pace lifted")):
        rows = results[paced]

        def med(key: str, rows: list[dict[str, float]] = rows) -> float:
            return statistics.median(r[key] for r in rows)

        print(
            f"| {label} | {med('per_s'):.1f} | {med('seconds'):.1f} s | {med('refused'):.0f} "
            f"| {med('post_wait_ms'):.0f} ms, {med('post_wait_max_ms'):.0f} ms | {med('twice'):.0f} |"
        )
    per_s = statistics.median(r["per_s"] for r in results[True])
    print(f"\nAt {per_s:.1f}/s, 50,000 messages (10,000 readers × 5 reviews) take {50_000 / per_s / 60:.0f} min.")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=600)
    parser.add_argument("--posts", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.readers, args.posts, args.runs))
