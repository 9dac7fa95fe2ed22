"""The outbox relay: sends what the outbox holds, once, at Telegram's pace.

A row is marked `sending` (committed) before each request, `in_flight` the moment the
request has left the process (bot/wire.py), and `sent` with Telegram's message ids after
the answer. After a crash, the next start sends a `sending` row again (its request never
left, so nothing can be doubled) and turns an `in_flight` one into `unknown` — shown to
admins in /pending, never blindly repeated (the post may be in the channel already). Flood control: a 429 puts the row back with `not_before` = retry_after
plus jitter; channel posts are spaced CHANNEL_POST_INTERVAL_S apart, private replies
CHAT_REPLY_INTERVAL_S per chat. A "can't parse entities" answer falls back to plain text
(logged), a rich post Telegram refuses falls back to classic HTML. What a review row renders
is `bot.trust.for_telegram`: the header built from the paper's row, its count of checked numbers, and for a reply (its
requester) of a review that failed the check, the warning naming the suspect numbers.

Channel rows (posts, edits) go through the posting gate again when they are sent
(`may_post_automatically`): a row queued before the gate existed, or whose review an admin
dropped after it was queued, becomes `held` (in /pending, logged) instead of reaching the
channel; /approve or /post puts a held post back in the queue.

An "edit" row (queued by the watcher) changes a post already in the channel: its
`message_ids` are the post's messages from the start, `parts_sent` counts those edited,
`text` is the note put on top of the review (bot/post_edit.py). The same guarantees hold:
`sending` before each request, `unknown` on a timeout, flood control; Telegram's "message
is not modified" counts as done.

Personal subscriptions (paperdigest/fanout.py) queue rows of priority BULK: the relay claims
by (priority, id), so channel posts and direct answers go first, and sends BULK rows at most
BULK_SENDS_PER_S. A 403 on one of them unsubscribes the reader (`fanout.drop_blocked`) rather
than failing each later message. Every DIGEST_CHECK_S the lease holder queues the daily
digests that are due (bot/subscriber_digest.py).

An "answer" row is an /ask answer (bot/handlers/ask.py): plain text replying to the question
(`reply_to`); the id of its first message is recorded on its question, so a reply to the
answer continues the thread. One lost mid-send becomes `unknown` like any other, and the
reader is told to ask again if it did not arrive.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import LinkPreviewOptions, Message, ReplyParameters
from sqlalchemy.orm import Session

from bot import texts
from bot.format import classic_messages, plain_text, rich_message
from bot.post_edit import with_note
from bot.store import DROPPED
from bot.subscriber_digest import queue_due_digests
from bot.trust import PaperHeader, for_telegram, paper_header
from bot.wire import on_wire
from paperdigest import fanout, leases, outbox
from paperdigest.db import Database
from paperdigest.leases import LeaseLost
from paperdigest.links import paper_url
from paperdigest.models import OutboxMessage, Paper, Question, Review, utcnow
from paperdigest.outbox import ANSWER, HELD
from paperdigest.settings import Settings
from summarizer.grounding import may_post_automatically

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
IDLE_POLL_S = 1.0
CHANNEL_KINDS = ("channel", "edit", "digest")  # paced as channel posts
# Subscribers' messages (priority BULK) go out at most this often, leaving room under Telegram's
# ~30 messages/s per bot for channel posts and direct answers, which are always claimed first.
BULK_SENDS_PER_S = 20.0
MIN_WAIT_S = 0.002  # the shortest idle wait: a 50 ms floor here cut the paced 20/s to 13-15/s
DIGEST_CHECK_S = 30.0  # how often the readers' daily digests due are looked for


class Unsendable(Exception):
    """Telegram refused the message for good (blocked bot, unknown chat, …)."""


class Blocked(Unsendable):
    """403: the bot was blocked by the user, or removed from the chat."""


class OutboxRelay:
    def __init__(
        self,
        bot: Bot,
        db: Database,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.bot = bot
        self.db = db
        self.settings = settings
        self._clock = clock
        self._sleep = sleep
        self._next_at: dict[str, float] = {}  # chat id → earliest next send
        # A 429 may be the bot's overall limit, not the chat's: every send waits it out
        # (sending to other chats meanwhile only earned more 429s: 6,105 refusals in a 1,000-update burst).
        self._paused_until = 0.0
        self._bulk_next_at = 0.0  # earliest next send of a subscriber's message
        self._digests_checked_at: float | None = None
        self._wakeup = asyncio.Event()
        self.holder = leases.this_holder()
        self.holding = False  # this relay holds the relay lease: it alone sends
        self.recovered = 0  # rows the last take-over of the lease found mid-send (now 'unknown')

    def recover(self) -> int:
        """Take the relay lease now, before serving (recovering what the last relay left
        mid-send); how many rows became 'unknown'. 0 also when another live relay holds it."""
        self.hold()
        return self.recovered

    def hold(self) -> bool:
        """Take the relay lease (one sender across every process on the database, as Telegram's
        limits are per bot; `send_due` renews it with every claim). Taking it over runs the
        recovery of rows the last holder left mid-send, in the same transaction; False while
        another live relay holds it."""
        if self.holding:
            return True
        with self.db.session() as session, session.begin():
            held = leases.take(session, leases.RELAY, self.holder, self.settings.LEASE_S)
            interrupted = self._recover(session) if held and not self.holding else 0
        self.recovered = interrupted
        if interrupted:
            log.warning(
                "%d outbox message(s) were mid-send when the last relay stopped: marked unknown, see /pending",
                interrupted,
            )
        log.info("outbox relay %s: %s", self.holder, "sending" if held else "another process sends; standing by")
        self.holding = held
        return held

    def wake(self) -> None:
        self._wakeup.set()

    def _recover(self, session: Session) -> int:
        """Rows the last relay left mid-send: 'sending' ones go again, 'in_flight' ones become
        'unknown' (never resent: the message may be in the chat). A requester whose review was
        one of those is told how to get it, so a crash between Telegram's answer and our record
        of it never leaves them waiting in silence. Returns how many became 'unknown'."""
        interrupted = outbox.mark_interrupted_sends(session)
        for row in interrupted:
            if row.kind == ANSWER:
                outbox.enqueue(session, kind="notice", chat_id=row.chat_id, text=texts.MAYBE_UNANSWERED)
            elif row.kind == "reply" and row.arxiv_id:
                outbox.enqueue(
                    session,
                    kind="notice",
                    chat_id=row.chat_id,
                    arxiv_id=row.arxiv_id,
                    text=texts.maybe_undelivered(row.arxiv_id),
                )
        return len(interrupted)

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await self._run(stop)
        finally:
            self.release()

    def release(self) -> None:
        """Hand the relay lease back: another instance takes over at once, not after the expiry."""
        if self.holding:
            with self.db.session() as session, session.begin():
                leases.release(session, leases.RELAY, self.holder)
            self.holding = False

    async def deliver_due(self) -> int:
        """Send every row due now and return how many were handled (`watch --once`: a process
        that queued posts and exits). Rows due later (quiet hours, a back-off) stay queued."""
        handled = 0
        while self.hold():
            handled += await self.send_due()
            with self.db.read() as session:
                if outbox.due_count(session, utcnow()) == 0:
                    break
            await self._sleep(0.1)  # pacing or a 429 pause holds the rest back for a moment
        return handled

    async def _run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if not self.hold():
                standby_s = min(10.0, max(1.0, self.settings.LEASE_S / 6))
                try:
                    await asyncio.wait_for(stop.wait(), timeout=standby_s)
                except TimeoutError:
                    pass
                continue
            self._queue_digests()
            sent = await self.send_due()
            if not sent:
                self._wakeup.clear()
                wait = min(
                    [
                        IDLE_POLL_S,
                        *(
                            t - self._clock()
                            for t in (*self._next_at.values(), self._paused_until, self._bulk_next_at)
                            if t > self._clock()
                        ),
                    ]
                )
                try:
                    await asyncio.wait_for(self._wakeup.wait(), timeout=max(wait, MIN_WAIT_S))
                except TimeoutError:
                    pass

    async def send_due(self) -> int:
        """Send every message that is due now; returns how many were handled."""
        handled = 0
        while True:
            now = self._clock()
            if now < self._paused_until:
                return handled
            if not self.hold():
                return handled
            self._next_at = {chat: at for chat, at in self._next_at.items() if at > now}  # 10,000 readers: kept small
            busy = set(self._next_at)
            urgent_only = outbox.NORMAL if now < self._bulk_next_at else None
            # Claimed (pending → sending, committed) before it is sent, and only while the relay
            # lease is still ours (renewed in the same transaction): a relay that stalled past
            # its lease claims nothing after another took over (and ran the recovery).
            with self.db.session() as session, session.begin():
                if not leases.renew(session, leases.RELAY, self.holder, self.settings.LEASE_S):
                    self.holding = False
                    log.warning("outbox relay %s: its lease was taken over; standing by", self.holder)
                    return handled
                message = outbox.claim_next(session, utcnow(), busy, max_priority=urgent_only)
            if message is None:
                return handled
            if message.priority > outbox.NORMAL:
                self._bulk_next_at = now + 1.0 / BULK_SENDS_PER_S
            await self.send(message.id)
            handled += 1

    async def send(self, message_id: int) -> None:
        with self.db.read() as session:
            message = session.get(OutboxMessage, message_id)
            review = session.get(Review, message.review_id) if message.review_id else None
        if message.kind in CHANNEL_KINDS and review is not None and not self._may_post(message, review):
            return
        if message.kind == fanout.SUBSCRIPTION and review is not None and not fanout.may_fan_out(review):
            self._update(message_id, status="failed", error=f"not sent: review {review.id} was dropped since")
            return
        try:
            if message.kind == "edit":
                await self._send_edit(message, review)
            else:
                await self._send_parts(message, review)
        except TelegramRetryAfter as err:
            self._update(
                message_id,
                status="pending",
                attempts_inc=True,
                not_before=utcnow() + timedelta(seconds=err.retry_after + random.uniform(0.1, 1.0)),
                error=f"flood control: retry after {err.retry_after} s",
            )
            self._next_at[message.chat_id] = self._clock() + err.retry_after
            self._paused_until = max(self._paused_until, self._clock() + err.retry_after)
        except LeaseLost as err:  # the row is the new holder's now: leave it as it is
            log.warning("outbox %d not sent by %s: %s", message_id, self.holder, err)
        except Blocked as err:
            log.error("outbox %d to %s failed for good: %s", message_id, message.chat_id, err)
            self._update(message_id, status="failed", error=str(err))
            if message.kind in fanout.SUBSCRIBER_KINDS:
                self._unsubscribe(message.chat_id)
        except Unsendable as err:
            log.error("outbox %d to %s failed for good: %s", message_id, message.chat_id, err)
            self._update(message_id, status="failed", error=str(err))
        except (TelegramServerError, ClientDecodeError, _NotSent) as err:
            # ClientDecodeError: Telegram's front end answered 502-504 with an nginx HTML page,
            # not JSON; like a JSON 5xx, retried later (uncaught, it ended the relay task).
            self._retry_later(message, err)
        except TelegramNetworkError as err:
            if self._status(message_id) != "in_flight":  # the request never left: sending again doubles nothing
                self._retry_later(message, err)
            else:
                log.error("outbox %d to %s: outcome unknown (%s); not resending", message_id, message.chat_id, err)
                self._update(message_id, status="unknown", error=f"outcome unknown: {err}")
        finally:
            self._next_at[message.chat_id] = max(
                self._next_at.get(message.chat_id, 0.0), self._clock() + self._interval(message)
            )

    def _unsubscribe(self, chat_id: str) -> None:
        """A subscriber blocked the bot: their subscriptions end instead of every later message failing."""
        with self.db.session() as session, session.begin():
            removed = fanout.drop_blocked(session, chat_id)
        log.warning("chat %s blocked the bot: %d subscription rule(s) removed", chat_id, removed)

    def _queue_digests(self) -> None:
        """Every DIGEST_CHECK_S: queue the readers' daily digests that are due (this relay alone,
        holding the relay lease, does it)."""
        now = self._clock()
        if self._digests_checked_at is not None and now - self._digests_checked_at < DIGEST_CHECK_S:
            return
        self._digests_checked_at = now
        with self.db.session() as session, session.begin():
            queue_due_digests(session, utcnow())

    def _may_post(self, message: OutboxMessage, review: Review) -> bool:
        """The posting gate again, at send time: a row queued before the gate existed, or whose
        review an admin dropped since, is held (status "held", shown in /pending), not posted.
        /approve or /post puts it back (ReviewService.publish)."""
        if may_post_automatically(review.validation, review.moderation):
            return True
        if review.moderation == DROPPED:
            why = f"review {review.id} was dropped by an admin"
            why += f"; /regenerate {review.arxiv_id}, then /post it" if message.kind == "channel" else ""
        else:
            why = f"review {review.id} failed the number check and no admin approved it (/approve {review.id})"
        log.warning(
            "outbox %d (%s, %s) not sent to %s: %s", message.id, message.kind, message.arxiv_id, message.chat_id, why
        )
        self._update(message.id, status=HELD, error=f"not posted: {why}")
        return False

    def _interval(self, message: OutboxMessage) -> float:
        if message.kind in CHANNEL_KINDS:
            return self.settings.CHANNEL_POST_INTERVAL_S
        return self.settings.CHAT_REPLY_INTERVAL_S

    def _retry_later(self, message: OutboxMessage, err: Exception) -> None:
        attempts = message.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            self._update(message.id, status="failed", attempts_inc=True, error=f"gave up after {attempts} tries: {err}")
            return
        delay = min(300.0, 2.0**attempts) + random.uniform(0, 1)
        self._update(
            message.id,
            status="pending",
            attempts_inc=True,
            error=str(err),
            not_before=utcnow() + timedelta(seconds=delay),
        )

    async def _send_parts(self, message: OutboxMessage, review: Review | None) -> None:
        parts = self._render(message, review)
        formatted = review is not None
        index = message.parts_sent
        while index < len(parts):
            self._mark_sending(message.id)
            try:
                with on_wire(partial(self._update, message.id, status="in_flight")):
                    reply_to = message.reply_to if index == 0 else None
                    sent_id = await self._call(message.chat_id, parts[index], formatted=formatted, reply_to=reply_to)
            except _FormatRefused as err:
                log.warning("outbox %d: Telegram refused the formatted text (%s); sending plain text", message.id, err)
                parts, formatted = plain_text(self._markdown(message, review), site_url=self._site(review)), False
                index = min(index, len(parts) - 1)  # plain parts are never more than formatted ones
                continue
            with self.db.session() as session, session.begin():
                row = session.get(OutboxMessage, message.id)
                row.parts_sent = index + 1
                row.message_ids = [*row.message_ids, sent_id]
                if row.question_id is not None and index == 0:  # a reply to this answer follows up its thread
                    answered = session.get(Question, row.question_id)
                    if answered is not None:
                        answered.answer_message_id = sent_id
            index += 1
        self._update(message.id, status="sent", sent_at=utcnow(), error=None)
        log.info(
            "outbox %d (%s, %s) sent to %s in %d part(s)",
            message.id,
            message.kind,
            message.arxiv_id,
            message.chat_id,
            len(parts),
        )

    def _site(self, review: Review) -> str:
        return paper_url(self.settings.SITE_URL, review.arxiv_id)

    def _markdown(self, message: OutboxMessage, review: Review) -> str:
        markdown = for_telegram(review, self._header(review), to_requester=message.kind == "reply")
        if message.kind == fanout.SUBSCRIPTION and message.text:  # which of the reader's rules it matched
            markdown = with_note(markdown, texts.subscription_note(message.text))
        return markdown

    def _header(self, review: Review) -> PaperHeader | None:
        """The header from the paper's row as it is now (title, code link, the demo page if its results exist)."""
        with self.db.read() as session:
            paper = session.get(Paper, review.arxiv_id)
            if paper is None:
                return None
            return paper_header(paper, review.version, site_url=self.settings.SITE_URL, data_dir=self.settings.DATA_DIR)

    def _render(self, message: OutboxMessage, review: Review | None) -> list[object]:
        if review is None:
            return [message.text or ""]
        return self._render_markdown(self._markdown(message, review), review)

    async def _call(self, chat_id: str, part: object, *, formatted: bool, reply_to: int | None = None) -> int:
        chat = _chat(chat_id)
        try:
            if not formatted:
                return (await self._send_plain(chat, str(part), reply_to)).message_id
            if isinstance(part, str):
                return (
                    await self.bot.send_message(chat, part, parse_mode="HTML", link_preview_options=NO_PREVIEW)
                ).message_id
            return (await self.bot.send_rich_message(chat, part)).message_id
        except TelegramBadRequest as err:
            if formatted and _is_format_error(err.message):
                raise _FormatRefused(err.message) from err
            raise Unsendable(f"Telegram refused: {err.message}") from err
        except TelegramForbiddenError as err:
            raise Blocked(f"Telegram refused: {err.message}") from err
        except TelegramNetworkError as err:
            if "ClientConnectorError" in str(err):  # the request never left: safe to retry
                raise _NotSent(str(err)) from err
            raise

    async def _send_plain(self, chat: int | str, text: str, reply_to: int | None) -> Message:
        if reply_to is None:
            return await self.bot.send_message(chat, text, parse_mode=None)
        # an /ask answer: under the question, even if the reader deleted it meanwhile; its
        # links are the paper's own and the site's, no preview card between question and answer
        replying = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
        return await self.bot.send_message(
            chat, text, parse_mode=None, reply_parameters=replying, link_preview_options=NO_PREVIEW
        )

    # --- edits of published posts -----------------------------------------------------------

    async def _send_edit(self, message: OutboxMessage, review: Review | None) -> None:
        if review is None:
            raise Unsendable("the review this post showed is gone; nothing to edit it to")
        markdown = self._markdown(message, review)
        markdown = with_note(markdown, message.text) if message.text else markdown
        parts = self._render_markdown(markdown, review)
        pairs = list(zip(message.message_ids, parts))
        if len(parts) > len(pairs):
            log.warning(
                "outbox %d: the edited post needs %d message(s), it has %d; the rest is left out",
                message.id,
                len(parts),
                len(pairs),
            )
        for index in range(message.parts_sent, len(pairs)):
            target, part = pairs[index]
            self._mark_sending(message.id)
            with on_wire(partial(self._update, message.id, status="in_flight")):
                await self._edit(message.chat_id, target, part)
            with self.db.session() as session, session.begin():
                session.get(OutboxMessage, message.id).parts_sent = index + 1
        self._update(message.id, status="sent", sent_at=utcnow(), error=None)
        log.info(
            "outbox %d (edit, %s): %d message(s) edited in %s",
            message.id,
            message.arxiv_id,
            len(pairs),
            message.chat_id,
        )

    def _render_markdown(self, markdown: str, review: Review) -> list[object]:
        if self.settings.POST_FORMAT == "rich":
            return [rich_message(markdown, site_url=self._site(review))]
        return list(classic_messages(markdown, site_url=self._site(review)))

    async def _edit(self, chat_id: str, message_id: int, part: object) -> None:
        chat = _chat(chat_id)
        try:
            if isinstance(part, str):
                await self.bot.edit_message_text(
                    text=part, chat_id=chat, message_id=message_id, parse_mode="HTML", link_preview_options=NO_PREVIEW
                )
            else:
                await self.bot.edit_message_text(chat_id=chat, message_id=message_id, rich_message=part)
        except TelegramBadRequest as err:
            if "not modified" in err.message.lower():  # already says this: an edit repeated after a crash
                return
            raise Unsendable(f"Telegram refused the edit of message {message_id}: {err.message}") from err
        except TelegramForbiddenError as err:
            raise Blocked(f"Telegram refused: {err.message}") from err
        except TelegramNetworkError as err:
            if "ClientConnectorError" in str(err):
                raise _NotSent(str(err)) from err
            raise

    def _mark_sending(self, message_id: int) -> None:
        """Just before a request: the row is ours to send (the relay lease is still this
        process's, renewed here) and marked `sending`. A relay that stalled past its lease
        (a frozen VM, a stopped process) finds it taken and sends nothing, so the row goes
        out once, from the relay that took over."""
        with self.db.session() as session, session.begin():
            held = leases.renew(session, leases.RELAY, self.holder, self.settings.LEASE_S)
            row = session.get(OutboxMessage, message_id, populate_existing=True)
            if not held or row.status not in ("sending", "in_flight"):
                self.holding = False
                raise LeaseLost(f"the relay lease was taken over; outbox {message_id} is {row.status}")
            row.status = "sending"

    def _status(self, message_id: int) -> str:
        with self.db.read() as session:
            return session.get(OutboxMessage, message_id).status

    def _update(self, message_id: int, *, attempts_inc: bool = False, **fields: object) -> None:
        with self.db.session() as session, session.begin():
            row = session.get(OutboxMessage, message_id)
            for name, value in fields.items():
                setattr(row, name, value)
            if attempts_inc:
                row.attempts += 1


class _NotSent(Exception):
    """The request did not reach Telegram (connection refused): retrying cannot duplicate it."""


class _FormatRefused(Exception):
    """Telegram could not parse our HTML or rich markup: send the plain-text version."""


def _is_format_error(message: str) -> bool:
    text = message.lower()
    return "parse entities" in text or "rich" in text or "unsupported" in text


def _chat(chat_id: str) -> int | str:
    return int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id
