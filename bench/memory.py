"""Bot process memory with many papers stored.

    .venv/bin/python bench/memory.py [--papers 10000]

Fills a database with N synthetic papers and reviews (bench/site.py's generator), starts the
real `paperdigest bot` process against the fake Bot API, and reads its RSS: right after start,
after /latest, and after a /search (which reads every stored review) — side by side with an
empty database in the same run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.site import populate  # noqa: E402
from paperdigest.db import Database  # noqa: E402
from paperdigest.settings import Settings  # noqa: E402
from tests.fakes.telegram import FakeTelegram  # noqa: E402
from tests.support.process import bot_process, process_env, rss_mb, wait_until  # noqa: E402

USER = 777


def measure(tmp: Path, telegram: FakeTelegram, papers: int) -> list[float]:
    url = f"sqlite:///{tmp / f'memory-{papers}.db'}"
    db = Database(url)
    if papers:
        populate(db, papers)
    db.close()
    settings = Settings(
        _env_file=None, DATABASE_URL=url, DATA_DIR=tmp / "data", BOT_TOKEN=telegram.token, TELEGRAM_API_URL=telegram.url
    )
    telegram.reset()
    figures = []
    with bot_process(process_env(settings), tmp / "bot.log") as process:
        wait_until(lambda: telegram.calls("getUpdates"), timeout=60, what="bot polling")
        time.sleep(1.0)
        figures.append(rss_mb(process.pid))
        for number, command in enumerate(("/latest", "/search attention reasoning"), start=1):
            telegram.push_message(USER, USER, command)
            wait_until(lambda n=number: len(telegram.messages_in(USER)) >= n, timeout=120, what=command)
            figures.append(rss_mb(process.pid))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, FakeTelegram() as telegram:
        rows = {count: measure(Path(tmp), telegram, count) for count in (0, args.papers)}
    print("| papers stored | RSS after start | after /latest | after /search |\n|---|---|---|---|")
    for count, (start, latest, search) in rows.items():
        print(f"| {count} | {start:.0f} MB | {latest:.0f} MB | {search:.0f} MB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
