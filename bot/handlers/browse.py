"""/paper, /latest and /search: reading what is stored, for everyone, at no cost.

A review an admin dropped is never given out: /paper gives the paper's newest other review, or
says the review was withdrawn and how to ask for a new one; /latest and /search pass it over.
"""

from __future__ import annotations

import html

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot import store, texts
from bot.relay import OutboxRelay
from bot.review_search import search_reviews
from paperdigest import outbox, repo
from paperdigest.db import Database
from paperdigest.errors import BadArxivId
from paperdigest.links import paper_url
from paperdigest.settings import Settings
from summarizer.ids import parse_arxiv_id

LATEST = 10


def make_router() -> Router:
    router = Router(name="browse")
    router.message.register(paper_command, Command("paper"))
    router.message.register(LatestCommand().answer, Command("latest"))
    router.message.register(search_command, Command("search"))
    return router


async def paper_command(message: Message, command: CommandObject, db: Database, relay: OutboxRelay) -> None:
    try:
        arxiv_id = parse_arxiv_id((command.args or "").split()[0] if command.args else "")
    except BadArxivId as err:
        await message.answer(err.user_message if command.args else texts.NEED_ID.replace("/review", "/paper"))
        return
    dropped = False
    with db.session() as session, session.begin():
        review = store.current_review(session, arxiv_id.base, arxiv_id.version)
        if review is None:  # none yet, or an admin dropped every review of it: never given out again
            dropped = repo.latest_review(session, arxiv_id.base, arxiv_id.version) is not None
        else:
            outbox.enqueue(
                session,
                kind="reply",
                chat_id=str(message.chat.id),
                arxiv_id=review.arxiv_id,
                version=review.version,
                review_id=review.id,
            )
    if review is None:  # answered after the transaction: a write lock held across an await stalls every writer
        await message.answer((texts.REVIEW_DROPPED if dropped else texts.NO_REVIEW_YET).format(id=arxiv_id))
        return
    relay.wake()


def _line(title: str, arxiv_id: str, settings: Settings) -> str:
    link = paper_url(settings.SITE_URL, arxiv_id)
    return f'• <a href="{html.escape(link)}">{html.escape(title)}</a> — /paper {html.escape(arxiv_id)}'


class LatestCommand:
    """/latest: its rows are read again only when a review was stored since (by any process).

    A paper whose every review an admin dropped is left out. /drop stores no review, so that is
    checked at each answer, on the few papers about to be shown (their rows alone are read)."""

    def __init__(self) -> None:
        self._newest_review = -1
        self._rows: list[tuple[str, str]] = []

    def rows(self, db: Database) -> list[tuple[str, str]]:
        with db.read() as session:
            newest = store.newest_review_id(session)
            if newest != self._newest_review:
                self._rows, self._newest_review = store.latest_titles(session, 2 * LATEST), newest
            current = store.with_a_current_review(session, [arxiv_id for _, arxiv_id in self._rows])
        return [row for row in self._rows if row[1] in current][:LATEST]

    async def answer(self, message: Message, db: Database, settings: Settings) -> None:
        rows = self.rows(db)
        if not rows:
            await message.answer(texts.NO_REVIEWS)
            return
        lines = [_line(title, arxiv_id, settings) for title, arxiv_id in rows]
        await message.answer(
            "<b>Последние рецензии</b>\n" + "\n".join(lines), parse_mode="HTML", disable_web_page_preview=True
        )


async def search_command(message: Message, command: CommandObject, db: Database, settings: Settings) -> None:
    query = (command.args or "").strip()
    if not query:
        await message.answer(texts.SEARCH_USAGE)
        return
    with db.read() as session:
        found = search_reviews(session, query, limit=LATEST)
    if not found:
        await message.answer(texts.NOTHING_FOUND.format(query=query[:100]))
        return
    lines = [_line(title, arxiv_id, settings) for title, arxiv_id in found]
    await message.answer(
        f"<b>Найдено: {len(found)}</b>\n" + "\n".join(lines), parse_mode="HTML", disable_web_page_preview=True
    )
