"""A reader's question about a paper: the prompt, and the check of the LLM's answer.

The answer is read like a review (summarizer/validate.py): links outside the allowlist are
removed (`strip_foreign_links`), and every number it states is attributed to the paper
(`summarizer.attribute`). An answer with a number the paper does not state goes out only
under a warning that names it (`Answer.text`). Pure functions; the bot does the I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from summarizer.attribute import attribute
from summarizer.evidence import Evidence
from summarizer.passages import Passage
from summarizer.prompts import PROMPTS_DIR, _data, _environment
from summarizer.validate import strip_foreign_links

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
