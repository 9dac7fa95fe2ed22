"""Fault matrix: one fault per case, injected into the fakes while the bot (in-process, real
aiogram polling) reviews one paper that two users asked for and the channel gets.

For each case the figures are: reviews delivered (to the two requesters, and the channel post),
retries made (requests to the faulty service beyond what a fault-free run makes, from the fake's
request log) and the time from the requests to the last delivery. Nothing may be lost (each
requester gets the review, or a clear failure notice where retrying cannot help) and nothing
posted twice. The fast cases keep each fault to a few seconds; the `slow` ones outlast the
retry policy (a burst longer than its tries, a lock longer than SQLite's busy timeout).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

import bot.service
from paperdigest.settings import Settings
from tests.fakes.llm import FakeLLM
from tests.fakes.telegram import FakeTelegram
from tests.reliability.harness import CHANNEL, add_papers, count, notices_in, report, reviews_in
from tests.support.bot import running

ALICE, BOB = 2001, 2002
PAPER = "2501.00042"
BASELINE = {"api": 1, "pdf": 1, "llm": 1, "telegram": 3}  # 2 replies and 1 channel post


@dataclass(frozen=True)
class Case:
    name: str
    service: str  # whose request log counts the retries: api, pdf, llm, telegram
    arm: Callable[..., object]
    settings: dict = field(default_factory=dict)
    outcome: str = "review"  # or "notice": retrying cannot help, the requesters are told
    filler_pages: int = 0


def hold_write_lock(database: Path, seconds: float) -> threading.Thread:
    """Another writer: a second sqlite connection holding BEGIN IMMEDIATE for `seconds`."""
    ready = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(database, timeout=30, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        ready.set()
        time.sleep(seconds)
        conn.execute("ROLLBACK")
        conn.close()

    thread = threading.Thread(target=hold, name="other writer", daemon=True)
    thread.start()
    ready.wait(10)
    return thread


FAST = [
    Case("no fault (baseline)", "api", lambda f: None),
    Case("arXiv API 503 x2", "api", lambda f: f.arxiv.fail_next("api", 503, times=2, retry_after=0)),
    Case(
        "arXiv API 429 x2, Retry-After 0.5 s", "api", lambda f: f.arxiv.fail_next("api", 429, times=2, retry_after=0.5)
    ),
    Case(
        "arXiv API hangs 3 s (timeout 1 s)", "api", lambda f: f.arxiv.delay_next("api", 1.5), {"ARXIV_TIMEOUT_S": 1.0}
    ),
    Case("PDF 503 x2", "pdf", lambda f: f.arxiv.fail_next("pdf", 503, times=2, retry_after=0)),
    Case("PDF truncated mid-stream x2", "pdf", lambda f: f.arxiv.truncate_next("pdf", keep_bytes=500, times=2)),
    Case("PDF hangs 3 s (timeout 1 s)", "pdf", lambda f: f.arxiv.delay_next("pdf", 1.5), {"ARXIV_TIMEOUT_S": 1.0}),
    Case("LLM 429 x2", "llm", lambda f: f.llm.fail_next("rate_limit", times=2, retry_after=0)),
    Case("LLM 500 x2", "llm", lambda f: f.llm.fail_next("server", times=2)),
    Case("LLM timeout (hang, timeout 1.5 s)", "llm", lambda f: f.llm.fail_next("hang"), {"LLM_TIMEOUT_S": 1.5}),
    Case("LLM insufficient_quota", "llm", lambda f: f.llm.fail_next("quota", times=5), outcome="notice"),
    Case(
        "LLM context length exceeded",
        "llm",
        lambda f: setattr(f.llm, "context_tokens", 3000),
        {"LLM_OUTPUT_TOKENS": 800},
        filler_pages=6,
    ),
    Case(
        "Telegram 429 x2 on the review, retry_after 1 s",
        "telegram",
        lambda f: f.telegram.flood_next("sendRichMessage", retry_after=1, times=2),
    ),
    Case("Telegram 502 on the review", "telegram", lambda f: f.telegram.fail_next("sendRichMessage", 502)),
    Case("Telegram 500 on the status line", "telegram", lambda f: f.telegram.fail_next("sendMessage", 500)),
    Case("database locked by another writer 3 s", "api", lambda f, db: hold_write_lock(db, 3.0)),
]
SLOW = [
    Case("arXiv API 503 x6 (outlasts 3 tries)", "api", lambda f: f.arxiv.fail_next("api", 503, times=6, retry_after=0)),
    Case("PDF truncated x6 (outlasts 3 tries)", "pdf", lambda f: f.arxiv.truncate_next("pdf", keep_bytes=500, times=6)),
    Case("LLM 500 x8 (outlasts 4 tries)", "llm", lambda f: f.llm.fail_next("server", times=8)),
    Case("LLM 429 x3, Retry-After 2 s", "llm", lambda f: f.llm.fail_next("rate_limit", times=3, retry_after=2)),
    Case("Telegram 502 x3 on the review", "telegram", lambda f: f.telegram.fail_next("sendRichMessage", 502, times=3)),
    Case(
        "Telegram 429 x3, retry_after 3 s",
        "telegram",
        lambda f: f.telegram.flood_next("sendRichMessage", retry_after=3, times=3),
    ),
    Case("database locked by another writer 12 s (busy timeout 10 s)", "api", lambda f, db: hold_write_lock(db, 12.0)),
]


@dataclass
class Fakes:
    arxiv: object
    llm: FakeLLM
    telegram: FakeTelegram

    def calls(self, service: str) -> int:
        if service == "telegram":
            return len(self.telegram.calls("sendRichMessage")) + len(self.telegram.calls("sendMessage"))
        if service == "llm":
            return len([r for r in self.llm.requests if r.path.endswith("/chat/completions")])
        return len([r for r in self.arxiv.requests if r.kind == service])


def delivered(fake: FakeTelegram, outcome: str) -> bool:
    if outcome == "notice":
        return all(notices_in(fake, user) for user in (ALICE, BOB))
    return all(reviews_in(fake, user)[PAPER] for user in (ALICE, BOB)) and reviews_in(fake, CHANNEL)[PAPER] > 0


async def run_case(
    case: Case,
    settings: Settings,
    fakes: Fakes,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    timeout: float,
) -> None:
    import asyncio

    monkeypatch.setattr(bot.service, "RETRY_TRANSIENT_S", 1.0)  # a burst past the retries: next round soon
    fakes.telegram.add_chat(CHANNEL, type="channel", title="Digest", username="digest_test")
    add_papers(fakes.arxiv, [PAPER], case.filler_pages)
    settings = settings.replace(PUBLISH_USER_REVIEWS=True, **case.settings)
    database = Path(make_url(settings.DATABASE_URL).database)
    baseline_telegram = 2 if case.outcome == "review" else 0  # the two status lines
    try:
        async with running(settings):
            if case.arm.__code__.co_argcount == 2:
                case.arm(fakes, database)
            else:
                case.arm(fakes)
            started = time.monotonic()
            fakes.telegram.push_message(ALICE, ALICE, f"/review {PAPER}")
            fakes.telegram.push_message(BOB, BOB, f"/review {PAPER}")
            deadline = started + timeout
            while not delivered(fakes.telegram, case.outcome) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            elapsed = time.monotonic() - started
            await asyncio.sleep(1.0)  # anything sent twice would arrive by now
    finally:
        fakes.llm.context_tokens = 128000
    figures = count(fakes.telegram, [(ALICE, PAPER), (BOB, PAPER)], {PAPER}, settings.DATABASE_URL)
    reviews = sum(reviews_in(fakes.telegram, chat)[PAPER] for chat in (ALICE, BOB, CHANNEL))
    expected = BASELINE[case.service] + (baseline_telegram if case.service == "telegram" else 0)
    retries = fakes.calls(case.service) - expected
    report(
        request.config,
        f"FAULT {case.name}: reviews delivered {reviews}/3, notices {figures.notices}, "
        f"{case.service} retries {retries}, delivered after {elapsed:.1f} s; {figures.line()}",
    )
    assert figures.lost == 0 and figures.duplicate_posts == 0 and figures.answered_twice == 0, figures.details
    assert delivered(fakes.telegram, case.outcome), f"{case.name}: not delivered in {timeout} s"
    assert figures.unknown == 0


@pytest.fixture
def fakes(fake_arxiv, fake_llm: FakeLLM, fake_telegram: FakeTelegram) -> Fakes:
    return Fakes(fake_arxiv, fake_llm, fake_telegram)


@pytest.mark.parametrize("case", FAST, ids=[c.name for c in FAST])
async def test_fault(
    case: Case, bot_settings: Settings, fakes: Fakes, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    await run_case(case, bot_settings, fakes, request, monkeypatch, timeout=20)


@pytest.mark.slow
@pytest.mark.parametrize("case", SLOW, ids=[c.name for c in SLOW])
async def test_fault_long(
    case: Case, bot_settings: Settings, fakes: Fakes, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    await run_case(case, bot_settings, fakes, request, monkeypatch, timeout=60)
