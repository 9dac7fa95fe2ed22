"""The queries of /ask: a reader's questions today, a thread's last turns, which paper a bot message is about."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paperdigest.models import OutboxMessage, PaperVersion, Question
from paperdigest.repo import day_start
from summarizer.questions import Turn

THREAD_TURNS = 4  # the last few turns of a thread are the context of a follow-up
RECENT_SENT = 500  # how far back a chat's sent outbox rows are searched for a replied message


def asked_today(session: Session, user_id: int) -> int:
    query = (
        select(func.count())
        .select_from(Question)
        .where(Question.user_id == user_id, Question.created_at >= day_start())
    )
    return session.scalar(query) or 0


def answered_in(session: Session, chat_id: int, message_id: int) -> Question | None:
    """The question whose answer is this bot message."""
    query = select(Question).where(Question.chat_id == chat_id, Question.answer_message_id == message_id)
    return session.scalar(query.limit(1))


def by_update(session: Session, update_id: int | None) -> Question | None:
    if update_id is None:
        return None
    return session.scalar(select(Question).where(Question.update_id == update_id))


def answer_queued(session: Session, question_id: int) -> bool:
    """The question's answer is in the outbox (queued, sent, or lost mid-send): it is never asked again."""
    query = select(OutboxMessage.id).where(OutboxMessage.question_id == question_id).limit(1)
    return session.scalar(query) is not None


def thread(session: Session, question: Question | None) -> list[Turn]:
    """The last THREAD_TURNS answered turns up to and including this question, oldest first."""
    turns: list[Turn] = []
    while question is not None and len(turns) < THREAD_TURNS:
        if question.answer:
            turns.append(Turn(question.question, question.answer))
        question = session.get(Question, question.parent_id) if question.parent_id else None
    return turns[::-1]


def paper_of_sent(session: Session, chat_ids: list[str], message_id: int) -> tuple[str, int | None] | None:
    """(arxiv id, version) of the review the bot sent as this message (a reply or a channel post)."""
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.chat_id.in_(chat_ids), OutboxMessage.arxiv_id.is_not(None), OutboxMessage.status == "sent")
        .order_by(OutboxMessage.id.desc())
        .limit(RECENT_SENT)
    )
    for row in session.scalars(query):
        if message_id in (row.message_ids or []):
            return row.arxiv_id or "", row.version
    return None


def text_path(session: Session, arxiv_id: str, version: int | None) -> str | None:
    """Where the paper's extracted sections are (this version, else its newest with text)."""
    query = select(PaperVersion.text_path).where(PaperVersion.arxiv_id == arxiv_id, PaperVersion.text_path.is_not(None))
    if version is not None:
        query = query.where(PaperVersion.version == version)
    return session.scalar(query.order_by(PaperVersion.version.desc()).limit(1))
