"""Wiring for the watcher: its arXiv listing (on the pipeline's pacing gate), its ranking LLM,
and running it beside a pipeline: inside `paperdigest bot` (`run_watcher`) or alone
(`paperdigest watch [--once]`: paperdigest/commands/watch.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

from paperdigest import repo
from paperdigest.db import Database
from paperdigest.errors import ConfigError
from paperdigest.models import utcnow
from paperdigest.settings import Settings
from summarizer.llm import Completion, LlmClient, make_openai_client
from summarizer.pipeline import Pipeline
from summarizer.retry import BackoffPolicy, PacingGate
from watcher.listing import ArxivListing
from watcher.ranking import OUTPUT_TOKENS_PER_ITEM, Ranker
from watcher.round import Clock, Watcher

log = logging.getLogger(__name__)


def shared_gate(pipeline: Pipeline) -> PacingGate:
    # The pipeline's metadata client owns the one arXiv gate of the process (wiring.py makes it);
    # the listing must wait on the same one, or two clients would each think they are alone.
    return pipeline.metadata.gate


def usage_recorder(db: Database, settings: Settings) -> Callable[[Completion], None]:
    """Ranking calls count against DAILY_TOKEN_BUDGET like reviews: one `usage` row each."""

    def record(completion: Completion) -> None:
        prices = settings.price_per_mtok(completion.model) or settings.price_per_mtok(settings.watch_rank_model)
        cost = (
            None
            if prices is None
            else (completion.prompt_tokens * prices[0] + completion.completion_tokens * prices[1]) / 1e6
        )
        with db.session() as session, session.begin():
            repo.record_usage(
                session,
                job_id=None,
                arxiv_id="",
                model=completion.model,
                purpose="rank",
                prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens,
                cost_usd=cost,
            )

    return record


@asynccontextmanager
async def open_watcher(
    settings: Settings, pipeline: Pipeline, *, clock: Clock = utcnow, on_queued: Callable[[], None] | None = None
) -> AsyncIterator[Watcher]:
    if not settings.WATCH_CATEGORIES:
        raise ConfigError(
            "WATCH_CATEGORIES is empty: set the arXiv categories to watch, e.g. WATCH_CATEGORIES=cs.CL,cs.LG"
        )
    async with AsyncExitStack() as stack:
        llm = None
        if settings.llm_enabled:
            key = settings.OPENAI_API_KEY.get_secret_value() if settings.OPENAI_API_KEY else None
            client = await stack.enter_async_context(
                make_openai_client(settings.OPENAI_BASE_URL, key, settings.LLM_TIMEOUT_S)
            )
            llm = LlmClient(
                client,
                settings.watch_rank_model,
                temperature=0.0,
                max_output_tokens=OUTPUT_TOKENS_PER_ITEM * settings.WATCH_RANK_BATCH + 100,
                policy=BackoffPolicy(attempts=settings.LLM_RETRIES, min_delay=settings.RETRY_BASE_S),
            )
        listing = ArxivListing(
            settings.ARXIV_API_URL,
            shared_gate(pipeline),
            page_size=settings.WATCH_PAGE_SIZE,
            timeout_s=settings.ARXIV_TIMEOUT_S,
            policy=BackoffPolicy(attempts=settings.ARXIV_RETRIES, min_delay=settings.RETRY_BASE_S),
        )
        interest = settings.WATCH_INTEREST or ", ".join(settings.WATCH_KEYWORDS)
        ranker = Ranker(interest, llm, batch=settings.WATCH_RANK_BATCH, on_usage=usage_recorder(pipeline.db, settings))
        yield Watcher(pipeline, listing, ranker, settings, clock=clock, on_queued=on_queued)


async def run_watcher(
    settings: Settings, pipeline: Pipeline, stop: asyncio.Event, *, on_queued: Callable[[], None] | None = None
) -> None:
    """Inside the bot: rounds until `stop`, posts woken into the bot's relay."""
    async with open_watcher(settings, pipeline, on_queued=on_queued) as watcher:
        await watcher.run(stop)
