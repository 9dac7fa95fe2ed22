"""/ask: a question about a paper, answered from its stored text; a reply to the answer follows up.

Which paper: `/ask <arxiv id> <question>`; or `/ask <question>` as a reply to the bot's review
(found by the outbox row that sent it, or the arXiv link in its text); or, in the channel's
discussion group, a message that mentions the bot under the automatic forward of a channel
post. A plain reply to the bot's answer continues that thread (its last turns are the context).
Quotas: USER_DAILY_QUESTIONS per reader and, with an LLM, the daily token budget; admins are
exempt. The answer is recorded on the question's row and queued in the outbox in one
transaction; the relay sends it once and stores its message id on the question, so a reply to
it finds the thread. A replayed update whose answer is queued answers nothing; one whose row
has no answer yet (a crash during the LLM call) is answered again, once.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, CommandObject
from aiogram.types import Message, MessageOriginChannel, Update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import question_store as qs
from bot import question_texts as qt
from bot import store
from bot.answering import Answerer, Reply, load_paper
from bot.service import ReviewService
from paperdigest import outbox, repo
from paperdigest.db import Database
from paperdigest.errors import BadArxivId, PaperdigestError
from paperdigest.models import Question
from paperdigest.settings import Settings
from summarizer.ids import find_arxiv_ids, parse_arxiv_id
from summarizer.llm import LlmClient
from summarizer.questions import llm_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    arxiv_id: str
    version: int | None
    parent_id: int | None  # the question whose answer was replied to


def make_router() -> Router:
    router = Router(name="ask")
    router.message.register(ask_command, Command("ask"))
    router.message.register(reply_text, F.reply_to_message & F.text & ~F.text.startswith("/"))
    return router


async def ask_command(
    message: Message,
    command: CommandObject,
    event_update: Update,
    service: ReviewService,
    db: Database,
    settings: Settings,
    is_admin: bool,
) -> None:
    args = " ".join((command.args or "").split())
    target, question = _named_paper(args)
    if target is None and message.reply_to_message is not None:
        with db.read() as session:
            target = _replied_paper(session, message.reply_to_message)
        if target is None:
            await message.answer(qt.NO_PAPER_IN_REPLY)
            return
    if target is None:
        await message.answer(qt.ASK_USAGE)
        return
    if not question:
        await message.answer(qt.NEED_QUESTION.format(id=target.arxiv_id))
        return
    await answer_question(
        message,
        target,
        question,
        update_id=event_update.update_id,
        service=service,
        db=db,
        settings=settings,
        is_admin=is_admin,
    )


async def reply_text(
    message: Message,
    bot: Bot,
    event_update: Update,
    service: ReviewService,
    db: Database,
    settings: Settings,
    is_admin: bool,
) -> None:
    """A reply to the bot's answer (a follow-up), or a mention of the bot under a channel post; else not ours."""
    replied, text = message.reply_to_message, message.text or ""
    if replied is None:
        raise SkipHandler
    if replied.is_automatic_forward:
        me = await bot.me()
        mention = f"@{me.username}" if me.username else None
        if mention is None or mention.lower() not in text.lower():
            return  # readers talking under a channel post: not for the bot, and no "send a link" either
        text = re.sub(re.escape(mention), " ", text, flags=re.IGNORECASE)
    with db.read() as session:
        target = _replied_paper(session, replied, follow_ups_only=not replied.is_automatic_forward)
    if target is None:
        raise SkipHandler  # a reply to something else: a pasted link, say (bot/handlers/review.py)
    question = " ".join(text.split())
    if not question:
        await message.answer(qt.NEED_QUESTION.format(id=target.arxiv_id))
        return
    await answer_question(
        message,
        target,
        question,
        update_id=event_update.update_id,
        service=service,
        db=db,
        settings=settings,
        is_admin=is_admin,
    )


def _named_paper(args: str) -> tuple[Target | None, str]:
    """`2412.06769 С чем сравнивали?` → the paper and the question; no id first → (None, args)."""
    head, _, rest = args.partition(" ")
    if head:
        try:
            arxiv_id = parse_arxiv_id(head)
        except BadArxivId:
            return None, args
        return Target(arxiv_id.base, arxiv_id.version, None), rest.strip()
    return None, args


def _replied_paper(session: Session, replied: Message, *, follow_ups_only: bool = False) -> Target | None:
    asked = qs.answered_in(session, replied.chat.id, replied.message_id)
    if asked is not None:
        return Target(asked.arxiv_id, asked.version, asked.id)
    if follow_ups_only:
        return None
    chats, message_id = [str(replied.chat.id)], replied.message_id
    origin = replied.forward_origin
    if replied.is_automatic_forward and isinstance(origin, MessageOriginChannel):  # the post in the discussion group
        chats = [str(origin.chat.id)] + ([f"@{origin.chat.username}"] if origin.chat.username else [])
        message_id = origin.message_id
    found = qs.paper_of_sent(session, chats, message_id)
    if found is not None:
        return Target(found[0], found[1], None)
    ids = find_arxiv_ids(_all_text(replied))
    return Target(ids[0].base, ids[0].version, None) if ids else None


def _all_text(message: Message) -> str:
    links = [e.url for e in (message.entities or message.caption_entities or []) if e.url]
    return " ".join([message.text or message.caption or "", *links])


def _llm_of(service: ReviewService) -> LlmClient | None:
    return llm_of(service.pipeline.writer)


def _refusal(session: Session, settings: Settings, user_id: int, *, uses_llm: bool) -> str | None:
    limit = settings.USER_DAILY_QUESTIONS
    if limit > 0 and qs.asked_today(session, user_id) >= limit:
        return qt.questions_exceeded(limit, store.next_reset())
    budget = settings.DAILY_TOKEN_BUDGET
    if uses_llm and budget > 0 and repo.tokens_today(session) >= budget:
        return qt.budget_exceeded(store.next_reset())
    return None


async def answer_question(
    message: Message,
    target: Target,
    question: str,
    *,
    update_id: int | None,
    service: ReviewService,
    db: Database,
    settings: Settings,
    is_admin: bool,
) -> None:
    user_id = message.from_user.id if message.from_user else 0
    answerer = Answerer(db, settings, _llm_of(service))
    with db.read() as session:
        earlier = qs.by_update(session, update_id)
        earlier_id = earlier.id if earlier else None
        answered = earlier_id is not None and qs.answer_queued(session, earlier_id)
    if answered:
        log.info("question of update %s was answered already", update_id)
        return
    if earlier_id is not None:  # the update replayed after a crash between the question's row and its answer
        _forget(db, earlier_id)
    with db.read() as session:
        refusal = None if is_admin else _refusal(session, settings, user_id, uses_llm=answerer.llm is not None)
        path = qs.text_path(session, target.arxiv_id, target.version)
        parent = session.get(Question, target.parent_id) if target.parent_id else None
        history = qs.thread(session, parent)
    if refusal:
        await message.answer(refusal)
        return
    paper = load_paper(db, target.arxiv_id, target.version, path) if path else None
    if paper is None:
        await message.answer(qt.NOT_REVIEWED.format(id=target.arxiv_id))
        return
    row_id = _open_question(db, message, target, question, update_id, user_id)
    if row_id is None:
        return
    try:
        reply = await answerer.answer(paper, question, history)
    except PaperdigestError as err:
        log.warning("question %d about %s not answered: %s", row_id, target.arxiv_id, err)
        _forget(db, row_id)
        await message.answer(qt.LLM_FAILED)
        return
    _record_answer(db, row_id, reply, message)
    service.relay.wake()


def _record_answer(db: Database, row_id: int, reply: Reply, message: Message) -> None:
    """The answer on the question's row and its message in the outbox, in one transaction:
    a crash leaves either both (the relay sends it) or neither (a replay answers again)."""
    with db.session() as session, session.begin():
        row = session.get(Question, row_id)
        if row is None:
            return
        row.answer, row.answered_by, row.suspects = reply.answer, reply.answered_by, reply.suspects
        row.prompt_tokens, row.completion_tokens = reply.prompt_tokens, reply.completion_tokens
        outbox.enqueue(
            session,
            kind=outbox.ANSWER,
            chat_id=str(message.chat.id),
            arxiv_id=row.arxiv_id,
            version=row.version,
            question_id=row.id,
            reply_to=message.message_id,
            text=reply.text,
        )


def _open_question(
    db: Database, message: Message, target: Target, question: str, update_id: int | None, user_id: int
) -> int | None:
    """The question's row, written before the (paid) answer so the quota counts it; None: a replay."""
    with db.session() as session, session.begin():
        row = Question(
            update_id=update_id,
            user_id=user_id,
            chat_id=message.chat.id,
            arxiv_id=target.arxiv_id,
            version=target.version,
            parent_id=target.parent_id,
            question=question,
            question_message_id=message.message_id,
        )
        session.add(row)
        try:
            session.flush()
        except IntegrityError:
            log.info("question of update %s exists already", update_id)
            return None
        return row.id


def _forget(db: Database, row_id: int) -> None:
    with db.session() as session, session.begin():
        row = session.get(Question, row_id)
        if row is not None:
            session.delete(row)
