"""The watcher's simulated week: its categories, channel and days, papers on topic, the fake
LLM as a ranking judge, one watcher round or relay pass at a given moment, and the channel's
posts as readers see them."""

from __future__ import annotations

import json
import re
from datetime import date, datetime

from sqlalchemy import update

from bot.relay import OutboxRelay
from paperdigest.db import Database
from paperdigest.models import OutboxMessage
from paperdigest.settings import Settings
from paperdigest.wiring import open_pipeline
from tests.fakes.arxiv_days import arxiv_number, submitted_at
from tests.fakes.llm import message_text, russian_review
from tests.fakes.telegram import FakeTelegram
from tests.support.papers import make_pdf
from watcher.report import RoundReport
from watcher.run import open_watcher

CATS = ["cs.CL", "cs.LG", "cs.AI"]
CHANNEL, ADMIN = -1001234567890, 1
THU, FRI, SAT, SUN = date(2025, 1, 9), date(2025, 1, 10), date(2025, 1, 11), date(2025, 1, 12)
INTEREST = "latent reasoning of language models, chain of thought in continuous space"
PDF = make_pdf()


LATENT = "We study latent reasoning: language models think in a continuous space instead of a chain of thought."


def relevant(fake, day: date, number: int, title: str, *, cats: list[str] | None = None, abstract: str = LATENT) -> str:
    arxiv_id = arxiv_number(day, number)
    fake.add_paper(
        arxiv_id,
        title=title,
        authors=["Ada Reasoner"],
        categories=cats or ["cs.CL"],
        abstract=abstract,
        published=submitted_at(day, 0.9 - number / 1000),
        versions={1: PDF},
    )
    return arxiv_id


def llm_judge(scores: dict[str, float]):
    """The fake LLM's answers: JSON scores for ranking prompts (by title), reviews otherwise."""

    def respond(request: dict) -> str:
        text = message_text(request["messages"][-1])
        if "Интересы канала" not in text:
            return russian_review(request)
        items = re.findall(r"^\[(\d+)\] (.+)$", text, re.MULTILINE)
        return (
            "```json\n"
            + json.dumps(
                {
                    "scores": [
                        {
                            "id": int(n),
                            "score": scores.get(title.strip(), 1),
                            "reason": "по теме" if title in scores else "мимо",
                        }
                        for n, title in items
                    ]
                },
                ensure_ascii=False,
            )
            + "\n```"
        )

    return respond


async def round_at(settings: Settings, moment: datetime) -> RoundReport:
    async with open_pipeline(settings) as pipeline, open_watcher(settings, pipeline, clock=lambda: moment) as watcher:
        return await watcher.round()


async def relay_all(settings: Settings, bot) -> None:
    db = Database(settings.DATABASE_URL)
    try:
        await OutboxRelay(bot, db, settings).send_due()
    finally:
        db.close()


def channel_posts(fake: FakeTelegram) -> dict[str, int]:
    """The channel's posts as readers see them: title → message id."""
    found = {}
    for message in fake.messages_in(CHANNEL):
        if message.rich is not None and (title := re.search(r"<h1>(.*?)</h1>", message.rich["html"])):
            found[title.group(1)] = message.message_id
    return found


def posts_sent_at(settings: Settings, moment: datetime) -> None:
    """Date the channel's sent posts `moment` of the simulated week: the relay stamps them with
    the wall clock, while the watcher's rounds run on the simulated one."""
    db = Database(settings.DATABASE_URL)
    with db.session() as session, session.begin():
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.kind == "channel", OutboxMessage.status == "sent")
            .values(sent_at=moment)
        )
    db.close()
