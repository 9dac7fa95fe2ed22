"""Wiring in one place: builds the engine, HTTP clients and pipeline from Settings, and closes them;
and the bot around them (`bot_app`, `run_bot`). App layer: the only place that imports every component."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
import openai

from paperdigest.db import Database
from paperdigest.settings import Settings
from summarizer.arxiv_api import ArxivMetadata
from summarizer.extract import PdfExtractor
from summarizer.llm import LlmClient, make_openai_client
from summarizer.pdf_fetch import PdfFetcher
from summarizer.pipeline import Pipeline
from summarizer.retry import BackoffPolicy, PacingGate
from summarizer.reviewer import LlmWriter, OfflineWriter

USER_AGENT = "paperdigest/0.1 (arXiv review bot)"


def make_writer(settings: Settings, client: openai.AsyncOpenAI | None) -> LlmWriter | OfflineWriter:
    if client is None:
        return OfflineWriter()
    llm = LlmClient(
        client,
        settings.LLM_MODEL,
        max_output_tokens=settings.LLM_OUTPUT_TOKENS,
        temperature=settings.LLM_TEMPERATURE,
        concurrency=settings.LLM_CONCURRENCY,
        policy=BackoffPolicy(attempts=settings.LLM_RETRIES, min_delay=settings.RETRY_BASE_S),
    )
    return LlmWriter(llm, input_tokens=settings.LLM_INPUT_TOKENS)


@asynccontextmanager
async def open_pipeline(settings: Settings) -> AsyncIterator[Pipeline]:
    async with AsyncExitStack() as stack:
        db = Database(settings.DATABASE_URL)
        stack.callback(db.close)
        timeout = httpx.Timeout(settings.ARXIV_TIMEOUT_S, connect=10.0)
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=timeout, headers={"User-Agent": USER_AGENT}))
        llm_client = None
        if settings.llm_enabled:
            key = settings.OPENAI_API_KEY.get_secret_value() if settings.OPENAI_API_KEY else None
            llm_client = await stack.enter_async_context(
                make_openai_client(settings.OPENAI_BASE_URL, key, settings.LLM_TIMEOUT_S)
            )
        extractor = PdfExtractor(
            max_pages=settings.PDF_MAX_PAGES, timeout_s=settings.EXTRACT_TIMEOUT_S, memory_mb=settings.EXTRACT_MEMORY_MB
        )
        stack.callback(extractor.close)
        gate = PacingGate(settings.ARXIV_DELAY_S)
        arxiv_policy = BackoffPolicy(attempts=settings.ARXIV_RETRIES, min_delay=settings.RETRY_BASE_S)
        pipeline = Pipeline(
            db,
            settings,
            metadata=ArxivMetadata(
                settings.ARXIV_API_URL, gate, timeout_s=settings.ARXIV_TIMEOUT_S, policy=arxiv_policy
            ),
            pdfs=PdfFetcher(
                http,
                settings.ARXIV_PDF_URL,
                settings.pdf_cache_dir,
                gate,
                max_bytes=int(settings.PDF_MAX_MB * 2**20),
                deadline_s=settings.PDF_DEADLINE_S,
                policy=arxiv_policy,
            ),
            extractor=extractor,
            writer=make_writer(settings, llm_client),
        )
        stack.push_async_callback(pipeline.stop)  # first of the callbacks: jobs end before what they use closes
        yield pipeline


def bot_app(settings: Settings):  # -> bot.app.BotApp (imported here only: aiogram is not needed elsewhere)
    from bot.app import BotApp
    from watcher.run import run_watcher

    return BotApp(settings, open_pipeline=open_pipeline, run_watcher=run_watcher)


def run_bot(settings: Settings) -> None:
    asyncio.run(bot_app(settings).run())
