"""SQLAlchemy 2 models: papers (with versions), reviews, jobs and LLM usage."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True)}


class Paper(Base):
    __tablename__ = "papers"

    arxiv_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # without version
    title: Mapped[str] = mapped_column(Text)
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    abstract: Mapped[str] = mapped_column(Text, default="")
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    primary_category: Mapped[str] = mapped_column(String(32), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    journal_ref: Mapped[str] = mapped_column(Text, default="")
    doi: Mapped[str] = mapped_column(String(255), default="")
    published: Mapped[datetime | None]
    updated: Mapped[datetime | None]
    latest_version: Mapped[int] = mapped_column(Integer, default=1)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    code_url: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    versions: Mapped[list[PaperVersion]] = relationship(back_populates="paper", order_by="PaperVersion.version")


class PaperVersion(Base):
    __tablename__ = "paper_versions"
    __table_args__ = (UniqueConstraint("arxiv_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    arxiv_id: Mapped[str] = mapped_column(ForeignKey("papers.arxiv_id", ondelete="CASCADE"))
    version: Mapped[int]
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    pdf_bytes: Mapped[int | None]
    page_count: Mapped[int | None]
    pages_read: Mapped[int | None]
    text_path: Mapped[str | None] = mapped_column(String(512))  # extracted sections, JSON under DATA_DIR
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)

    paper: Mapped[Paper] = relationship(back_populates="versions")


class Review(Base):
    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_paper_created", "arxiv_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    arxiv_id: Mapped[str] = mapped_column(ForeignKey("papers.arxiv_id", ondelete="CASCADE"))
    version: Mapped[int]
    markdown: Mapped[str] = mapped_column(Text)  # header + notes + body, what readers see
    body: Mapped[str] = mapped_column(Text)  # TL;DR and the five sections only
    tldr: Mapped[str] = mapped_column(Text, default="")
    reviewer: Mapped[str] = mapped_column(String(16))  # "llm" or "offline"
    model: Mapped[str] = mapped_column(String(128))
    prompt_version: Mapped[str] = mapped_column(String(32))
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float | None] = mapped_column(Float)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)  # paper tokens sent after the budget
    full_tokens: Mapped[int] = mapped_column(Integer, default=0)  # paper tokens before the budget
    cuts: Mapped[list[dict]] = mapped_column(JSON, default=list)  # sections shortened and by how much
    notes: Mapped[list[str]] = mapped_column(JSON, default=list)
    validation: Mapped[str] = mapped_column(String(16))  # "passed", "failed", "draft"
    problems: Mapped[list[str]] = mapped_column(JSON, default=list)
    # summarizer.grounding.Grounding.to_json(): each number and its source; None before the check
    grounding: Mapped[dict | None] = mapped_column(JSON)
    # A failed review is never posted by itself: "waiting" for an admin, then "approved" or
    # "dropped". None for reviews that passed (and for those stored before the check).
    moderation: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    paper: Mapped[Paper] = relationship()


JOB_STEPS = ("metadata", "pdf", "text", "review", "stored")
ACTIVE = ("pending", "running")


class Job(Base):
    """A durable review job: `step` is the next step to run; a restart resumes there."""

    __tablename__ = "jobs"
    __table_args__ = (
        # Two requests for the same paper share one job: at most one active job per paper.
        Index(
            "ux_jobs_active_paper",
            "arxiv_id",
            unique=True,
            sqlite_where=text("status IN ('pending', 'running')"),
            postgresql_where=text("status IN ('pending', 'running')"),
        ),
        Index("ix_jobs_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    arxiv_id: Mapped[str] = mapped_column(String(64))  # without version
    version: Mapped[int | None]  # the version asked for; None: the latest
    step: Mapped[str] = mapped_column(String(16), default="metadata")
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending/running/done/failed
    force: Mapped[bool] = mapped_column(Boolean, default=False)
    requested_by: Mapped[str] = mapped_column(String(64), default="cli")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(128))  # "host:pid" of the process running it
    lease_expires_at: Mapped[datetime | None]  # the worker renews it while it runs (paperdigest/leases.py)
    not_before: Mapped[datetime | None]  # after a transient failure: no process takes it before then
    error: Mapped[str | None] = mapped_column(Text)
    error_kind: Mapped[str | None] = mapped_column(String(64))
    review_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None]


class Lease(Base):
    """A named piece of work one process at a time holds (the relay, the watcher's round)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))  # "host:pid"
    expires_at: Mapped[datetime]
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)


class Usage(Base):
    """One row per LLM call, for /stats and the bill."""

    __tablename__ = "usage"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    arxiv_id: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(128))
    purpose: Mapped[str] = mapped_column(String(32))  # "review", "retry", "shrink"
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float | None] = mapped_column(Float)
    ok: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- the Telegram side (migration 0002) -----------------------------------------------------


class InboxUpdate(Base):
    """Every Telegram update, stored before Telegram is told it arrived: a crash loses none."""

    __tablename__ = "inbox"

    update_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="received")  # received/done/failed
    error: Mapped[str | None] = mapped_column(Text)
    holder: Mapped[str | None] = mapped_column(String(128))  # the process handling it ("host:pid")
    held_until: Mapped[datetime | None]  # its claim; past it, any instance replays the update
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChatRequest(Base):
    """A person's /review: kept until they have their answer, across restarts."""

    __tablename__ = "chat_requests"
    __table_args__ = (
        Index("ix_chat_requests_paper_status", "arxiv_id", "status"),
        Index("ix_chat_requests_user_day", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    update_id: Mapped[int | None] = mapped_column(unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger)
    username: Mapped[str | None] = mapped_column(String(64))
    arxiv_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int | None]
    force: Mapped[bool] = mapped_column(Boolean, default=False)  # /regenerate
    publish: Mapped[bool] = mapped_column(Boolean, default=False)  # /post: also to the channel
    charged: Mapped[bool] = mapped_column(Boolean, default=False)  # counts against the daily quota
    status: Mapped[str] = mapped_column(String(16), default="waiting")  # waiting/answered/failed
    status_message_id: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]


class OutboxMessage(Base):
    """A message to send, written in the transaction that decided it; the relay sends it once."""

    __tablename__ = "outbox"
    __table_args__ = (
        # Exactly one channel post per paper version.
        Index(
            "ux_outbox_channel_post",
            "chat_id",
            "arxiv_id",
            "version",
            unique=True,
            sqlite_where=text("kind = 'channel'"),
            postgresql_where=text("kind = 'channel'"),
        ),
        Index("ix_outbox_status", "status"),
        Index("ix_outbox_claim", "status", "priority", "id"),
        Index("ix_outbox_question", "question_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(
        String(16)
    )  # channel / reply / notice / answer / edit / digest / subscription / sub_digest
    chat_id: Mapped[str] = mapped_column(String(64))  # "@channel", "-100…" or a user's chat id
    arxiv_id: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int | None]
    review_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id", ondelete="SET NULL"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("chat_requests.id", ondelete="SET NULL"))
    # an /ask answer: the question it answers (the relay records the sent message id there)
    question_id: Mapped[int | None] = mapped_column(
        ForeignKey("questions.id", name="fk_outbox_question", ondelete="SET NULL")
    )
    reply_to: Mapped[int | None] = mapped_column(BigInteger)  # the message in chat_id it replies to
    text: Mapped[str | None] = mapped_column(Text)  # for notices and answers: plain text, sent as is
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending/sending/in_flight/sent/unknown/failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    parts_sent: Mapped[int] = mapped_column(Integer, default=0)
    message_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    not_before: Mapped[datetime | None]
    # Lower goes first: channel posts, replies and notices 0 (NORMAL), subscribers' messages 10
    # (paperdigest/outbox.py); the relay claims by (priority, id).
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


# --- the watcher (migration 0003) -----------------------------------------------------------

from datetime import date  # noqa: E402 - kept with the watcher's models, which alone use it


class WatchCursor(Base):
    """The newest submission seen in a category's listing: the next round asks for newer ones."""

    __tablename__ = "watch_cursors"

    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_submitted: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WatchCandidate(Base):
    """A new paper the watcher found, once per paper: its score, reason and fate."""

    __tablename__ = "watch_candidates"
    __table_args__ = (Index("ix_watch_candidates_day_status", "day", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    arxiv_id: Mapped[str] = mapped_column(String(64), unique=True)  # without version
    day: Mapped[date]  # the arXiv announcement (US Eastern date) it came with
    version: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[str] = mapped_column(Text)
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    abstract: Mapped[str] = mapped_column(Text, default="")
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    listed_in: Mapped[list[str]] = mapped_column(JSON, default=list)  # watched categories that listed it
    published: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="new")  # new/filtered/chosen/reviewed/posted/failed
    score: Mapped[float | None] = mapped_column(Float)  # 0…10, a watched author adds 10
    reason: Mapped[str] = mapped_column(Text, default="")
    ranker: Mapped[str | None] = mapped_column(String(128))  # "tfidf" or "llm:<model>"
    rank: Mapped[int | None]  # 1 = reviewed first
    review_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id", ondelete="SET NULL"))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WatchNote(Base):
    """The note a channel post carries about later versions or a withdrawal (edited in place)."""

    __tablename__ = "watch_notes"

    arxiv_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))  # the channel post
    review_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id", ondelete="SET NULL"))  # shown in it
    note: Mapped[str | None] = mapped_column(Text)
    edit_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))  # the last edit
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WatchMark(Base):
    """Things done once (an alarm sent, a digest queued, versions checked)."""

    __tablename__ = "watch_marks"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)  # e.g. "digest:2026-12-01"
    value: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- personal subscriptions (migration 0007) ------------------------------------------------


class Subscriber(Base):
    """A reader with personal subscriptions: how their matches reach them."""

    __tablename__ = "subscribers"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[str] = mapped_column(String(64))  # their private chat with the bot
    mode: Mapped[str] = mapped_column(String(16), default="instant")  # instant / daily / off
    digest_minute: Mapped[int] = mapped_column(Integer, default=540)  # daily: minutes after midnight, Moscow
    last_digest_on: Mapped[date | None]  # daily: the Moscow date of the last digest queued
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SubscriptionRule(Base):
    """One rule: a category, an author or a keyword phrase, normalised (paperdigest/subscriptions.py).

    `key` is what a new paper is looked up by (ix_subscription_rules_lookup): the category, the
    author's normalised name, or the longest word of the phrase (the phrase is checked after,
    once per distinct phrase: the index holds the value too)."""

    __tablename__ = "subscription_rules"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "value"),
        Index("ix_subscription_rules_lookup", "kind", "key", "value"),  # covers the phrase lookup
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("subscribers.user_id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # category / author / keyword
    value: Mapped[str] = mapped_column(String(200))  # normalised
    key: Mapped[str] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(200))  # as the reader wrote it
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SubscriptionDelivery(Base):
    """A paper version a subscriber was sent, or will be in their daily digest: once each.

    Kept when the reader unsubscribes (no foreign key to subscribers), so subscribing again
    never brings an old paper back."""

    __tablename__ = "subscription_deliveries"
    __table_args__ = (
        UniqueConstraint("user_id", "arxiv_id", "version"),
        Index("ix_subscription_deliveries_user_status", "user_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    arxiv_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    review_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(200), default="")  # the rule it matched, as written
    status: Mapped[str] = mapped_column(String(16))  # queued (an outbox row) / pending (daily digest) / dropped
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- readers' reactions to channel posts (migration 0008) -----------------------------------


class PostReaction(Base):
    """The latest reaction counts Telegram reported for one message of a channel post
    (a `message_reaction_count` update); a newer report replaces the row's counts."""

    __tablename__ = "post_reactions"
    __table_args__ = (Index("ix_post_reactions_arxiv_id", "arxiv_id"),)

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)  # the channel's -100… id
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))  # the channel post
    arxiv_id: Mapped[str] = mapped_column(String(64))
    total: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # emoji (or "custom:<id>", "paid") → count
    reported_at: Mapped[datetime]  # the update's date: an older report arriving late changes nothing
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# --- questions about a paper (migration 0009) ----------------------------------------------


class Question(Base):
    """A reader's question about a paper and the answer sent; `parent_id` links a follow-up to its thread."""

    __tablename__ = "questions"
    __table_args__ = (
        Index("ix_questions_answer", "chat_id", "answer_message_id"),
        Index("ix_questions_user_day", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    update_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)  # a replayed update answers once
    user_id: Mapped[int] = mapped_column(BigInteger)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    arxiv_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int | None]
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("questions.id", ondelete="SET NULL"))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_by: Mapped[str] = mapped_column(String(16), default="passages")  # "passages" (offline) or "llm"
    suspects: Mapped[list[str]] = mapped_column(JSON, default=list)  # numbers the paper does not state
    question_message_id: Mapped[int | None] = mapped_column(BigInteger)
    answer_message_id: Mapped[int | None] = mapped_column(BigInteger)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
