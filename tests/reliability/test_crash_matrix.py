"""Crash matrix: the real `paperdigest bot` process SIGKILLed at seeded random points, then restarted.

Each run starts the process against the session's fake arXiv, LLM and Telegram, and repeats a
cycle: a batch of /review requests (a new paper asked by two users, an earlier one by a third:
shared papers, several users), a kill point drawn from POINTS, the fault that holds the
pipeline there (a delayed arXiv answer, a hung LLM call, a failing or delayed Telegram send),
a wait until the fakes' request logs show the process is there, a random extra moment,
SIGKILL, restart. After the last cycle the restarted process must finish everything.

Figures (tests/reliability/harness.py): lost requests, duplicate channel posts and
requesters answered more than once must all be 0. A send killed after the request left is by
design never repeated and ends `unknown` in the outbox: counted apart, and it must have
arrived, unless Telegram refused that send (a 5xx) and the kill fell between the answer and
the relay recording it (a window no design closes; the row waits in /pending).
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from paperdigest.settings import Settings
from tests.fakes.llm import FakeLLM
from tests.fakes.telegram import FakeTelegram
from tests.reliability.harness import (
    CHANNEL,
    USERS,
    Figures,
    add_papers,
    count,
    paper_id,
    report,
    reviews_in,
    wait_until,
)
from tests.support.process import crash_env, start

POINTS = ("inbox", "metadata", "pdf", "extract", "llm", "stored", "post")
REACH_TIMEOUT_S = 25.0
FINISH_TIMEOUT_S = 60.0


@dataclass
class Fakes:
    arxiv: object
    llm: FakeLLM
    telegram: FakeTelegram

    def clear_faults(self) -> None:
        for fake in (self.arxiv, self.llm, self.telegram):
            fake.clear_scripts()


class Point:
    """Arms the fault that holds the pipeline at one point and tells when the process is there."""

    def __init__(self, name: str, fakes: Fakes, database: Path) -> None:
        self.name, self.fakes, self.database = name, fakes, database
        self._base = 0

    def _log_size(self) -> int:
        f = self.fakes
        return {
            "metadata": lambda: len(f.arxiv.api_requests()),
            "pdf": lambda: len([r for r in f.arxiv.requests if r.kind == "pdf"]),
            "extract": lambda: len([r for r in f.arxiv.requests if r.kind == "pdf"]),
            "llm": lambda: len(f.llm.requests),
            "stored": lambda: len(f.telegram.calls("sendRichMessage")),
            "post": lambda: len(f.telegram.calls("sendRichMessage")),
        }.get(self.name, lambda: 0)()

    def arm(self) -> None:
        self._base = self._log_size()
        f = self.fakes
        if self.name == "metadata":
            f.arxiv.delay_next("api", 10)
        elif self.name == "pdf":
            f.arxiv.delay_next("pdf", 10)
        elif self.name == "llm":
            f.llm.fail_next("hang")
        elif self.name == "stored":  # the review is stored, its messages wait in the outbox
            f.telegram.fail_next("sendRichMessage", 500, times=3)
        elif self.name == "post":  # Telegram carries the send out and holds the answer
            f.telegram.delay_next("sendRichMessage", 10)

    def reached(self) -> bool:
        if self.name == "inbox":
            return True
        if self.name == "extract":  # the PDF has come: extraction starts at once and takes ~0.1-0.5 s
            return self._log_size() > self._base and (time.sleep(0.05) or True)
        return self._log_size() > self._base


def job_steps(database: Path) -> list[str]:
    """The step of every running job, read with a plain sqlite3 connection (fast enough to poll)."""
    if not database.exists():
        return []
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as conn:
        try:
            return [row[0] for row in conn.execute("SELECT step FROM jobs WHERE status = 'running'")]
        except sqlite3.OperationalError:  # the tables are not created yet
            return []


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(10)


def crash_run(seed: int, cycles: int, fakes: Fakes, settings: Settings, tmp: Path) -> tuple[Figures, list[str]]:
    """One run: `cycles` batches, each followed by a kill at a random point; then the finish."""
    rng = random.Random(seed)
    run_dir = tmp / f"run{seed}"
    settings = settings.replace(DATABASE_URL=f"sqlite:///{run_dir / 'bot.db'}", DATA_DIR=run_dir / "data")
    database = Path(make_url(settings.DATABASE_URL).database)
    env = crash_env(settings) | {"USER_DAILY_REVIEWS": "0", "CHAT_REPLY_INTERVAL_S": "0.05"}
    log = run_dir / "bot.log"
    run_dir.mkdir(parents=True)
    papers = [paper_id(seed, i) for i in range(cycles)]
    add_papers(fakes.arxiv, papers)
    requests: list[tuple[int, str]] = []
    hits: list[str] = []
    process = start(env, log)
    try:
        for cycle in range(cycles):
            wait_until(lambda: fakes.telegram.calls("getUpdates"), 30)
            batch = [(user, papers[cycle]) for user in rng.sample(USERS, 2)]
            if cycle:
                earlier = papers[rng.randrange(cycle)]
                asked = {u for u, p in requests if p == earlier}
                batch.append((rng.choice([u for u in USERS if u not in asked]), earlier))
            point = Point(rng.choice(POINTS), fakes, database)
            point.arm()
            for user, arxiv_id in batch:
                fakes.telegram.push_message(user, user, f"/review {arxiv_id}")
            requests += batch
            reached = wait_until(point.reached, REACH_TIMEOUT_S, interval=0.005)
            time.sleep(rng.uniform(0, 0.3))
            kill(process)
            steps = ",".join(sorted(set(job_steps(database)))) or "-"
            hits.append(f"{point.name}{'' if reached else ' (not reached)'} [running jobs at: {steps}]")
            fakes.clear_faults()
            process = start(env, log)
        wait_until(lambda: finished(fakes.telegram, requests, papers), FINISH_TIMEOUT_S)
        time.sleep(1.0)  # anything sent twice would arrive by now
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            kill(process)
    output = log.read_text(errors="replace")
    assert settings.BOT_TOKEN.get_secret_value() not in output
    return count(fakes.telegram, requests, set(papers), settings.DATABASE_URL), hits


def finished(fake: FakeTelegram, requests: list[tuple[int, str]], papers: list[str]) -> bool:
    posts = reviews_in(fake, CHANNEL)
    return all(reviews_in(fake, user)[p] for user, p in requests) and all(posts[p] for p in papers)


def run_matrix(
    seeds: range, cycles: int, request: pytest.FixtureRequest, fakes: Fakes, settings: Settings, tmp: Path
) -> Figures:
    total, points = Figures(), Counter()
    started = time.monotonic()
    for seed in seeds:
        fakes.arxiv.reset(), fakes.llm.reset(), fakes.telegram.reset()
        fakes.telegram.add_chat(CHANNEL, type="channel", title="Digest", username="digest_test")
        figures, hits = crash_run(seed, cycles, fakes, settings, tmp)
        total.add(figures)
        points.update(h.split()[0] for h in hits)
        report(request.config, f"crash run {seed}: kills at {'; '.join(hits)} -> {figures.line()}")
    report(
        request.config,
        f"CRASH MATRIX {len(seeds)} runs, {len(seeds) * cycles} kills "
        f"({', '.join(f'{p} {n}' for p, n in sorted(points.items()))}), "
        f"{time.monotonic() - started:.0f} s: {total.line()}",
    )
    return total


def check(total: Figures) -> None:
    assert total.lost == 0, total.details
    assert total.duplicate_posts == 0, total.details
    assert total.answered_twice == 0, total.details
    # A restart tells the requester of each reply it left in flight, and no one else (recovery
    # once ran after the relay had started and took the relay's own first send for a crashed one).
    assert total.restart_notices == total.unknown_replies, total.details
    # An unknown row that never arrived is only right when Telegram refused its send and the
    # process died before it recorded the refusal; one marked in flight before its request
    # left would show here with no refused send.
    assert total.unknown_delivered + total.unknown_refused == total.unknown, "an unknown send never arrived: " + str(
        total.details
    )


@pytest.fixture
def fakes(fake_arxiv, fake_llm: FakeLLM, fake_telegram: FakeTelegram) -> Fakes:
    return Fakes(fake_arxiv, fake_llm, fake_telegram)


def test_crash_matrix_fast(
    bot_settings: Settings, fakes: Fakes, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """3 runs, one kill each: seconds enough for `make test`."""
    check(run_matrix(range(3), 1, request, fakes, bot_settings, tmp_path))


@pytest.mark.slow
def test_crash_matrix_20_runs(
    bot_settings: Settings, fakes: Fakes, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """20 runs, three kills each (60 kills at seeded random points)."""
    check(run_matrix(range(100, 120), 3, request, fakes, bot_settings, tmp_path))
