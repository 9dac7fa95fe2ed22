"""Answering a question about a paper from its stored sections: found passages offline, an LLM answer otherwise.

Offline (no LLM configured) the reader gets the paper's best-matching passages, quoted with
their sections and labelled as found passages, not an answer. With an LLM the answer is
checked like a review (summarizer/questions.py): foreign links removed, an invented number
named in a warning above the answer, never sent unmarked. Its tokens are recorded in
`usage` (purpose "question"), so the daily token budget counts them.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from bot import question_texts as qt
from paperdigest import repo
from paperdigest.db import Database
from paperdigest.models import Paper
from paperdigest.records import PaperMeta
from paperdigest.settings import Settings
from summarizer.llm import Completion, LlmClient
from summarizer.questions import ExtractedPaper, Turn, ask_llm, load_extracted, matching_passages

log = logging.getLogger(__name__)
OFFLINE_PASSAGES = 3
QUOTE_CHARS = 900
MESSAGE_CHARS = 4000  # under Telegram's 4096


@dataclass
class Reply:
    text: str  # what the reader gets
    answer: str  # what the thread keeps as the bot's turn
    answered_by: str  # "passages" or "llm"
    suspects: list[str] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class StoredPaper:
    meta: PaperMeta
    code_url: str | None
    text: ExtractedPaper


def load_paper(db: Database, arxiv_id: str, version: int | None, path: str) -> StoredPaper | None:
    """The paper's metadata and stored sections; None when the text file is gone."""
    if not Path(path).exists():
        return None
    with db.read() as session:
        paper = session.get(Paper, arxiv_id)
        if paper is None:
            return None
        meta, code_url = repo.paper_meta(paper, version), paper.code_url
    return StoredPaper(meta, code_url, load_extracted(Path(path)))


def found_passages(paper: StoredPaper, question: str, history: list[Turn]) -> Reply:
    passages = matching_passages(paper.text.sections, question, history, OFFLINE_PASSAGES)
    if not passages:
        text = qt.NOTHING_FOUND.format(id=paper.meta.arxiv_id)
        return Reply(text, text, "passages")
    lines = [qt.PASSAGES_HEAD]
    for number, passage in enumerate(passages, 1):
        quote = passage.text if len(passage.text) <= QUOTE_CHARS else passage.text[: QUOTE_CHARS - 1] + "…"
        lines.append(qt.passage_line(number, passage.section, quote))
    text = "\n\n".join(lines)[:MESSAGE_CHARS]
    return Reply(text, text, "passages")


class Answerer:
    def __init__(self, db: Database, settings: Settings, llm: LlmClient | None) -> None:
        self.db = db
        self.settings = settings
        self.llm = llm

    async def answer(self, paper: StoredPaper, question: str, history: list[Turn]) -> Reply:
        if self.llm is None:
            return await asyncio.to_thread(found_passages, paper, question, history)
        return await self._ask_llm(self.llm, paper, question, history)

    async def _ask_llm(self, llm: LlmClient, paper: StoredPaper, question: str, history: list[Turn]) -> Reply:
        meta = paper.meta
        checked, completion = await ask_llm(llm, meta, paper.text, question, history, paper.code_url)
        self._record(meta.arxiv_id, completion)
        if checked.suspects:
            log.warning("answer about %s states numbers the paper does not: %s", meta.arxiv_id, checked.suspects)
        parts = [qt.ANSWER_HEAD.format(id=meta.arxiv_id), checked.text]
        if not (checked.cites_section or checked.not_in_paper):
            parts.append(qt.NO_SECTION)
        parts.append(qt.FOLLOW_UP)
        return Reply(
            "\n\n".join(parts)[:MESSAGE_CHARS],
            checked.body,
            "llm",
            checked.suspects,
            completion.prompt_tokens,
            completion.completion_tokens,
        )

    def _record(self, arxiv_id: str, completion: Completion) -> None:
        prices = self.settings.price_per_mtok(completion.model) or self.settings.price_per_mtok(self.settings.LLM_MODEL)
        cost = None
        if prices is not None:
            cost = (completion.prompt_tokens * prices[0] + completion.completion_tokens * prices[1]) / 1e6
        with self.db.session() as session, session.begin():
            repo.record_usage(
                session,
                job_id=None,
                arxiv_id=arxiv_id,
                model=completion.model,
                purpose="question",
                prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens,
                cost_usd=cost,
            )
