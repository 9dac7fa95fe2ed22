"""/review and pasted links: a stored review at once, otherwise a durable request and a status line.

The stored review given out is the paper's newest one an admin did not drop (`store.current_review`,
as on the site); one that failed the check goes with the same warning its first requester got
(bot/trust.py). When an admin dropped every review of the paper, a new one is written.
"""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import Message, Update
from sqlalchemy.exc import IntegrityError

from bot import store, texts
from bot.service import ReviewService, status_text
from paperdigest import repo
from paperdigest.db import Database
from paperdigest.errors import BadArxivId
from paperdigest.models import ChatRequest
from paperdigest.settings import Settings
from summarizer.ids import ArxivId, find_arxiv_ids, parse_arxiv_id

log = logging.getLogger(__name__)
_budget_alert_day: set[str] = set()  # admins hear once a day that the budget stopped work


def make_router() -> Router:
    router = Router(name="review")
    router.message.register(review_command, Command("review"))
    router.message.register(pasted_text, F.text & ~F.text.startswith("/"))
    return router


async def review_command(
    message: Message,
    command: CommandObject,
    event_update: Update,
    service: ReviewService,
    db: Database,
    settings: Settings,
    is_admin: bool,
) -> None:
    await request_review(
        message,
        command.args or "",
        update_id=event_update.update_id,
        service=service,
        db=db,
        settings=settings,
        is_admin=is_admin,
    )


async def pasted_text(
    message: Message, event_update: Update, service: ReviewService, db: Database, settings: Settings, is_admin: bool
) -> None:
    found = find_arxiv_ids(message.text or "")
    if not found:
        await message.answer(texts.UNKNOWN_TEXT)
        return
    await request_review(
        message,
        str(found[0]),
        update_id=event_update.update_id,
        service=service,
        db=db,
        settings=settings,
        is_admin=is_admin,
    )


def parse_argument(text: str) -> ArxivId:
    """The first word of the argument is the id; a message longer than that is not a second id."""
    words = text.split()
    if not words:
        raise BadArxivId("empty")
    return parse_arxiv_id(words[0])


async def request_review(
    message: Message,
    text: str,
    *,
    update_id: int | None,
    service: ReviewService,
    db: Database,
    settings: Settings,
    is_admin: bool,
    force: bool = False,
    publish: bool = False,
) -> None:
    if not text.strip():
        await message.answer(texts.NEED_ID)
        return
    try:
        arxiv_id = parse_argument(text)
    except BadArxivId as err:
        await message.answer(err.user_message)
        return
    user = message.from_user
    with db.session() as session, session.begin():
        stored = None if force else store.current_review(session, arxiv_id.base, arxiv_id.version)
        if stored is None and not force and repo.latest_review(session, arxiv_id.base, arxiv_id.version):
            # An admin dropped every review of it: a new one is written (the pipeline would hand
            # the stored one back), paid for like any new review.
            log.info("every review of %s was dropped by an admin: writing a new one", arxiv_id)
            force = True
        refusal, budget_spent = None, False
        if stored is None and not is_admin:
            store.lock_user(session, user.id if user else 0)  # another webhook instance counts this user in turn
            refusal, budget_spent = _refusal(session, settings, user.id if user else 0)
        if not refusal:
            request = ChatRequest(
                update_id=update_id,
                chat_id=message.chat.id,
                user_id=user.id if user else 0,
                username=user.username if user else None,
                arxiv_id=arxiv_id.base,
                version=arxiv_id.version,
                force=force,
                publish=publish,
                charged=stored is None,
            )
            session.add(request)
            try:
                session.flush()
            except IntegrityError:  # the same update replayed after a crash: its request exists
                log.info("request for update %s exists already", request.update_id)
                return
            if stored is not None:
                service.answer_waiting(session, stored)
                return
            request_id = request.id
    if refusal:  # answered after the transaction: a write lock held across an await stalls every writer
        await message.answer(refusal)
        if budget_spent:
            await _alert_admins_once(message, settings)
        return
    service.submit(arxiv_id, force=force)  # first: a failed status line must not strand the request
    try:
        status = await message.answer(status_text(arxiv_id.base, "metadata"), parse_mode="HTML")
    except TelegramAPIError as err:
        log.warning("status line for request %d not sent: %s", request_id, err)
        return
    with db.session() as session, session.begin():
        row = session.get(ChatRequest, request_id)
        if row.status == "waiting":
            row.status_message_id = status.message_id


def _refusal(session, settings: Settings, user_id: int) -> tuple[str | None, bool]:
    """Why this user cannot start a new (paid) review now (None: they can), and whether the global budget is spent."""
    limit = settings.USER_DAILY_REVIEWS
    if limit > 0 and store.charged_today(session, user_id) >= limit:
        return texts.quota_exceeded(limit, store.next_reset()), False
    budget = settings.DAILY_TOKEN_BUDGET
    if budget > 0 and repo.tokens_today(session) >= budget:
        return texts.budget_exceeded(store.next_reset()), True
    return None, False


async def _alert_admins_once(message: Message, settings: Settings) -> None:
    day = store.day_start().date().isoformat()
    if day in _budget_alert_day:
        return
    _budget_alert_day.add(day)
    for admin_id in settings.ADMIN_IDS:
        try:
            await message.bot.send_message(
                admin_id,
                f"⚠️ Дневной бюджет токенов ({settings.DAILY_TOKEN_BUDGET}) "
                "исчерпан: новые рецензии для пользователей остановлены до полуночи UTC.",
            )
        except Exception as err:  # noqa: BLE001 - an alert must not break the user's reply
            log.warning("could not alert admin %s: %s", admin_id, err)
