"""The review step: from sections to a validated ReviewBody, by an LLM or offline.

LlmWriter: budget → prompt → LLM → validate; on failed validation one retry that quotes the
problems; on a context-length error one re-budget to what the error says fits. A review that
still fails is returned marked "failed" with its problems — the pipeline stores it so, never
silently. OfflineWriter: the extractive draft of `summarizer.offline`, marked "draft".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from paperdigest.errors import LlmContextTooLong
from paperdigest.records import PaperMeta, Section
from summarizer.attribute import attribute
from summarizer.budget import Budgeted, fit_budget
from summarizer.evidence import Evidence
from summarizer.grounding import Grounding
from summarizer.llm import Completion, LlmClient
from summarizer.offline import draft_review
from summarizer.prompts import prompt_version, retry_messages, review_messages
from summarizer.review_format import ReviewBody, parse_body
from summarizer.tokens import count_tokens
from summarizer.validate import Validation, strip_foreign_links, validate_review

log = logging.getLogger(__name__)
OnUsage = Callable[[Completion, str], None]
SHRINK_FACTOR = 0.6  # when the context error does not say its size
OFFLINE_MODEL = "offline-extractive"
OFFLINE_NOTE = (
    "Черновик без LLM: ключевые предложения статьи выбраны автоматически (TF-IDF) и приведены "
    "на языке оригинала; это не рецензия, а выжимка."
)


@dataclass
class Written:
    body: ReviewBody
    reviewer: str  # "llm" or "offline"
    model: str
    prompt_version: str
    validation: str  # "passed", "failed" or "draft"
    problems: list[str] = field(default_factory=list)
    budget: Budgeted | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    notes: list[str] = field(default_factory=list)
    grounding: Grounding | None = None
    reader_reasons: list[str] = field(default_factory=list)  # Russian, for a review that failed


class LlmWriter:
    def __init__(self, llm: LlmClient, *, input_tokens: int) -> None:
        self._llm = llm
        self._input_tokens = input_tokens

    @property
    def llm(self) -> LlmClient:
        """The client, for other callers of the same model (the bot's /ask) under the same concurrency."""
        return self._llm

    async def write(
        self,
        meta: PaperMeta,
        sections: list[Section],
        *,
        code_url: str | None,
        on_usage: OnUsage,
        pages: list[str] | None = None,
    ) -> Written:
        empty_prompt = "".join(m["content"] for m in review_messages(meta, [], code_url=code_url, notes=[]))
        overhead = await asyncio.to_thread(count_tokens, empty_prompt)
        budget_tokens = self._input_tokens - overhead
        try:
            return await self._write_within(meta, sections, pages, code_url, budget_tokens, on_usage)
        except LlmContextTooLong as err:
            smaller = self._shrunk_budget(err, budget_tokens, overhead)
            log.warning(
                "%s: context too long at %d paper tokens; retrying once with %d", meta.arxiv_id, budget_tokens, smaller
            )
            return await self._write_within(meta, sections, pages, code_url, smaller, on_usage)

    def _shrunk_budget(self, err: LlmContextTooLong, budget_tokens: int, overhead: int) -> int:
        shrunk = int(budget_tokens * SHRINK_FACTOR)
        if err.limit_tokens:
            # room for the answer and a margin: our token count is an estimate for non-OpenAI models
            fits = int((err.limit_tokens - self._llm.max_output_tokens) * 0.85) - overhead
            shrunk = min(shrunk, fits)
        return max(shrunk, 500)

    async def _write_within(
        self,
        meta: PaperMeta,
        sections: list[Section],
        pages: list[str] | None,
        code_url: str | None,
        budget_tokens: int,
        on_usage: OnUsage,
    ) -> Written:
        # tokenising and checking are CPU work: threads keep the bot's event loop free
        budget = await asyncio.to_thread(fit_budget, sections, budget_tokens)
        notes = budget.notes()
        messages = review_messages(meta, budget.sections, code_url=code_url, notes=notes)
        # the whole paper is the evidence, not only what fitted the budget: the abstract may say it.
        # Built while the model writes, so the check after its answer costs only the lookups.
        building = asyncio.ensure_future(asyncio.to_thread(Evidence.from_paper, meta, sections, pages))
        try:
            completion = await self._llm.complete(messages)
        except BaseException:
            building.cancel()
            raise
        on_usage(completion, "review")
        evidence = await building
        body, result = await asyncio.to_thread(self._check, completion, evidence, code_url)
        totals = [completion]
        if result.problems:
            log.warning("%s: review failed validation, retrying once: %s", meta.arxiv_id, "; ".join(result.problems))
            completion = await self._llm.complete(retry_messages(messages, completion.text, result.problems))
            on_usage(completion, "retry")
            totals.append(completion)
            body, result = await asyncio.to_thread(self._check, completion, evidence, code_url)
        published = _without_foreign_links(body, code_url)
        grounding = result.grounding
        if published != body:  # the offsets must index the stored text, which lost its foreign links
            grounding = await asyncio.to_thread(attribute, published.to_markdown(), evidence)
        return Written(
            body=published,
            reviewer="llm",
            model=completion.model,
            prompt_version=prompt_version(),
            validation="failed" if result.problems else "passed",
            problems=result.problems,
            budget=budget,
            prompt_tokens=sum(c.prompt_tokens for c in totals),
            completion_tokens=sum(c.completion_tokens for c in totals),
            notes=notes,
            grounding=grounding,
            reader_reasons=result.reader_reasons,
        )

    @staticmethod
    def _check(completion: Completion, evidence: Evidence, code_url: str | None) -> tuple[ReviewBody, Validation]:
        body = parse_body(completion.text)
        return body, validate_review(body, evidence=evidence, code_url=code_url, finish_reason=completion.finish_reason)


def _without_foreign_links(body: ReviewBody, code_url: str | None) -> ReviewBody:
    return ReviewBody(
        strip_foreign_links(body.tldr, code_url),
        {title: strip_foreign_links(text, code_url) for title, text in body.sections.items()},
    )


class OfflineWriter:
    async def write(
        self,
        meta: PaperMeta,
        sections: list[Section],
        *,
        code_url: str | None,
        on_usage: OnUsage,
        pages: list[str] | None = None,
    ) -> Written:
        budget = fit_budget(sections, budget_tokens=10**9)  # no context to fit: only drops the references
        body = draft_review(meta, budget.sections)
        # a draft quotes the paper's own sentences: its numbers' sources are shown like a review's
        result = validate_review(
            body,
            evidence=Evidence.from_paper(meta, sections, pages),
            code_url=code_url,
            finish_reason="stop",
            require_russian=False,
        )
        return Written(
            body=body,
            reviewer="offline",
            model=OFFLINE_MODEL,
            prompt_version="offline",
            validation="draft",
            problems=result.problems,
            budget=budget,
            notes=[OFFLINE_NOTE],
            grounding=result.grounding,
        )
