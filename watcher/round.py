"""The watcher: new papers in the chosen categories become reviews and channel posts by themselves.

One round reads as a pipeline:

    collect (arXiv listings newer than each category's cursor)
      → screen (keywords, exclusions, authors) → rank (LLM or TF-IDF) → choose (top N, token budget)
      → review (Pipeline.review_many) → publish (outbox, rank order, quiet hours; a review that
        failed the check is held for an admin)
      → follow (new versions, withdrawals, digest, staleness: watcher/following.py)

Every step writes what it decided before the next one starts: the cursor moves in the same
transaction that stores the candidates it covered, a candidate is `chosen` before its
review starts and `posted` in the transaction that queues its post. A restart at any point
therefore repeats nothing and misses nothing: the next round reads where the last stopped.
A lease (paperdigest/leases.py, renewed while the round runs) keeps two processes (the bot
and a cron `watch --once`, or two hosts) from running rounds at the same time. The decisions themselves are pure functions in schedule.py and
choosing.py; this module only moves data between them, arXiv and the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy.orm import Session

from paperdigest import fanout, leases, outbox, repo
from paperdigest.db import Database
from paperdigest.errors import PaperdigestError
from paperdigest.models import Review, WatchCandidate, utcnow
from paperdigest.quiet_hours import quiet_until
from paperdigest.records import PaperMeta
from paperdigest.settings import Settings
from summarizer.grounding import Grounding, may_post_automatically
from summarizer.ids import ArxivId
from summarizer.pipeline import Pipeline
from watcher import store
from watcher.choosing import AUTHOR_BONUS, Screened, affordable, choose, held_text, newest, rank_key, screen
from watcher.following import Follower
from watcher.listing import ArxivListing, category_query
from watcher.ranking import Item, Ranker, Score, Taste
from watcher.report import RoundReport
from watcher.schedule import announcement_day, last_announcement, submission_window

log = logging.getLogger(__name__)
MAX_REVIEW_PASSES = 4  # a failed review frees its slot for the next candidate, a few times per round
Clock = Callable[[], datetime]


class Watcher:
    def __init__(
        self,
        pipeline: Pipeline,
        listing: ArxivListing,
        ranker: Ranker,
        settings: Settings,
        *,
        clock: Clock = utcnow,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.db = pipeline.db
        self.listing = listing
        self.ranker = ranker
        self.settings = settings
        self.clock = clock
        self.on_queued = on_queued
        self.follower = Follower(pipeline, settings)

    async def round(self) -> RoundReport:
        now = self.clock()
        report = RoundReport(announcement_day(now))
        holder, lease_s = self.pipeline.worker, self.settings.LEASE_S
        with self.db.session() as session, session.begin():
            if not leases.take(session, leases.WATCH_ROUND, holder, lease_s):
                report.skipped = True
                return report
        steps = asyncio.create_task(self._steps(now, report), name="watcher round steps")
        try:
            await _renewing(self.db, holder, lease_s, steps)
        finally:
            with self.db.session() as session, session.begin():
                leases.release(session, leases.WATCH_ROUND, holder)
        if report.queued and self.on_queued:
            self.on_queued()
        log.info("watcher round %s", report.summary())
        return report

    async def _steps(self, now: datetime, report: RoundReport) -> None:
        await self._collect(now, report)
        await self._rank(report)
        await self._review(report)
        self._publish(now, report)
        await self.follower.versions(now, report)
        self.follower.notes(now, report)
        self.follower.digest(now, report)
        self.follower.alarms(now, report)

    async def run(self, stop: asyncio.Event) -> None:
        """Rounds every WATCH_INTERVAL_S until `stop`; a stop mid-round cancels it (nothing is lost)."""
        while not stop.is_set():
            round_task = asyncio.create_task(self.round(), name="watcher round")
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({round_task, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not round_task.done():
                round_task.cancel()
            try:
                await round_task
            except asyncio.CancelledError:
                break
            except Exception as err:  # noqa: BLE001 - one bad round must not end the watcher
                log.error("watcher round failed: %r", err, exc_info=not isinstance(err, PaperdigestError))
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.settings.WATCH_INTERVAL_S)
            except TimeoutError:
                pass

    # --- collect: listings → candidates -------------------------------------------------------

    async def _collect(self, now: datetime, report: RoundReport) -> None:
        first_window = submission_window(last_announcement(now))[0]
        for category in self.settings.WATCH_CATEGORIES:
            with self.db.read() as session:
                since = store.cursor(session, category) or first_window
            query = category_query(category, self.settings.WATCH_QUERY)
            try:
                metas, _ = await self.listing.newer_than(query, since, max_pages=self.settings.WATCH_MAX_PAGES)
            except PaperdigestError as err:
                if not err.retryable:
                    raise
                log.warning("watcher: listing %s failed, the next round tries again: %s", category, err)
                continue  # its cursor stays: nothing is skipped
            with self.db.session() as session, session.begin():
                report.found += self._store_listings(session, category, metas, report.day)
                store.move_cursor(session, category, newest(m.published for m in metas) or since)

    def _store_listings(self, session: Session, category: str, metas: list[PaperMeta], day: date) -> int:
        known = store.candidates_by_id(session, (m.arxiv_id for m in metas))
        added = 0
        for meta in metas:
            row = known.get(meta.arxiv_id)
            if row is None:
                row = known[meta.arxiv_id] = self._candidate(meta, day)
                session.add(row)
                added += 1
            if category not in row.listed_in:
                row.listed_in = [*row.listed_in, category]  # a new list, so the JSON change is seen
        return added

    def _candidate(self, meta: PaperMeta, day: date) -> WatchCandidate:
        verdict = self._screen(meta)
        return WatchCandidate(
            arxiv_id=meta.arxiv_id,
            day=day,
            version=meta.version,
            title=meta.title,
            authors=meta.authors,
            abstract=meta.abstract,
            categories=meta.categories,
            listed_in=[],
            published=meta.published,
            status="new" if verdict.keep else "filtered",
            reason=verdict.reason,
        )

    def _screen(self, meta: PaperMeta) -> Screened:
        s = self.settings
        return screen(meta, keywords=s.WATCH_KEYWORDS, exclude=s.WATCH_EXCLUDE, authors=s.WATCH_AUTHORS)

    # --- rank ---------------------------------------------------------------------------------

    async def _rank(self, report: RoundReport) -> None:
        with self.db.read() as session:
            rows = [r for r in store.day_candidates(session, report.day, "new") if r.score is None]
        row_ids = {row.arxiv_id: row.id for row in rows}
        if rows:
            # each batch is stored before the next LLM call: a restart mid-ranking pays only for the rest
            items = [Item(r.arxiv_id, r.title, r.abstract) for r in rows]
            async for scores in self.ranker.rank_batches(items, self._taste()):
                with self.db.session() as session, session.begin():
                    for arxiv_id, score in scores.items():
                        if (candidate := session.get(WatchCandidate, row_ids[arxiv_id])) is not None:
                            self._apply_score(candidate, score)
        report.ranked = len(rows)
        with self.db.session() as session, session.begin():
            ranked = [r for r in store.day_candidates(session, report.day) if r.score is not None]
            for number, row in enumerate(sorted(ranked, key=lambda r: rank_key(r.arxiv_id, r.score)), 1):
                row.rank = number

    def _taste(self) -> Taste | None:
        """What the channel's readers liked: reactions to its posts (none without a channel)."""
        if not self.settings.CHANNEL_ID:
            return None
        with self.db.read() as session:
            found, posts = store.channel_taste(session, self.settings.CHANNEL_ID, self.clock())
        log.info(
            "watcher: taste from %d post(s), %d liked (median %.1f reactions)", posts, len(found.liked), found.median
        )
        return found

    def _apply_score(self, row: WatchCandidate, score: Score) -> None:
        verdict = self._screen(PaperMeta(row.arxiv_id, row.version, row.title, list(row.authors), row.abstract))
        row.score = score.score + (AUTHOR_BONUS if verdict.watched_author else 0.0)
        row.reason = " · ".join(part for part in (score.explained, verdict.reason) if part)
        row.ranker = score.ranker

    # --- choose and review --------------------------------------------------------------------

    async def _review(self, report: RoundReport) -> None:
        for _ in range(MAX_REVIEW_PASSES):
            todo = self._choose(report.day)
            if not todo:
                return
            results = await self.pipeline.review_many([ArxivId(i) for i in todo])
            if not self._record_reviews(results, report):
                return  # nothing failed for good: no slot was freed

    def _choose(self, day: date) -> list[str]:
        """Mark the best open candidates `chosen` up to the day's slots; the chosen ones the budget allows."""
        with self.db.session() as session, session.begin():
            for row in store.stale_chosen(session, day):  # an earlier announcement's leftovers
                row.status, row.error = "missed", "не дошла очередь до следующего объявления"
            held = len(store.day_candidates(session, day, *store.HOLDS_SLOT))
            open_rows = [r for r in store.day_candidates(session, day, "new") if r.score is not None]
            picked = set(choose(((r.arxiv_id, r.score) for r in open_rows), self.settings.WATCH_MAX_PER_DAY - held))
            for row in open_rows:
                if row.arxiv_id in picked:
                    row.status = "chosen"
            chosen = store.day_candidates(session, day, "chosen")
            fits = affordable(
                len(chosen),
                used=repo.tokens_today(session),
                budget=self.settings.DAILY_TOKEN_BUDGET,
                per_review=self._review_tokens(session),
            )
        if fits < len(chosen):
            log.warning(
                "watcher: the daily token budget allows %d of %d chosen review(s); the rest wait", fits, len(chosen)
            )
        return [row.arxiv_id for row in chosen[:fits]]

    def _review_tokens(self, session: Session) -> int:
        if not self.settings.llm_enabled:
            return 0
        default = self.settings.LLM_INPUT_TOKENS + self.settings.LLM_OUTPUT_TOKENS
        return store.tokens_per_review(session, default)

    def _record_reviews(self, results: dict[ArxivId, Review | PaperdigestError], report: RoundReport) -> int:
        """Store each outcome on its candidate; returns how many failed for good."""
        failed = 0
        with self.db.session() as session, session.begin():
            rows = store.candidates_by_id(session, (i.base for i in results))
            for arxiv_id, result in results.items():
                row = rows[arxiv_id.base]
                if isinstance(result, Review):
                    row.status, row.review_id, row.error = "reviewed", result.id, None
                    report.reviewed.append(arxiv_id.base)
                elif result.retryable:  # keeps its slot; the next round tries again
                    row.error = str(result)
                else:
                    row.status, row.error = "failed", str(result)
                    report.failed.append(arxiv_id.base)
                    failed += 1
        return failed

    # --- publish ------------------------------------------------------------------------------

    def _publish(self, now: datetime, report: RoundReport) -> None:
        """Queue a channel post per reviewed candidate, best first; in quiet hours they wait.

        A review that failed the check is held: admins are told once; it is posted when one
        approves it (/approve), or by a later round once /regenerate wrote one that passes.
        With no CHANNEL_ID nothing is posted, but the subscribers still get the round's passing
        reviews: the candidate is then "announced".
        """
        channel = self.settings.CHANNEL_ID
        not_before = quiet_until(now, self.settings.WATCH_QUIET_HOURS)
        with self.db.session() as session, session.begin():
            for row in store.reviewed_unposted(session):
                post = outbox.channel_post(session, channel, row.arxiv_id) if channel else None  # /approve, /post
                if post is None:
                    review = repo.latest_review(session, row.arxiv_id)  # /regenerate may have replaced it
                    if review is None:  # a reviewed candidate always has one; a database edited by hand may not
                        continue
                    if not may_post_automatically(review.validation, review.moderation):
                        self._hold(session, row, review, report)
                        continue
                    if not channel:  # a bot with no channel: its subscribers still get the round's reviews
                        fanout.queue_for_subscribers(session, review)
                        row.status, row.review_id = "announced", review.id
                        continue
                    post = outbox.enqueue(
                        session,
                        kind="channel",
                        chat_id=channel,
                        arxiv_id=row.arxiv_id,
                        version=review.version,
                        review_id=review.id,
                        not_before=not_before,
                    )
                    fanout.queue_for_subscribers(session, review)  # readers whose subscriptions it matches
                    report.posted.append(row.arxiv_id)
                row.status, row.outbox_id = "posted", post.id

    def _hold(self, session: Session, row: WatchCandidate, review: Review, report: RoundReport) -> None:
        if review.moderation == "dropped":
            row.status = "dropped"
            return
        if row.status == "held":
            return  # the admins were told
        row.status, row.review_id = "held", review.id
        grounding = Grounding.from_json(review.grounding)
        suspects = list(dict.fromkeys(n.text for n in grounding.suspects)) if grounding else []
        text = held_text(row.arxiv_id, review.id, suspects)
        log.warning("watcher: review %d of %s failed the check; held for an admin", review.id, row.arxiv_id)
        for admin_id in self.settings.ADMIN_IDS:
            outbox.enqueue(session, kind="notice", chat_id=str(admin_id), arxiv_id=row.arxiv_id, text=text)
        report.held.append(row.arxiv_id)


async def _renewing(db: Database, holder: str, lease_s: float, steps: asyncio.Task[None]) -> None:
    """Wait for the round's steps, renewing its lease every third of LEASE_S; a round whose
    lease another process took (this one stalled past the expiry) is cancelled, not finished
    twice. What it already wrote stays: every step records its decisions as it goes."""
    try:
        while True:
            done, _ = await asyncio.wait({steps}, timeout=lease_s / 3)
            if done:
                return steps.result()
            with db.session() as session, session.begin():
                if not leases.renew(session, leases.WATCH_ROUND, holder, lease_s):
                    raise leases.LeaseLost("the watcher round's lease was taken by another process")
    finally:
        if not steps.done():
            steps.cancel()
            await asyncio.gather(steps, return_exceptions=True)
