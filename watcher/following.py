"""After the posts: new versions and withdrawals of posted papers, the daily digest, the staleness alarm.

- Versions: once per announcement, the latest metadata of every paper posted in the last
  WATCH_TRACK_DAYS is fetched in id-list batches (100 per request, the shared pacing gate).
  A new version is recorded (a `paper_versions` row; `papers.latest_version` and
  `papers.withdrawn` move, which the site shows); with REVIEW_NEW_VERSIONS=true the new
  version is reviewed again.
- Notes: each round, a sent post whose note (choosing.post_note) differs from the one
  it carries gets an outbox "edit" row holding the post's message ids: the relay edits the
  post in place, never posting again. The post shows the newest review that may be posted:
  a re-review that failed the check waits for an admin like any other.
- Digest (DAILY_DIGEST=true): one message per announcement once its posts are out.
- Staleness: an announcement with no papers in a category that usually has many tells the
  admins (once per announcement and category).
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from paperdigest import outbox, repo
from paperdigest.errors import PaperdigestError
from paperdigest.links import paper_url
from paperdigest.models import OutboxMessage, Paper, Review, WatchNote
from paperdigest.quiet_hours import quiet_until
from paperdigest.records import PaperMeta
from paperdigest.settings import Settings
from summarizer.ids import ArxivId
from summarizer.pipeline import Pipeline
from watcher import store
from watcher.choosing import DigestItem, affordable, digest_text, is_stale, post_link, post_note, stale_text
from watcher.report import RoundReport
from watcher.schedule import last_announcement

log = logging.getLogger(__name__)
HISTORY_DAYS = 21


class Follower:
    def __init__(self, pipeline: Pipeline, settings: Settings) -> None:
        self.pipeline = pipeline
        self.db = pipeline.db
        self.settings = settings

    # --- versions -----------------------------------------------------------------------------

    async def versions(self, now: datetime, report: RoundReport) -> None:
        channel = self.settings.CHANNEL_ID
        key = f"versions:{report.day}"
        with self.db.read() as session:
            if not channel or store.has_mark(session, key):
                return
            ids = [
                ArxivId(p.arxiv_id)
                for p in outbox.sent_channel_posts(session, channel, self._track_since(now))
                if p.arxiv_id
            ]
        if ids:
            try:
                found = await self.pipeline.metadata.fetch(ids)
            except PaperdigestError as err:  # not marked: the next round asks again
                log.warning("watcher: checking %d posted paper(s) for new versions failed: %s", len(ids), err)
                return
            with self.db.session() as session, session.begin():
                for meta in found.values():
                    _record(session, meta)
            if self.settings.REVIEW_NEW_VERSIONS:
                await self._review_new_versions([i.base for i in ids])
        with self.db.session() as session, session.begin():
            store.set_mark(session, key)  # only after success: a failed fetch is tried next round

    async def _review_new_versions(self, ids: list[str]) -> None:
        todo: list[ArxivId] = []
        with self.db.read() as session:
            for arxiv_id in ids:
                paper, review = session.get(Paper, arxiv_id), repo.latest_review(session, arxiv_id)
                if paper and review and not paper.withdrawn and paper.latest_version > review.version:
                    todo.append(ArxivId(arxiv_id, paper.latest_version))
            default = self.settings.LLM_INPUT_TOKENS + self.settings.LLM_OUTPUT_TOKENS
            per_review = store.tokens_per_review(session, default)
            fits = affordable(
                len(todo),
                used=repo.tokens_today(session),
                budget=self.settings.DAILY_TOKEN_BUDGET,
                per_review=per_review if self.settings.llm_enabled else 0,
            )
        if fits < len(todo):
            log.warning("watcher: the daily token budget allows %d of %d re-review(s) of new versions", fits, len(todo))
            todo = todo[:fits]
        for versioned, result in (await self.pipeline.review_many(todo)).items() if todo else ():
            if not isinstance(result, Review):
                log.warning("re-review of %s failed: %s", versioned, result)

    def _track_since(self, now: datetime) -> datetime:
        return now - timedelta(days=self.settings.WATCH_TRACK_DAYS)

    # --- notes on posts -----------------------------------------------------------------------

    def notes(self, now: datetime, report: RoundReport) -> None:
        channel = self.settings.CHANNEL_ID
        if not channel:
            return
        with self.db.session() as session, session.begin():
            for post in outbox.sent_channel_posts(session, channel, self._track_since(now)):
                if post.message_ids and self._note(session, post):
                    report.edits += 1

    def _note(self, session: Session, post: OutboxMessage) -> bool:
        """Queue an edit when the post's note should change; True when one was queued."""
        if post.arxiv_id is None:
            return False
        paper = session.get(Paper, post.arxiv_id)
        review = store.postable_review(session, post.arxiv_id)  # a failed re-review never replaces the post's
        if paper is None or review is None:
            return False
        note = post_note(
            post_version=post.version or review.version,
            review_version=review.version,
            latest_version=paper.latest_version,
            withdrawn=paper.withdrawn,
        )
        row = session.get(WatchNote, post.arxiv_id) or WatchNote(arxiv_id=post.arxiv_id, post_id=post.id)
        if note is None or (note == row.note and review.id == row.review_id):
            return False
        edit = outbox.enqueue(
            session,
            kind="edit",
            chat_id=post.chat_id,
            arxiv_id=post.arxiv_id,
            version=paper.latest_version,
            review_id=review.id,
            text=note,
            message_ids=list(post.message_ids),
        )
        row.note, row.review_id, row.edit_id = note, review.id, edit.id
        session.add(row)
        log.info("post of %s (outbox %d): edit queued: %s", post.arxiv_id, post.id, note)
        return True

    # --- the daily digest ---------------------------------------------------------------------

    def digest(self, now: datetime, report: RoundReport) -> None:
        channel = self.settings.CHANNEL_ID
        if not (self.settings.DAILY_DIGEST and channel):
            return
        key = f"digest:{report.day}"
        with self.db.session() as session, session.begin():
            if store.has_mark(session, key):
                return
            items = self._digest_items(session, report.day, channel)
            if items is None:
                return
            outbox.enqueue(
                session,
                kind="digest",
                chat_id=channel,
                text=digest_text(report.day, items),
                not_before=quiet_until(now, self.settings.WATCH_QUIET_HOURS),
            )
            store.set_mark(session, key)
            report.digest = True

    def _digest_items(self, session: Session, day: date, channel: str) -> list[DigestItem] | None:
        """The day's posts in rank order, or None while some are still to be reviewed or sent."""
        rows = store.day_candidates(session, day)
        if any(r.status in ("chosen", "reviewed") for r in rows):
            return None
        posted = [
            (r, post)
            for r in rows
            if r.status == "posted" and r.outbox_id
            if (post := session.get(OutboxMessage, r.outbox_id)) is not None
        ]
        if not posted or any(post.status not in outbox.FINAL_SEND for _, post in posted):
            return None
        return [
            DigestItem(
                row.title,
                post_link(channel, post.message_ids[0]) if post.message_ids else None,
                paper_url(self.settings.SITE_URL, row.arxiv_id),
            )
            for row, post in posted
            if post.status != "held"
        ]  # a post an admin must decide on is not the day's news

    # --- the staleness alarm ------------------------------------------------------------------

    def alarms(self, now: datetime, report: RoundReport) -> None:
        if now - last_announcement(now) < timedelta(hours=self.settings.WATCH_STALE_AFTER_H):
            return  # the feed may simply not have caught up yet
        day = report.day
        with self.db.session() as session, session.begin():
            counts = store.category_counts(session, day - timedelta(days=HISTORY_DAYS))
            earlier = sorted(d for d in counts if d < day)
            for category in self.settings.WATCH_CATEGORIES:
                history = [counts[d][category] for d in earlier]
                key = f"stale:{day}:{category}"
                if is_stale(
                    counts.get(day, Counter())[category], history, self.settings.WATCH_STALE_MIN
                ) and not store.has_mark(session, key):
                    self._alarm(session, stale_text(category, day, history))
                    store.set_mark(session, key)
                    report.alarms += 1

    def _alarm(self, session: Session, text: str) -> None:
        log.warning("watcher: %s", text)
        for admin_id in self.settings.ADMIN_IDS:
            outbox.enqueue(session, kind="notice", chat_id=str(admin_id), text=text)


def _record(session: Session, meta: PaperMeta) -> None:
    """Store the latest metadata; a version not seen before gets its own row."""
    paper = session.get(Paper, meta.arxiv_id)
    before = (paper.latest_version, paper.withdrawn) if paper else (0, False)
    repo.upsert_paper(session, meta)
    if meta.version > before[0]:
        repo.upsert_version(session, meta.arxiv_id, meta.version)
        log.info("%s: new version v%d recorded (was v%d)", meta.arxiv_id, meta.version, before[0])
    if meta.pdf_url is None and not before[1]:
        log.info("%s: withdrawn (%s)", meta.arxiv_id, meta.comment or "no comment")
