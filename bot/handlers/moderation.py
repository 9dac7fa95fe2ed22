"""/approve and /drop: an admin's decision on a review that failed the check, and its /pending lines.

A failed review is never posted by itself (summarizer.grounding.may_post_automatically).
`/approve <review id | arxiv id>` posts it to the channel as it is and marks it "approved" (a post
the relay held back is queued again); `/drop` marks it "dropped": never posted (a post still in
the queue is held back by the relay), hidden on the site, never given out by the bot again;
`/regenerate <arxiv id>` writes a new review, which replaces the waiting one (in /pending, on the
site), and `/post` then queues it. admin.py checks that the sender is an admin.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from aiogram.types import Message
from sqlalchemy.orm import Session

from bot import texts
from bot.answers import NO_CHANNEL, POSTED
from bot.service import ReviewService
from bot.trust import grounding_of, suspect_numbers
from digest.rebuild import SiteRebuilder
from paperdigest import outbox, repo
from paperdigest.db import Database
from paperdigest.errors import BadArxivId
from paperdigest.models import Review
from paperdigest.settings import Settings
from summarizer.ids import ArxivId, parse_arxiv_id

Decide = Callable[[Session, Review], str]  # records the decision on a failed review, returns the answer


def parse_reference(args: str) -> int | ArxivId:
    """A review id ("12", "#12") or an arXiv id (its latest review); raises BadArxivId otherwise."""
    word = args.split()[0]
    number = word.removeprefix("#")
    return int(number) if number.isdigit() else parse_arxiv_id(word)


def find_review(session: Session, reference: int | ArxivId) -> Review | str:
    """The review meant, or the sentence saying there is none."""
    if isinstance(reference, int):
        return session.get(Review, reference) or texts.NO_SUCH_REVIEW.format(id=reference)
    review = repo.latest_review(session, reference.base, reference.version)
    return review or texts.NO_REVIEW_OF.format(id=reference)


async def _decide(
    message: Message, args: str, command: str, decide: Decide, db: Database, rebuilder: SiteRebuilder
) -> None:
    if not args.strip():
        await message.answer(texts.MODERATION_USAGE.format(command=command))
        return
    try:
        reference = parse_reference(args)
    except BadArxivId as err:
        await message.answer(f"{err.user_message}\n{texts.MODERATION_USAGE.format(command=command)}")
        return
    decided = False
    with db.session() as session, session.begin():
        review = find_review(session, reference)
        if isinstance(review, str):
            answer = review
        elif review.validation != "failed":
            answer = texts.NOT_HELD.format(id=review.id, arxiv_id=review.arxiv_id)
        else:
            answer, decided = decide(session, review), True
    if decided:
        rebuilder.schedule()  # committed: the site shows an approved review and hides a dropped one
    await message.answer(answer)


async def approve(
    message: Message,
    args: str,
    *,
    service: ReviewService,
    db: Database,
    settings: Settings,
    rebuilder: SiteRebuilder,
    **_: object,
) -> None:
    def decide(session: Session, review: Review) -> str:
        review.moderation = "approved"
        fields = {"id": review.id, "arxiv_id": review.arxiv_id, "version": review.version}
        channel = settings.CHANNEL_ID
        posted = outbox.channel_post(session, channel, review.arxiv_id) if channel else None
        if posted is not None and posted.version != review.version:  # a paper is posted once; the watcher edits
            watching = texts.WATCHER_WILL_EDIT if settings.WATCH_CATEGORIES else ""
            return texts.APPROVED_OTHER_VERSION.format(**fields, posted=posted.version, watching=watching)
        outcome = service.publish(session, review)
        if outcome == NO_CHANNEL:
            return texts.APPROVED_NO_CHANNEL.format(**fields)
        return (texts.APPROVED_POSTED if outcome == POSTED else texts.APPROVED).format(**fields)

    await _decide(message, args, "approve", decide, db, rebuilder)


async def drop(
    message: Message, args: str, *, db: Database, settings: Settings, rebuilder: SiteRebuilder, **_: object
) -> None:
    def decide(session: Session, review: Review) -> str:
        fields = {"id": review.id, "arxiv_id": review.arxiv_id}
        channel = settings.CHANNEL_ID
        if channel and outbox.channel_post_left(session, channel, review.arxiv_id, review.version):
            return texts.DROP_POSTED.format(**fields)  # a post still queued is held back by the relay
        review.moderation = "dropped"
        return texts.DROPPED.format(**fields)

    await _decide(message, args, "drop", decide, db, rebuilder)


def held_lines(reviews: list[Review]) -> list[str]:
    """/pending's section: each waiting review with its suspect numbers and the commands."""
    lines = []
    for review in reviews:
        suspects = suspect_numbers(review)
        if suspects:
            why = "сомнительные числа: " + html.escape(", ".join(suspects))
        elif grounding_of(review) is not None:
            why = "числа подтверждены, не пройдены другие проверки"
        else:
            why = "без записи проверки чисел"
        lines.append(
            f"• #{review.id} <code>{html.escape(review.arxiv_id)}v{review.version}</code> — {why} · "
            f"/approve {review.id} · /regenerate {review.id} · /drop {review.id}"
        )
    return lines
