"""The numbers a review states: where each is written, its sentence and clause, which are results.

Offsets index the review's Markdown. Numbers inside $…$ are read from the LaTeX (decimal commas
as {,}, powers of ten as \\cdot 10^{18}; indices are not numbers) and anchored after the
formula, so a mark never breaks it. Links, code, arXiv ids and reference numbers are blanked
first; counts in prose, labels (Table 3, раздел 6.1) and dates are read but not checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from summarizer.numbers import PERCENT, Written, scan

_URL = re.compile(r"(?:https?://|www\.)[^\s)\]>\"'«»]+|\]\([^)]*\)", re.IGNORECASE)


CODE = re.compile(r"`[^`]*`")  # inline code; validate.py uses it too


_ARXIV_ID = re.compile(r"\b\d{4}\.\d{4,5}(?:v\d+)?\b")


MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$", re.DOTALL)  # $…$ and $$…$$


_REFERENCE = re.compile(r"\[\d{1,3}(?:\s*[,;–-]\s*\d{1,3})*\]")


_LABEL_BEFORE = re.compile(
    r"(?:\b(?:table|tab|figure|fig|section|sec|eq|equation|appendix|algorithm|рис|рисун\w*|таблиц\w*|"
    r"раздел\w*|раздела|параграф\w*|глав\w*|формул\w*|уравнени\w*|приложени\w*|стр|шаг\w*|этап\w*|"
    r"пункт\w*|п|§)\.?\s*(?:\d+[.,]?\d*\s*(?:,|и|–|-)\s*)*)$",
    re.IGNORECASE,
)


_DATE_AROUND = re.compile(r"^\s*(?:г\.|год|году|года|гг)|et al|\bal\.", re.IGNORECASE)


LATIN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-@.][A-Za-z0-9]+)*")


STOP = frozenset(
    "the and for with from that this than its are was were has have not but all also via per "
    "vs et al of in on to by as at is an or be while only about over under into reaches achieves "
    "obtains gets scores drops".split()
)


_CLAUSE_CUT = re.compile(r"[;,()]|\sпротив\s|\sи\s|\sа\s|\sно\s|\svs\.?\s", re.IGNORECASE)


@dataclass(frozen=True)
class Mention:
    written: Written
    anchor: int
    sentence: tuple[int, int]


def mentions(review: str) -> list[Mention]:
    masked = _mask(review)
    sentences = _sentence_bounds(review)
    found = []
    for math in MATH.finditer(masked):
        found += _math_mentions(review, math)
    prose = MATH.sub(lambda m: " " * len(m.group(0)), masked)
    for written in scan(prose):
        found.append(Mention(_as_written(review, written), written.end, (0, 0)))
    located = []
    for mention in sorted(found, key=lambda m: m.written.start):
        bounds = next((b for b in sentences if b[0] <= mention.written.start < b[1]), (0, len(review)))
        located.append(Mention(mention.written, mention.anchor, bounds))
    return located


def _mask(review: str) -> str:
    """Links, code, arXiv ids and reference numbers ("[37]", "[3, 7]") blanked, offsets kept."""
    blank = lambda m: " " * len(m.group(0))  # noqa: E731 - offsets must not move
    return _REFERENCE.sub(blank, _ARXIV_ID.sub(blank, CODE.sub(blank, _URL.sub(blank, review))))


def _as_written(review: str, written: Written) -> Written:
    """The same number with its text taken from the review (the masked copy has spaces)."""
    return Written(
        review[written.start : written.end].strip(),
        written.start,
        written.end,
        written.values,
        written.mantissas,
        written.unit,
        written.places,
        written.scaled,
    )


_LATEX_NUMBER = re.compile(
    r"(?<![\w^_{\\])(\d+(?:\{,\}\d+|[.,]\d+)?)(?:\s*\\(?:cdot|times)\s*10\^\{?(-?\d+)\}?)?(\s*\\%)?"
)


def _math_mentions(review: str, math: re.Match[str]) -> list[Mention]:
    """Numbers inside $…$: decimal commas as {,}, powers of ten as \\cdot 10^{18}; indices are not numbers."""
    found = []
    for match in _LATEX_NUMBER.finditer(review, math.start(), math.end()):
        plain = match.group(1).replace("{,}", ",")
        written = scan(plain)
        if not written:
            continue
        values, places = written[0].values, written[0].places
        if match.group(2):
            values = frozenset(v.scaleb(int(match.group(2))) for v in values)
        unit = PERCENT if match.group(3) else ""
        number = Written(
            match.group(0).strip(),
            match.start(),
            match.end(),
            frozenset(values),
            frozenset(values),
            unit,
            places,
            bool(match.group(2)),
        )
        found.append(Mention(number, math.end(), (0, 0)))
    return found


def _sentence_bounds(review: str) -> list[tuple[int, int]]:
    bounds, start = [], 0
    for match in re.finditer(r"(?<=[.!?])\s+(?=[А-ЯЁA-Z*(«\"-])|\n+", review):
        if match.start() > start:
            bounds.append((start, match.start()))
        start = match.end()
    bounds.append((start, len(review)))
    return bounds


def unchecked(review: str, mention: Mention) -> bool:
    """Counts in prose, labels (Table 3, раздел 6.1) and dates are not results."""
    written = mention.written
    if written.is_small_count:
        return True
    head = review[max(0, written.start - 24) : written.start]
    if _LABEL_BEFORE.search(head):
        return True
    value = next(iter(written.values))
    if written.places == 0 and not written.unit and 1900 <= value <= 2039:
        tail = review[written.end : written.end + 8]
        return bool(
            _DATE_AROUND.search(tail)
            or _DATE_AROUND.search(head[-8:])
            or "WMT" in head
            or head.rstrip().endswith(("(", ","))
        )
    return False


def clause(review: str, mention: Mention) -> tuple[int, int]:
    start, end = mention.sentence
    cuts = list(_CLAUSE_CUT.finditer(review, start, end))
    left = max((m.end() for m in cuts if m.end() <= mention.written.start), default=start)
    right = min((m.start() for m in cuts if m.start() >= mention.written.end), default=end)
    return left, right
