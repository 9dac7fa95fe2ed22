"""The kernel's shared queries (papers, versions, jobs, reviews, usage). Each component keeps
its own queries in its store module (bot/store.py, watcher/store.py); the outbox has paperdigest/outbox.py."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from paperdigest.leases import LeaseLost, is_free
from paperdigest.models import ACTIVE, Job, Paper, PaperVersion, Review, Usage, utcnow
from paperdigest.records import PaperMeta

# --- papers -------------------------------------------------------------------------------


def upsert_paper(session: Session, meta: PaperMeta, *, code_url: str | None = None) -> Paper:
    paper = session.get(Paper, meta.arxiv_id) or Paper(arxiv_id=meta.arxiv_id)
    paper.title, paper.authors, paper.abstract = meta.title, meta.authors, meta.abstract
    paper.categories, paper.primary_category = meta.categories, meta.primary_category
    paper.comment, paper.journal_ref, paper.doi = meta.comment, meta.journal_ref, meta.doi
    paper.published, paper.updated = meta.published, meta.updated
    paper.latest_version = max(paper.latest_version or 0, meta.version)
    paper.withdrawn = meta.pdf_url is None
    if code_url:
        paper.code_url = code_url
    session.add(paper)
    return paper


def paper_meta(paper: Paper, version: int | None = None) -> PaperMeta:
    version = version or paper.latest_version
    return PaperMeta(
        arxiv_id=paper.arxiv_id,
        version=version,
        title=paper.title,
        authors=list(paper.authors),
        abstract=paper.abstract,
        categories=list(paper.categories),
        primary_category=paper.primary_category,
        comment=paper.comment,
        journal_ref=paper.journal_ref,
        doi=paper.doi,
        published=paper.published,
        updated=paper.updated,
        # Only "is there a PDF" matters downstream (the fetcher builds URLs from ARXIV_PDF_URL).
        pdf_url=None if paper.withdrawn else f"https://arxiv.org/pdf/{paper.arxiv_id}v{version}",
    )


def get_version(session: Session, arxiv_id: str, version: int) -> PaperVersion | None:
    return session.scalar(
        select(PaperVersion).where(PaperVersion.arxiv_id == arxiv_id, PaperVersion.version == version)
    )


def upsert_version(session: Session, arxiv_id: str, version: int, **fields: object) -> PaperVersion:
    row = get_version(session, arxiv_id, version) or PaperVersion(arxiv_id=arxiv_id, version=version)
    for name, value in fields.items():
        setattr(row, name, value)
    session.add(row)
    return row


# --- reviews ------------------------------------------------------------------------------


def latest_review(session: Session, arxiv_id: str, version: int | None = None) -> Review | None:
    query = select(Review).where(Review.arxiv_id == arxiv_id)
    if version is not None:
        query = query.where(Review.version == version)
    return session.scalar(query.order_by(Review.created_at.desc(), Review.id.desc()).limit(1))


def count_reviews(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Review)) or 0


# --- jobs ---------------------------------------------------------------------------------


def active_job(session: Session, arxiv_id: str) -> Job | None:
    return session.scalar(select(Job).where(Job.arxiv_id == arxiv_id, Job.status.in_(ACTIVE)))


def open_job(session: Session, arxiv_id: str, version: int | None, *, force: bool, requested_by: str) -> Job:
    """The active job for this paper, or a new one: two requests share one job."""
    job = active_job(session, arxiv_id)
    if job is not None:
        if force and not job.force:
            job.force = True
        return job
    job = Job(arxiv_id=arxiv_id, version=version, force=force, requested_by=requested_by)
    try:
        # A savepoint: on PostgreSQL another process can open one between our select and
        # insert (ux_jobs_active_paper refuses ours); the caller's transaction goes on.
        with session.begin_nested():
            session.add(job)
    except IntegrityError:
        shared = active_job(session, arxiv_id)
        if shared is None:
            raise
        if force and not shared.force:
            shared.force = True
        return shared
    return job


def claim_job(session: Session, job_id: int, worker: str, lease_s: float) -> bool:
    """Take a job for this process, atomically: a pending one, one whose lease expired (its
    holder stopped renewing) or one whose holder died on this host can be taken over."""
    job = session.get(Job, job_id, populate_existing=True)
    if job is None or job.status not in ACTIVE:
        return False
    now = utcnow()
    if job.status == "running" and job.worker != worker and not is_free(job.worker, job.lease_expires_at, now):
        return False
    claimed = session.execute(
        # The WHERE on the old worker makes the take-over atomic, also without SQLite's write lock.
        update(Job)
        .where(
            Job.id == job_id,
            Job.status.in_(ACTIVE),
            Job.worker.is_(None) if job.worker is None else Job.worker == job.worker,
        )
        .values(_taken_by(worker, lease_s, now))
        .returning(Job.id)
    ).first()
    session.expire(job)
    return claimed is not None


def _taken_by(worker: str, lease_s: float, now: datetime) -> dict:
    """What a claim writes: running, held by `worker` under a fresh lease, one more attempt."""
    return {
        "status": "running",
        "worker": worker,
        "lease_expires_at": now + timedelta(seconds=lease_s),
        "attempts": Job.attempts + 1,
        "not_before": None,
        "updated_at": now,
    }


def claim_next_job(session: Session, worker: str, lease_s: float) -> Job | None:
    """Take the oldest pending job that is due, or one whose lease expired, for this process;
    None when there is none.

    One statement on both backends: on PostgreSQL the inner SELECT locks the row it picks
    and skips rows other workers hold (FOR UPDATE SKIP LOCKED), so two workers at once take
    two different jobs, neither waiting; SQLite leaves the clause out, its writers being one
    at a time already."""
    now = utcnow()
    due = or_(Job.not_before.is_(None), Job.not_before <= now)  # a transient failure waits its turn
    takeable = or_((Job.status == "pending") & due, (Job.status == "running") & (Job.lease_expires_at < now))
    oldest = (
        select(Job.id)
        .where(takeable)
        .order_by(Job.created_at, Job.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    claimed = session.execute(
        update(Job).where(Job.id == oldest, takeable).values(_taken_by(worker, lease_s, now)).returning(Job.id)
    ).scalar()
    return session.get(Job, claimed, populate_existing=True) if claimed is not None else None


def held_job(session: Session, job_id: int, worker: str, lease_s: float) -> Job:
    """The job row, locked, if this process still holds it (its lease renewed on the way);
    LeaseLost when another process took it over: its writes would undo that process's."""
    job = session.get(Job, job_id, with_for_update=True, populate_existing=True)
    if job is None or job.status != "running" or job.worker != worker:
        raise LeaseLost(f"job {job_id} is no longer held by {worker}")
    job.lease_expires_at = utcnow() + timedelta(seconds=lease_s)
    return job


def renew_jobs(session: Session, worker: str, job_ids: list[int], lease_s: float) -> set[int]:
    """The heartbeat: extend this process's leases on these jobs; returns the ids it still holds."""
    if not job_ids:
        return set()
    renewed = session.execute(
        update(Job)
        .where(Job.id.in_(job_ids), Job.worker == worker, Job.status == "running")
        .values(lease_expires_at=utcnow() + timedelta(seconds=lease_s))
        .returning(Job.id)
    ).scalars()
    return set(renewed)


def release_jobs(session: Session, worker: str, job_ids: list[int]) -> int:
    """Hand this process's running jobs back to pending (it is stopping): any worker, on any
    host, takes them at once instead of after their lease; they resume from their step."""
    if not job_ids:
        return 0
    released = session.execute(
        update(Job)
        .where(Job.id.in_(job_ids), Job.worker == worker, Job.status == "running")
        .values(status="pending", worker=None, lease_expires_at=None, updated_at=utcnow())
        .returning(Job.id)
    ).scalars()
    return len(list(released))


def advance_job(session: Session, job: Job, step: str) -> None:
    job.step = step
    job.updated_at = utcnow()


def finish_job(session: Session, job: Job, *, review_id: int | None = None, error: Exception | None = None) -> None:
    job.status = "failed" if error else "done"
    if review_id is not None:
        job.review_id = review_id
        job.step = "stored"
    if error is not None:
        job.error, job.error_kind = str(error), type(error).__name__
    job.finished_at = job.updated_at = utcnow()
    job.worker, job.lease_expires_at = None, None


def resumable_jobs(session: Session) -> list[Job]:
    jobs = session.scalars(select(Job).where(Job.status.in_(ACTIVE)).order_by(Job.created_at)).all()
    now = utcnow()
    return [j for j in jobs if j.status == "pending" or is_free(j.worker, j.lease_expires_at, now)]


def recent_jobs(session: Session, limit: int = 20) -> list[Job]:
    return list(session.scalars(select(Job).order_by(Job.updated_at.desc()).limit(limit)))


# --- usage --------------------------------------------------------------------------------


def record_usage(
    session: Session,
    *,
    job_id: int | None,
    arxiv_id: str,
    model: str,
    purpose: str,
    prompt_tokens: int,
    completion_tokens: int,
    cost_usd: float | None,
    ok: bool = True,
) -> None:
    session.add(
        Usage(
            job_id=job_id,
            arxiv_id=arxiv_id,
            model=model,
            purpose=purpose,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=cost_usd,
            ok=ok,
        )
    )


def day_start(now: datetime | None = None) -> datetime:
    """Midnight UTC of today: the token budgets and the bot's daily limits count per UTC day."""
    return (now or utcnow()).astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


def tokens_today(session: Session, now: datetime | None = None) -> int:
    """Tokens of every LLM call since midnight UTC (DAILY_TOKEN_BUDGET counts per UTC day)."""
    total = session.scalar(
        select(func.coalesce(func.sum(Usage.prompt_tokens + Usage.completion_tokens), 0)).where(
            Usage.created_at >= day_start(now)
        )
    )
    return int(total or 0)


def usage_since(session: Session, since: datetime | None = None) -> tuple[int, int, float]:
    query = select(
        func.coalesce(func.sum(Usage.prompt_tokens), 0),
        func.coalesce(func.sum(Usage.completion_tokens), 0),
        func.coalesce(func.sum(Usage.cost_usd), 0.0),
    )
    if since is not None:
        query = query.where(Usage.created_at >= since)
    prompt, completion, cost = session.execute(query).one()
    return int(prompt), int(completion), float(cost or 0.0)
