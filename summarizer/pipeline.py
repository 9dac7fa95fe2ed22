"""The review job: metadata → pdf → text → review → stored, each step recorded on the job row.

A crash leaves the job at the step it reached; the next run (`resume()`, or a new request
for the same paper) continues from there: the PDF is cached on disk, the extracted sections
are saved as JSON, so no finished step is repeated. Two requests for the same paper share
one job row and, inside one process, one asyncio task.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from paperdigest import repo
from paperdigest.db import Database
from paperdigest.errors import JobError, PaperdigestError, PaperWithdrawn
from paperdigest.leases import LeaseLost, is_free, this_holder
from paperdigest.models import Job, Review, utcnow
from paperdigest.records import PaperMeta, Section
from paperdigest.settings import Settings
from summarizer import tokens
from summarizer.arxiv_api import ArxivMetadata
from summarizer.codelinks import find_code_link
from summarizer.extract import PdfExtractor
from summarizer.ids import ArxivId
from summarizer.llm import Completion
from summarizer.pdf_fetch import PdfFetcher
from summarizer.review_format import render_review
from summarizer.reviewer import LlmWriter, OfflineWriter, Written
from summarizer.sections import split_sections
from summarizer.validate import strip_foreign_links

log = logging.getLogger(__name__)
OnStep = Callable[[ArxivId, str], None]
# Runs inside the transaction that stores a review, so what it writes (e.g. channel posts
# in an outbox) is committed together with the review or not at all.
OnStored = Callable[[Session, Review], None]
# Runs inside the transaction that fails a job for good (not for a transient failure, which
# is retried): a worker tells the paper's requesters there, with no one awaiting the job.
OnFailed = Callable[[Session, Job, PaperdigestError], None]
POLL_S = 1.0  # how often to look at a job another process is running
RETRY_AFTER_S = 120.0  # a job whose arXiv/LLM call failed transiently waits this long for any worker


@dataclass(frozen=True)
class ExtractedPaper:
    sections: list[Section]
    page_count: int
    pages_read: int
    truncated: bool
    pages: list[str] = field(default_factory=list)  # the cleaned page texts: tell which page a number is on


class Pipeline:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        metadata: ArxivMetadata,
        pdfs: PdfFetcher,
        extractor: PdfExtractor,
        writer: LlmWriter | OfflineWriter,
    ) -> None:
        self.db = db
        self.settings = settings
        self.metadata = metadata
        self.pdfs = pdfs
        self.extractor = extractor
        self.writer = writer
        self.worker = this_holder()
        self.on_stored: list[OnStored] = []
        self.on_failed: list[OnFailed] = []
        self._running: dict[int, asyncio.Task[Review]] = {}
        self._held: set[int] = set()  # jobs this process claimed: their leases are renewed
        self._heartbeat: asyncio.Task[None] | None = None
        self._prefetched: dict[str, PaperMeta] = {}
        # Extraction has a thread of its own: the worker takes one PDF at a time anyway, and
        # 100 papers' extractions waiting in the shared pool held up the budget step of the
        # papers already extracted (the first LLM call of a 100-paper batch started after 4 s).
        self._pdf_thread: ThreadPoolExecutor | None = None

    # --- entry points -------------------------------------------------------------------

    async def stop(self) -> None:
        """Cancel the jobs still running and hand them back to pending, so another process
        takes them at once (they resume from their step), not after their lease.

        A caller that stopped waiting leaves its job running (jobs are shielded, as other
        callers may share them); one still running when the database closes would fail there."""
        job_ids, running = list(self._running), list(self._running.values())
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        self._release(job_ids)
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
            self._heartbeat = None
        if self._pdf_thread is not None:
            self._pdf_thread.shutdown(wait=False, cancel_futures=True)
            self._pdf_thread = None

    def _release(self, job_ids: list[int]) -> None:
        try:
            with self.db.session() as session, session.begin():
                released = repo.release_jobs(session, self.worker, job_ids)
        except Exception as err:  # noqa: BLE001 - stopping anyway: their leases run out instead
            log.warning("jobs %s not handed back (their leases will run out): %r", job_ids, err)
            return
        if released:
            log.info("%d unfinished job(s) handed back to pending", released)

    def warm_up(self) -> None:
        """Pay the one-time costs (PDF worker start, tokenizer build) before serving anyone."""
        self.extractor.start()
        tokens.warm_up()

    def stored_review(self, arxiv_id: ArxivId) -> Review | None:
        with self.db.read() as session:
            return repo.latest_review(session, arxiv_id.base, arxiv_id.version)

    async def review(
        self, arxiv_id: ArxivId, *, force: bool = False, requested_by: str = "cli", on_step: OnStep | None = None
    ) -> Review:
        """The stored review at once (unless force), else the result of the paper's job."""
        if not force and (stored := self.stored_review(arxiv_id)) is not None:
            return stored
        with self.db.session() as session, session.begin():
            job_id = repo.open_job(session, arxiv_id.base, arxiv_id.version, force=force, requested_by=requested_by).id
        return await self._join(job_id, on_step)

    async def review_many(
        self,
        ids: list[ArxivId],
        *,
        force: bool = False,
        on_step: OnStep | None = None,
    ) -> dict[ArxivId, Review | PaperdigestError]:
        """Several papers: their metadata in one batched query, then the jobs side by side."""
        todo = [i for i in ids if force or self.stored_review(i) is None]
        if len(todo) > 1:
            for arxiv_id in todo:
                if on_step:
                    on_step(arxiv_id, "metadata")
            try:
                for meta_id, meta in (await self.metadata.fetch(todo)).items():
                    self._prefetched[str(meta_id)] = meta
            except PaperdigestError as err:  # each job fetches its own and records its own error
                log.warning("batched metadata query failed, fetching one by one: %s", err)
        results = await asyncio.gather(
            *(self.review(i, force=force, on_step=on_step) for i in ids), return_exceptions=True
        )
        outcome: dict[ArxivId, Review | PaperdigestError] = {}
        for arxiv_id, result in zip(ids, results):
            if isinstance(result, BaseException) and not isinstance(result, PaperdigestError):
                raise result
            outcome[arxiv_id] = result
        return outcome

    async def resume(self, on_step: OnStep | None = None) -> list[int]:
        """Continue every job a crashed or stopped process left unfinished."""
        with self.db.read() as session:
            job_ids = [job.id for job in repo.resumable_jobs(session)]
        for job_id in job_ids:
            try:
                await self._join(job_id, on_step)
            except PaperdigestError as err:
                log.warning("resumed job %d failed: %s", job_id, err)
        return job_ids

    async def take_next(self) -> asyncio.Task[Review] | None:
        """Claim the oldest job any process queued (or one whose holder's lease ran out) and
        run it here in the background; None when there is nothing to take. For workers, which
        serve jobs nobody in this process awaits: the hooks deliver the result."""
        with self.db.session() as session, session.begin():
            job = repo.claim_next_job(session, self.worker, self.settings.LEASE_S)
            job_id = job.id if job is not None else None
        if job_id is None:
            return None
        task = asyncio.create_task(self._run_taken(job_id), name=f"job {job_id}")
        self._running[job_id] = task
        task.add_done_callback(lambda _t: self._running.pop(job_id, None))
        return task

    async def _run_taken(self, job_id: int) -> Review:
        try:
            return self._already_stored(job_id) or await self._run_held(job_id, None)
        except LeaseLost as err:  # the process that took it over delivers its result
            log.warning("job %d: %s", job_id, err)
            raise

    def _already_stored(self, job_id: int) -> Review | None:
        """A job opened while another process stored the paper's review (a request racing
        its answer) ends with that review, delivered as new: no second LLM call."""
        with self.db.session() as session, session.begin():
            job = self._held_job(session, job_id)
            stored = None if job.force else repo.latest_review(session, job.arxiv_id, job.version)
            if stored is None or job.step != "metadata":
                return None
            repo.finish_job(session, job, review_id=stored.id)
            for hook in self.on_stored:
                hook(session, stored)
        log.info("job %d: %s was reviewed meanwhile (review %d)", job_id, stored.arxiv_id, stored.id)
        return stored

    # --- running one job ----------------------------------------------------------------

    async def _join(self, job_id: int, on_step: OnStep | None) -> Review:
        task = self._running.get(job_id)
        if task is None:
            task = asyncio.create_task(self._run(job_id, on_step))
            self._running[job_id] = task
            task.add_done_callback(lambda _t: self._running.pop(job_id, None))
        return await asyncio.shield(task)

    async def _run(self, job_id: int, on_step: OnStep | None) -> Review:
        with self.db.session() as session, session.begin():
            claimed = repo.claim_job(session, job_id, self.worker, self.settings.LEASE_S)
        if not claimed:
            return await self._wait_for_other(job_id)
        try:
            return await self._run_held(job_id, on_step)
        except LeaseLost as err:  # another process took it over: its result is the one
            log.warning("job %d: %s; waiting for the process that took it over", job_id, err)
            return await self._wait_for_other(job_id)

    async def _run_held(self, job_id: int, on_step: OnStep | None) -> Review:
        """Run a job this process has claimed, renewing its lease while it runs."""
        self._held.add(job_id)
        self._keep_leases()
        try:
            return await self._run_claimed(job_id, on_step)
        finally:
            self._held.discard(job_id)

    async def _run_claimed(self, job_id: int, on_step: OnStep | None) -> Review:
        job = self._load_job(job_id)
        arxiv_id = ArxivId(job.arxiv_id, job.version)
        try:
            return await self._steps(job, arxiv_id, on_step)
        except LeaseLost:
            raise
        except PaperdigestError as err:
            self._fail(job_id, err)
            raise
        except Exception as err:
            log.exception("job %d (%s) crashed", job_id, arxiv_id)
            self._fail(job_id, JobError(f"internal error while reviewing {arxiv_id}: {type(err).__name__}: {err}"))
            raise

    def _keep_leases(self) -> None:
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.create_task(self._renew_leases(), name="job leases")

    async def _renew_leases(self) -> None:
        """The heartbeat: while this process holds jobs, their leases are renewed every third
        of LEASE_S; a job another process took over is written for no more (`_held_job`)."""
        while self._held:
            await asyncio.sleep(self.settings.LEASE_S / 3)
            held = sorted(self._held)
            try:
                with self.db.session() as session, session.begin():
                    renewed = repo.renew_jobs(session, self.worker, held, self.settings.LEASE_S)
            except Exception as err:  # noqa: BLE001 - a missed beat is retried; the lease has slack
                log.warning("renewing job leases failed (retrying): %r", err)
                continue
            for job_id in (set(held) - renewed) & self._held:
                log.warning("job %d was taken over by another process", job_id)

    def _held_job(self, session: Session, job_id: int) -> Job:
        return repo.held_job(session, job_id, self.worker, self.settings.LEASE_S)

    async def _steps(self, job: Job, arxiv_id: ArxivId, on_step: OnStep | None) -> Review:
        def enter(step: str) -> None:
            if on_step:
                on_step(arxiv_id, step)

        step = job.step
        if step == "metadata":
            enter("metadata")
        meta = await self._step_metadata(job, arxiv_id) if step == "metadata" else self._stored_meta(job)
        if step in ("metadata", "pdf"):
            enter("pdf")
            await self._step_pdf(job, arxiv_id, meta)
        if step in ("metadata", "pdf", "text"):
            enter("text")
            await self._step_text(job, arxiv_id, meta)
        enter("review")
        review = await self._step_review(job, arxiv_id, meta)
        enter("stored")
        return review

    async def _step_metadata(self, job: Job, arxiv_id: ArxivId) -> PaperMeta:
        meta = self._prefetched.pop(str(arxiv_id), None) or await self.metadata.fetch_one(arxiv_id)
        with self.db.session() as session, session.begin():
            repo.upsert_paper(session, meta)
            if meta.pdf_url is not None:
                row = self._held_job(session, job.id)
                row.version = row.version or meta.version
                repo.advance_job(session, row, "pdf")
        if meta.pdf_url is None:  # the paper row says withdrawn; the job fails for good
            raise PaperWithdrawn(f"{arxiv_id} was withdrawn: arXiv lists no PDF ({meta.comment or 'no comment'})")
        return meta

    def _stored_meta(self, job: Job) -> PaperMeta:
        with self.db.read() as session:
            paper = session.get(repo.Paper, job.arxiv_id)
            if paper is None or job.version is None:
                raise JobError(f"job {job.id} is at step {job.step!r} but {job.arxiv_id} has no stored metadata")
            return repo.paper_meta(paper, job.version)

    async def _step_pdf(self, job: Job, arxiv_id: ArxivId, meta: PaperMeta) -> None:
        pdf = await self.pdfs.fetch(arxiv_id, meta.version)
        with self.db.session() as session, session.begin():
            repo.upsert_version(session, meta.arxiv_id, meta.version, pdf_sha256=pdf.sha256, pdf_bytes=pdf.size)
            repo.advance_job(session, self._held_job(session, job.id), "text")

    async def _step_text(self, job: Job, arxiv_id: ArxivId, meta: PaperMeta) -> None:
        path = self.pdfs.cache_path(arxiv_id, meta.version)
        if not path.exists():  # the cache was cleaned since the pdf step: fetch again
            await self.pdfs.fetch(arxiv_id, meta.version)
        # CPU work goes to a thread, so the bot's event loop keeps answering meanwhile
        self._pdf_thread = self._pdf_thread or ThreadPoolExecutor(max_workers=1, thread_name_prefix="extract")
        paper = await asyncio.get_running_loop().run_in_executor(self._pdf_thread, self._extract_sections, path)
        text_path = self._text_path(meta)
        await asyncio.to_thread(_save_extracted, text_path, paper)
        code_url = find_code_link(meta, paper.sections)
        with self.db.session() as session, session.begin():
            repo.upsert_version(
                session,
                meta.arxiv_id,
                meta.version,
                page_count=paper.page_count,
                pages_read=paper.pages_read,
                text_path=str(text_path),
            )
            if code_url:
                session.get(repo.Paper, meta.arxiv_id).code_url = code_url
            repo.advance_job(session, self._held_job(session, job.id), "review")

    def _extract_sections(self, path: Path) -> ExtractedPaper:
        extracted = self.extractor.extract(path)
        return ExtractedPaper(
            split_sections(extracted.pages),
            extracted.page_count,
            extracted.pages_read,
            extracted.truncated,
            extracted.pages,
        )

    async def _step_review(self, job: Job, arxiv_id: ArxivId, meta: PaperMeta) -> Review:
        if not self._text_path(meta).exists():  # the data dir was cleaned since the text step
            await self._step_text(job, arxiv_id, meta)
        paper = await asyncio.to_thread(_load_extracted, self._text_path(meta))
        with self.db.read() as session:
            code_url = session.get(repo.Paper, meta.arxiv_id).code_url

        def on_usage(completion: Completion, purpose: str) -> None:
            with self.db.session() as session, session.begin():
                repo.record_usage(
                    session,
                    job_id=job.id,
                    arxiv_id=meta.arxiv_id,
                    model=completion.model,
                    purpose=purpose,
                    prompt_tokens=completion.prompt_tokens,
                    completion_tokens=completion.completion_tokens,
                    cost_usd=self._cost(completion),
                )

        written = await self.writer.write(meta, paper.sections, code_url=code_url, on_usage=on_usage, pages=paper.pages)
        return self._store(job, meta, paper, written, code_url)

    def _store(
        self, job: Job, meta: PaperMeta, paper: ExtractedPaper, written: Written, code_url: str | None
    ) -> Review:
        notes = list(written.notes)
        if paper.truncated:
            notes.insert(
                0,
                f"Статья длиннее {paper.pages_read} страниц: прочитаны первые {paper.pages_read} "
                f"из {paper.page_count}.",
            )
        if written.validation == "failed":  # readers are told in Russian; the English problems are for admins
            reasons = strip_foreign_links("; ".join(written.reader_reasons), code_url)
            notes.append("Рецензия не прошла автоматическую проверку" + (f": {reasons}" if reasons else "."))
        budget = written.budget
        review = Review(
            arxiv_id=meta.arxiv_id,
            version=meta.version,
            # no demo link: it depends on where the site lives; readers add it when they show the review
            markdown=render_review(meta, written.body, code_url, None, notes),
            body=written.body.to_markdown(),
            tldr=written.body.tldr,
            reviewer=written.reviewer,
            model=written.model,
            prompt_version=written.prompt_version,
            prompt_tokens=written.prompt_tokens,
            completion_tokens=written.completion_tokens,
            cost_usd=self._cost_of(written),
            input_tokens=budget.tokens if budget else 0,
            full_tokens=budget.full_tokens if budget else 0,
            cuts=[asdict(c) for c in budget.cuts] if budget else [],
            notes=notes,
            validation=written.validation,
            problems=written.problems,
            grounding=written.grounding.to_json() if written.grounding else None,
            moderation="waiting" if written.validation == "failed" else None,
        )
        with self.db.session() as session, session.begin():
            held = self._held_job(session, job.id)  # first: a job taken over stores no second review
            session.add(review)
            session.flush()
            repo.finish_job(session, held, review_id=review.id)
            for hook in self.on_stored:
                hook(session, review)
        log.info("%s: review %d stored (%s, %s)", meta.versioned_id, review.id, written.reviewer, written.validation)
        return review

    # --- helpers ------------------------------------------------------------------------

    def _cost(self, completion: Completion) -> float | None:
        prices = self.settings.price_per_mtok(completion.model) or self.settings.price_per_mtok(self.settings.LLM_MODEL)
        if prices is None:
            return None
        return (completion.prompt_tokens * prices[0] + completion.completion_tokens * prices[1]) / 1e6

    def _cost_of(self, written: Written) -> float | None:
        if written.reviewer != "llm":
            return 0.0
        return self._cost(Completion("", None, written.prompt_tokens, written.completion_tokens, written.model))

    def _text_path(self, meta: PaperMeta) -> Path:
        return self.settings.DATA_DIR / "text" / f"{ArxivId(meta.arxiv_id, meta.version).filename}.json"

    def _load_job(self, job_id: int) -> Job:
        with self.db.read() as session:
            job = session.get(Job, job_id)
            if job is None:
                raise JobError(f"job {job_id} does not exist")
            return job

    def _fail(self, job_id: int, err: PaperdigestError) -> None:
        with self.db.session() as session, session.begin():
            job = session.get(Job, job_id, with_for_update=True, populate_existing=True)
            if job is None or job.worker != self.worker:  # taken over meanwhile: its new holder decides
                return
            if err.retryable:  # keep the request: a later run retries it, not at once (workers would spin)
                job.status, job.worker, job.lease_expires_at = "pending", None, None
                job.not_before = utcnow() + timedelta(seconds=RETRY_AFTER_S)
                job.error, job.error_kind = str(err), type(err).__name__
            else:
                repo.finish_job(session, job, error=err)
                for hook in self.on_failed:
                    hook(session, job, err)

    async def _wait_for_other(self, job_id: int) -> Review:
        """Another live process runs this job: wait for its result instead of doing it twice."""
        while True:
            job = self._load_job(job_id)
            if job.status == "done" and job.review_id is not None:
                with self.db.read() as session:
                    return session.get(Review, job.review_id)
            if job.status == "failed":
                raise JobError(f"{job.arxiv_id}: {job.error}")
            if job.status == "pending" or is_free(job.worker, job.lease_expires_at, utcnow()):
                return await self._run(job_id, None)
            await asyncio.sleep(POLL_S)


def _save_extracted(path: Path, paper: ExtractedPaper) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(paper), ensure_ascii=False), encoding="utf-8")
    temporary.replace(path)


def _load_extracted(path: Path) -> ExtractedPaper:
    data = json.loads(path.read_text(encoding="utf-8"))
    return ExtractedPaper(
        [Section(**s) for s in data["sections"]],
        data["page_count"],
        data["pages_read"],
        data["truncated"],
        data.get("pages", []),
    )  # text saved before pages were kept has none
