"""What the number check found for one review: each number, where the paper says it, or why not.

Plain records, stored as JSON on the review row (`Review.grounding`) and read back by the
bot (the header's count, the warning to the requester) and the site (a source note per
number, suspect numbers marked in place). `summarizer.attribute` makes them. Here too is the
one gate every automatic channel post goes through (`may_post_automatically`).

Offsets (`start`, `end`, `anchor`) index `Review.body`, the Markdown the reviewer wrote.
`anchor` is where a reference mark may be inserted without breaking the Markdown: right
after the number, or after the closing `$` when the number sits inside a formula.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

FOUND = "found"  # the paper states this value for this claim
DERIVED = "derived"  # worked out from paper values named in the same sentence, arithmetic right
ABSENT = "absent"  # the paper states no such value
MISMATCH = "mismatch"  # the paper has the value, but only for another model, dataset or metric
WRONG_ARITHMETIC = "wrong_arithmetic"  # a difference, ratio or sum of paper values, computed wrong
CONFIRMED = (FOUND, DERIVED)
SUSPECT = (ABSENT, MISMATCH, WRONG_ARITHMETIC)

_REASONS_RU = {
    ABSENT: "в тексте статьи такого числа нет",
    MISMATCH: "в статье это число относится к другому утверждению",
    WRONG_ARITHMETIC: "арифметика не сходится",
}


@dataclass(frozen=True)
class Source:
    """The paper's own words for a value: a sentence, list item or table row."""

    quote: str
    section: str  # the heading as printed ("6.1 Machine Translation"), "" before the first
    page: int | None  # 1-based; None when the page could not be told


@dataclass(frozen=True)
class NumberCheck:
    text: str  # the number as the review writes it ("28,4", "в 2,3 раза", "$3{,}3 \\cdot 10^{18}$")
    start: int
    end: int
    anchor: int
    status: str  # one of FOUND, DERIVED, ABSENT, MISMATCH, WRONG_ARITHMETIC
    sentence: str  # the review's sentence that holds it (quoted in the retry prompt)
    source: Source | None = None  # FOUND: where the paper says it; MISMATCH: where the value is
    operands: list[str] = field(default_factory=list)  # DERIVED / WRONG_ARITHMETIC: the paper values used
    detail: str = ""  # English, for the retry prompt and the logs ("53.73 - 48.79 = 4.94")

    @property
    def suspect(self) -> bool:
        return self.status in SUSPECT

    @property
    def plain(self) -> str:
        """The number for plain text (Telegram, notes): «27,9» for "27{,}9", «3,3 · 10^18» for LaTeX."""
        text = self.text.replace("{,}", ",").replace("\\cdot", "·").replace("\\times", "×").replace("\\%", "%")
        return re.sub(r"\^\{(-?\d+)\}", r"^\1", " ".join(text.split()))

    def reason_ru(self) -> str:
        """A short Russian reason for a reader; empty for a confirmed number."""
        return _REASONS_RU.get(self.status, "")


@dataclass(frozen=True)
class Grounding:
    numbers: list[NumberCheck]

    @property
    def checked(self) -> int:
        return len(self.numbers)

    @property
    def confirmed(self) -> int:
        return sum(n.status in CONFIRMED for n in self.numbers)

    @property
    def suspects(self) -> list[NumberCheck]:
        return [n for n in self.numbers if n.suspect]

    @property
    def passed(self) -> bool:
        return not self.suspects

    def header_line(self) -> str:
        """The Telegram header's line: «Проверено по тексту статьи: 23 из 23 чисел»."""
        return f"Проверено по тексту статьи: {self.confirmed} из {self.checked} {_numbers_genitive(self.checked)}"

    def warning_ru(self) -> str:
        """What a reader is told about a review that failed the check: only the suspect numbers."""
        named = ", ".join(dict.fromkeys(n.plain for n in self.suspects))
        return (
            f"⚠️ Рецензия не прошла проверку: не подтверждены текстом статьи — {named}. "
            "Остальные числа сверены со статьёй; эти проверьте по ней сами."
        )

    def to_json(self) -> dict[str, Any]:
        return {"version": 1, "numbers": [asdict(n) for n in self.numbers]}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Grounding | None:
        """The stored record, or None for reviews stored before the check."""
        if not data:
            return None
        numbers = []
        for item in data.get("numbers", []):
            source = item.get("source")
            numbers.append(NumberCheck(**{**item, "source": Source(**source) if source else None}))
        return cls(numbers)


def may_post_automatically(validation: str, moderation: str | None) -> bool:
    """A review that failed validation reaches the channel only once an admin approved it.

    The one gate of every channel post and edit: the watcher's, PUBLISH_USER_REVIEWS, a
    request's `publish` flag, /post, and the edit of a post to a new version's review. A
    review an admin dropped is never posted, whatever its check said.
    """
    return moderation != "dropped" and (validation != "failed" or moderation == "approved")


def _numbers_genitive(count: int) -> str:
    """«из 1 числа», «из 21 числа», otherwise «из N чисел»."""
    return "числа" if count % 10 == 1 and count % 100 != 11 else "чисел"
