"""Several processes on one PostgreSQL server, SIGKILLed at random and restarted: `paperdigest
worker` processes and `paperdigest bot` webhook instances (REVIEWS_IN_BOT=false) behind one
URL, with /review requests for papers several users share.

The test plays Telegram's part for the webhook: each update is POSTed to one instance in turn
and, when that one is down or does not answer 200, to the other, until one took it (Telegram
retries an update until it gets a 200). Meanwhile a chaos thread kills a random process now
and then and starts it again a moment later. After the last request and the last kill, every
process stays up until everything is answered.

Figures (tests/reliability/harness.py, read from what the fake Telegram received): requests
lost, duplicate channel posts, requesters answered more than once, and jobs stranded (pending
or running) once everything settled — all must be 0.
"""

from __future__ import annotations

import json
import random
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from paperdigest.db import Database
from paperdigest.models import Job
from paperdigest.settings import Settings
from tests.fakes.llm import FakeLLM
from tests.fakes.plugin import FAKE_LLM_KEY
from tests.fakes.telegram import FakeTelegram
from tests.reliability.harness import CHANNEL, add_papers, count, paper_id, report, wait_until
from tests.support.process import crash_env, start

SECRET = "cluster-Secret_1"
STARTED = re.compile(r"(?:bot @\S+|worker \S+) started")
SETTLE_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class Scale:
    workers: int
    bots: int
    papers: int
    requests: int
    kills: int


SMALL = Scale(workers=2, bots=2, papers=8, requests=24, kills=3)
FULL = Scale(workers=3, bots=2, papers=60, requests=200, kills=12)


class Cluster:
    """The processes, each restartable by its index."""

    def __init__(self, envs: list[tuple[str, dict[str, str]]], log_dir: Path) -> None:
        self.envs, self.log_dir = envs, log_dir
        self.processes: list[subprocess.Popen | None] = [None] * len(envs)
        self.offsets = [0] * len(envs)  # where each process's last start begins in its log
        self.lock = threading.Lock()
        self.kills = 0

    def log(self, index: int) -> Path:
        return self.log_dir / f"{self.envs[index][0]}-{index}.log"

    def start(self, index: int) -> None:
        log = self.log(index)
        self.offsets[index] = log.stat().st_size if log.exists() else 0
        self.processes[index] = start(self.envs[index][1], log, self.envs[index][0])

    def all_up(self) -> bool:
        """Every process finished starting since its last (re)start: its "started" line is there."""
        for index, offset in enumerate(self.offsets):
            with self.log(index).open("rb") as log:
                log.seek(offset)
                if not STARTED.search(log.read().decode(errors="replace")):
                    return False
        return True

    def kill(self, index: int) -> None:
        with self.lock:
            process = self.processes[index]
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait(10)
                self.kills += 1
            self.processes[index] = None

    def stop_all(self) -> list[int]:
        """SIGTERM to each (a process still starting has no handler yet: wait for `all_up` first)."""
        codes = []
        for process in self.processes:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            if process is not None:
                try:
                    codes.append(process.wait(30))
                except subprocess.TimeoutExpired:
                    process.kill()
                    codes.append(process.wait(5))
        return codes

    def output(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in sorted(self.log_dir.glob("*.log")))


def update(update_id: int, user: int, arxiv_id: str) -> bytes:
    sender = {"id": user, "is_bot": False, "first_name": f"U{user}"}
    message = {
        "message_id": update_id,
        "date": int(time.time()),
        "text": f"/review {arxiv_id}",
        "chat": {"id": user, "type": "private", "first_name": f"U{user}"},
        "from": sender,
    }
    return json.dumps({"update_id": update_id, "message": message}).encode()


def deliver(ports: list[int], body: bytes, turn: int, deadline: float) -> None:
    """Telegram's webhook delivery: retried, on the next instance, until one answers 200."""
    while time.monotonic() < deadline:
        port = ports[turn % len(ports)]
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/hook",
            data=body,
            headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                if answer.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        turn += 1
        time.sleep(0.1)
    raise AssertionError("an update could not be delivered to any instance")


def run_cluster(
    scale: Scale,
    seed: int,
    settings: Settings,
    database_url: str,
    ports: list[int],
    fake_arxiv,
    fake_telegram: FakeTelegram,
    log_dir: Path,
) -> tuple[object, int, int]:
    rng = random.Random(seed)
    papers = [paper_id(seed, i) for i in range(scale.papers)]
    add_papers(fake_arxiv, papers)
    users = list(range(3001, 3001 + max(10, scale.requests // 5)))
    for user in users:
        fake_telegram.add_chat(user, type="private", title=None)
    pairs = sorted({(rng.choice(users), rng.choice(papers)) for _ in range(scale.requests * 2)})
    requests = rng.sample(pairs, scale.requests)

    base = crash_env(settings)
    base.update(
        DATABASE_URL=database_url,
        REVIEWS_IN_BOT="false",
        USER_DAILY_REVIEWS="0",
        LEASE_S="6",
        WORKER_JOBS="4",
        CHAT_REPLY_INTERVAL_S="0",
        CHANNEL_POST_INTERVAL_S="0.05",
    )
    envs = [("worker", dict(base)) for _ in range(scale.workers)]
    for port in ports[: scale.bots]:
        envs.append(
            (
                "bot",
                {
                    **base,
                    "WEBHOOK_URL": "https://bot.example/hook",
                    "WEBHOOK_SECRET": SECRET,
                    "WEBHOOK_PORT": str(port),
                },
            )
        )
    cluster = Cluster(envs, log_dir)
    for index in range(len(envs)):
        cluster.start(index)
    bot_ports = ports[: scale.bots]
    assert wait_until(lambda: len(fake_telegram.calls("setWebhook")) >= scale.bots, 60), cluster.output()

    done = threading.Event()

    def chaos() -> None:
        while cluster.kills < scale.kills and not done.is_set():
            time.sleep(rng.uniform(1.0, 3.0))
            victim = rng.randrange(len(envs))
            cluster.kill(victim)
            time.sleep(rng.uniform(0.2, 1.5))
            cluster.start(victim)

    killer = threading.Thread(target=chaos, name="chaos")
    killer.start()
    deadline = time.monotonic() + 300
    try:
        for update_id, (user, arxiv_id) in enumerate(requests, start=1):
            deliver(bot_ports, update(update_id, user, arxiv_id), update_id, deadline)
            time.sleep(rng.uniform(0.0, 0.15))
        killer.join(120)
        done.set()

        def settled() -> bool:
            return count(fake_telegram, requests, set(papers), database_url).lost == 0

        wait_until(settled, SETTLE_TIMEOUT_S, interval=0.5)
        time.sleep(3.0)  # anything sent twice arrives by now
        assert wait_until(cluster.all_up, 60), "a restarted process did not finish starting"
        figures = count(fake_telegram, requests, set(papers), database_url)
        db = Database(database_url, migrate=False)
        with db.read() as session:
            stranded = session.scalar(
                select(func.count()).select_from(Job).where(Job.status.in_(("pending", "running")))
            )
        db.close()
    finally:
        done.set()
        codes = cluster.stop_all()
    output = cluster.output()
    for index, code in enumerate(codes):
        assert code == 0, (index, code, cluster.log(index).read_text(errors="replace")[-4000:])
    assert settings.BOT_TOKEN.get_secret_value() not in output and FAKE_LLM_KEY not in output
    return figures, stranded or 0, cluster.kills


def _check(scale: Scale, request: pytest.FixtureRequest, figures, stranded: int, kills: int) -> None:
    line = f"cluster {scale}: {kills} SIGKILLs; {figures.line()}, jobs stranded {stranded}"
    report(request.config, line)
    assert (figures.lost, figures.duplicate_posts, figures.answered_twice, stranded) == (0, 0, 0, 0), (
        line,
        figures.details,
    )
    assert kills >= scale.kills  # the chaos really ran


@pytest.fixture
def cluster_settings(settings: Settings, fake_llm: FakeLLM, fake_telegram: FakeTelegram) -> Settings:
    fake_telegram.add_chat(CHANNEL, type="channel", title="Digest", username="digest_test")
    fake_llm.latency_s = 0.3  # jobs in flight when the kills land
    return settings.replace(
        BOT_TOKEN=fake_telegram.token,
        TELEGRAM_API_URL=fake_telegram.url,
        CHANNEL_ID=str(CHANNEL),
        OPENAI_BASE_URL=fake_llm.base_url,
        OPENAI_API_KEY=FAKE_LLM_KEY,
        SITE_URL="https://digest.example",
    )


@pytest.mark.postgres
def test_small_cluster_with_kills_loses_nothing_and_sends_nothing_twice(
    cluster_settings, postgres_database, fake_arxiv, fake_telegram, unused_tcp_port_factory, tmp_path, request
) -> None:
    ports = [unused_tcp_port_factory() for _ in range(SMALL.bots)]
    figures, stranded, kills = run_cluster(
        SMALL, 1, cluster_settings, postgres_database, ports, fake_arxiv, fake_telegram, tmp_path
    )
    _check(SMALL, request, figures, stranded, kills)


@pytest.mark.slow
@pytest.mark.postgres
def test_three_workers_two_webhooks_200_requests_under_kills(
    cluster_settings, postgres_database, fake_arxiv, fake_telegram, unused_tcp_port_factory, tmp_path, request
) -> None:
    ports = [unused_tcp_port_factory() for _ in range(FULL.bots)]
    figures, stranded, kills = run_cluster(
        FULL, 7, cluster_settings, postgres_database, ports, fake_arxiv, fake_telegram, tmp_path
    )
    _check(FULL, request, figures, stranded, kills)
