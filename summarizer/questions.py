"""A reader's question about a paper: the passages, the prompt, the LLM call and the check of its answer.

The bot's one interface to this part of the summarizer (tests/app/test_floor_plan.py).

The answer is read like a review (summarizer/validate.py): links outside the allowlist are
removed (`strip_foreign_links`), and every number it states is attributed to the paper
(`summarizer.attribute`). An answer with a number the paper does not state goes out only
under a warning that names it (`Answer.text`). Pure functions; the bot does the I/O.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

from paperdigest.records import PaperMeta, Section
from summarizer.attribute import attribute
from summarizer.evidence import Evidence
from summarizer.llm import Completion, LlmClient
from summarizer.passages import Passage, context_passages, find_passages
from summarizer.pipeline import ExtractedPaper, _load_extracted
from summarizer.prompts import PROMPTS_DIR, _data, _environment
from summarizer.reviewer import LlmWriter, OfflineWriter
from summarizer.validate import strip_foreign_links

__all__ = ["Answer", "ExtractedPaper", "Passage", "Turn", "ask_llm", "llm_of", "load_extracted", "matching_passages"]

NOT_IN_PAPER = "В статье этого нет."
QUESTION_CHARS = 1000
_NOT_IN_PAPER = re.compile(r"в статье (?:этого|об этом|такого)?\s*(?:нет|не (?:сказано|говорится|приводится))", re.I)
_CITES = re.compile(r"(?:см\.|смотри|согласно)?\s*(?:раздел|разделе|раздела|section|приложени)", re.I)


@dataclass(frozen=True)
class Turn:
    question: str
    answer: str


@dataclass(frozen=True)
class Answer:
    body: str  # the LLM's answer, foreign links removed
    suspects: list[str]  # numbers the paper does not state, as written
    not_in_paper: bool
    cites_section: bool

    @property
    def text(self) -> str:
        """What the reader gets: the answer, under a warning when a number is not the paper's."""
        if not self.suspects:
            return self.body
        named = ", ".join(dict.fromkeys(self.suspects))
        return (
            f"⚠️ Ответ не прошёл проверку: числа {named} не подтверждены текстом статьи — "
            f"не полагайтесь на них, сверьте по статье.\n\n{self.body}"
        )


def question_messages(
    arxiv_id: str,
    title: str,
    passages: list[Passage],
    history: list[Turn],
    question: str,
    directory: Path = PROMPTS_DIR,
) -> list[dict[str, str]]:
    safe = [Passage(_data(p.section), _data(p.text), p.score) for p in passages]
    system = (
        _environment(directory).get_template("question.j2").render(arxiv_id=arxiv_id, title=_data(title), passages=safe)
    )
    messages = [{"role": "system", "content": system.strip()}]
    for turn in history:
        messages += [{"role": "user", "content": _asked(turn.question)}, {"role": "assistant", "content": turn.answer}]
    return [*messages, {"role": "user", "content": _asked(question)}]


def _asked(question: str) -> str:
    text = question[:QUESTION_CHARS].replace("</question>", "</ question>").replace("<question>", "< question>")
    return f"<question>\n{text}\n</question>"


def check_answer(raw: str, evidence: Evidence, code_url: str | None = None) -> Answer:
    body = strip_foreign_links(raw.strip(), code_url) or NOT_IN_PAPER
    grounding = attribute(body, evidence)
    return Answer(
        body=body,
        suspects=[n.plain for n in grounding.suspects],
        not_in_paper=bool(_NOT_IN_PAPER.search(body)),
        cites_section=bool(_CITES.search(body)),
    )


def load_extracted(path: Path) -> ExtractedPaper:
    """The paper's sections as the pipeline's text step stored them (DATA_DIR/text/<id>.json)."""
    return _load_extracted(path)


def llm_of(writer: LlmWriter | OfflineWriter) -> LlmClient | None:
    """The pipeline's LLM client, shared with reviews (one concurrency limit); None offline."""
    return writer.llm if isinstance(writer, LlmWriter) else None


async def ask_llm(
    llm: LlmClient,
    meta: PaperMeta,
    paper: ExtractedPaper,
    question: str,
    history: list[Turn],
    code_url: str | None,
) -> tuple[Answer, Completion]:
    """One LLM call over the paper's passages for this question, and its checked answer."""
    query = " ".join([*(t.question for t in history), question])  # a follow-up's words are often few
    passages = await asyncio.to_thread(context_passages, paper.sections, query)
    messages = question_messages(meta.arxiv_id, meta.title, passages, history, question)
    # the whole paper is the evidence for the numbers, built while the model writes
    building = asyncio.ensure_future(asyncio.to_thread(Evidence.from_paper, meta, paper.sections, paper.pages))
    try:
        completion = await llm.complete(messages)
    except BaseException:
        building.cancel()
        raise
    evidence = await building
    return await asyncio.to_thread(check_answer, completion.text, evidence, code_url), completion


def matching_passages(sections: list[Section], question: str, history: list[Turn], k: int) -> list[Passage]:
    return find_passages(sections, " ".join([*(t.question for t in history), question]), k=k)
