"""What both matrices share: papers on the fake arXiv, who asked for what, and the figures.

A *request* is one (user, paper) pair pushed to the fake Telegram. The figures are read
from what the fakes received, not from what the bot believes it did:

- lost: a request whose requester never got a review (or a notice: a failure, or a restart's
  «it may not have arrived, send /paper …») in the chat;
- duplicate posts: channel messages beyond one per paper;
- answered twice: requesters who got more than one review of the same paper.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import pytest
from sqlalchemy import select

from paperdigest.db import Database
from paperdigest.models import OutboxMessage
from tests.fakes.telegram import FakeTelegram, StoredMessage
from tests.support.papers import make_pdf

CHANNEL = -1001234567890
ABS_LINK = re.compile(r"arxiv\.org/abs/(\d{4}\.\d{4,5})")
USERS = tuple(range(2001, 2009))
SEND_METHODS = ("sendMessage", "sendRichMessage")


@cache
def paper_pdf(pages_of_filler: int = 0) -> bytes:
    return make_pdf(pages_of_filler)


def paper_id(run: int, index: int) -> str:
    """A valid new-style id, distinct per run and index (the month must be 01-12)."""
    return f"25{run % 12 + 1:02d}.{run % 100:02d}{index + 1:03d}"


def add_papers(fake_arxiv, ids: list[str], pages_of_filler: int = 0) -> None:
    for arxiv_id in ids:
        fake_arxiv.add_paper(
            arxiv_id,
            title=f"Paper {arxiv_id} on continuous latent reasoning",
            authors=["Shibo Hao", "Yuandong Tian"],
            abstract="We introduce Coconut, reasoning in a continuous latent space.",
            categories=["cs.CL"],
            versions={1: paper_pdf(pages_of_filler)},
        )


def review_of(message: StoredMessage) -> str | None:
    """The arXiv id a review message is about (None for status lines and notices)."""
    if message.rich is not None:
        content = json.dumps(message.rich, ensure_ascii=False)
    elif "Статья:" in (message.text or ""):
        content = message.text or ""
    else:
        return None
    found = ABS_LINK.search(content)
    return found[1] if found else None


def reviews_in(fake: FakeTelegram, chat_id: int) -> Counter[str]:
    """How many review messages of each paper the chat holds (edits applied)."""
    return Counter(p for m in fake.messages_in(chat_id) if (p := review_of(m)) is not None)


NOTICE_PREFIXES = ("❌", "⚠️ Бот перезапустился")  # a failure, or "it may not have arrived: /paper …"


def notices_in(fake: FakeTelegram, chat_id: int) -> list[str]:
    """Failure notices, and the notice a restart sends for a review whose send it interrupted."""
    return [m.text or "" for m in fake.messages_in(chat_id) if (m.text or "").startswith(NOTICE_PREFIXES)]


def outbox_rows(database_url: str) -> list[OutboxMessage]:
    db = Database(database_url, migrate=False)
    try:
        with db.read() as session:
            return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    finally:
        db.close()


@dataclass
class Figures:
    requests: int = 0
    lost: int = 0
    duplicate_posts: int = 0
    answered_twice: int = 0
    notices: int = 0
    unknown: int = 0  # outbox rows whose send outcome the bot could not know
    unknown_delivered: int = 0  # ... of which the fake Telegram did receive the message
    # ... of which the send reached Telegram and was refused (a 5xx), and the process died
    # between that answer and recording it: by design shown in /pending, not resent
    unknown_refused: int = 0
    unknown_replies: int = 0  # ... of which replies to a requester: each gets a restart notice
    restart_notices: int = 0  # «it may not have arrived» notices the requesters received
    details: list[str] = field(default_factory=list)

    def add(self, other: Figures) -> None:
        for name in (
            "requests",
            "lost",
            "duplicate_posts",
            "answered_twice",
            "notices",
            "unknown",
            "unknown_delivered",
            "unknown_refused",
            "unknown_replies",
            "restart_notices",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.details += other.details

    def line(self) -> str:
        return (
            f"requests {self.requests}, lost {self.lost}, duplicate channel posts {self.duplicate_posts}, "
            f"answered more than once {self.answered_twice}, failure notices {self.notices}, "
            f"unknown sends {self.unknown} (delivered {self.unknown_delivered}, "
            f"refused by Telegram {self.unknown_refused}), restart notices {self.restart_notices}"
        )


def count(
    fake: FakeTelegram, requests: list[tuple[int, str]], papers: set[str], database_url: str, *, channel: int = CHANNEL
) -> Figures:
    """The figures of one run, from the fake Telegram's chats and the outbox."""
    figures = Figures(requests=len(requests))
    for user, arxiv_id in requests:
        got = reviews_in(fake, user)[arxiv_id]
        notice = any(arxiv_id in text for text in notices_in(fake, user))
        if got == 0 and not notice:
            figures.lost += 1
            figures.details.append(f"lost: user {user} never got {arxiv_id}")
        figures.notices += notice
        if got > 1:
            figures.answered_twice += 1
            figures.details.append(f"user {user} got {arxiv_id} {got} times")
    posts = reviews_in(fake, channel)
    for arxiv_id in papers:
        if posts[arxiv_id] > 1:
            figures.duplicate_posts += posts[arxiv_id] - 1
            figures.details.append(f"{arxiv_id} posted {posts[arxiv_id]} times")
    refused_chats = {d.chat_id for d in fake.refused(*SEND_METHODS)}
    figures.restart_notices = sum(
        text.startswith(NOTICE_PREFIXES[1]) for user in {u for u, _ in requests} for text in notices_in(fake, user)
    )
    for row in outbox_rows(database_url):
        if row.status == "unknown":
            figures.unknown_replies += row.kind == "reply"
            figures.unknown += 1
            delivered = reviews_in(fake, int(row.chat_id))[row.arxiv_id] > 0
            figures.unknown_delivered += delivered
            figures.unknown_refused += not delivered and str(row.chat_id) in refused_chats
            if not delivered:
                figures.details.append(
                    f"outbox {row.id} to {row.chat_id} ({row.arxiv_id}) unknown, not delivered"
                    f"{', a send to it was refused' if str(row.chat_id) in refused_chats else ''}"
                )
    return figures


def wait_until(check: Callable[[], object], timeout: float, interval: float = 0.05) -> bool:
    """Poll `check` until it is truthy; False on timeout (the caller decides whether that fails)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return False


def report(config: pytest.Config, line: str) -> None:
    """Print a figure line past pytest's capture, so `make test` and `make check` show it."""
    capture = config.pluginmanager.get_plugin("capturemanager")
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    if capture is None or terminal is None:
        print(line)
        return
    with capture.global_and_fixture_disabled():
        terminal.write_line(line)
