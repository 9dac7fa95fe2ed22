"""Numbers as people write them, in Russian and English, read into values.

`28,4` and `28.4`; `51 697` with a no-break or thin space; `33,511` (a comma before exactly
three digits may be a thousands separator, so it reads both ways); `128k`, `128 тыс.`,
`4,5 млн`, `7B`, `213 million`; `2.7x`, `2,7×`, «в 2,7 раза»; `63.4%`, «10,7 п. п.»;
`$27{,}9$` and `$3{,}3 \\cdot 10^{18}$` inside LaTeX; `3.7–6.5%` (the unit reaches back over
a range). The reader returns spans with their offsets in the original text, so a mark can
be placed where the number is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation

PERCENT = "%"
TIMES = "x"
POINTS = "pp"  # percentage points: compared as a plain value or a percent

_SPACE = "[ \u00a0\u202f\u2009]"
_NUM = re.compile(
    r"(?<![\w.,/@^_])(?P<num>\d{1,3}(?:" + _SPACE + r"\d{3})+(?![.,]?\d)|\d{1,3}(?:,\d{3}){2,}(?![.,]?\d)"
    r"|\d+(?:[.,]\d+)?)"
    r"(?:[eE](?P<exp>[-−+]?\d+))?"
)
_SCALES = {
    "k": 3,
    "K": 3,
    "тыс": 3,
    "thousand": 3,
    "M": 6,
    "млн": 6,
    "million": 6,
    "mln": 6,
    "B": 9,
    "млрд": 9,
    "billion": 9,
    "bn": 9,
    "T": 12,
    "трлн": 12,
    "trillion": 12,
}
# What may follow a number: a scale, a multiplier sign, a percent. Order matters: words first.
_AFTER = re.compile(
    r"(?P<space>" + _SPACE + r"?)"
    r"(?:(?P<word>тыс\.?|млн\.?|млрд\.?|трлн\.?|thousand|million|billion|trillion|mln|bn)(?![а-яёa-z])"
    r"|(?P<letter>[kKMBT])(?![A-Za-zА-Яа-яЁё0-9])"
    r"|(?P<times>[x×х])(?![A-Za-zА-Яа-яЁё0-9])"
    r"|(?P<pct>%|\\%|\s?п\.\s?п\.|\s?pp\b|\s?процент))?",
)
_RAZA = re.compile(r"(?:\bв|\bin)\s*$", re.IGNORECASE)
_RAZA_AFTER = re.compile(r"^\s*(?:раза?|раз\b|times\b)", re.IGNORECASE)
_RANGE_TAIL = re.compile(r"^\s?[–—-]\s?\d+(?:[.,]\d+)?\s?(%|п\.\s?п\.)")


@dataclass(frozen=True)
class Written:
    """One number in a text: where it is, what it may mean, and how precisely it is written."""

    text: str  # as written, with its unit ("28,4", "2,7x", "128 тыс.", "63.4%")
    start: int
    end: int
    values: frozenset[Decimal]  # every reading, scales applied ("33,511" → 33511 and 33.511)
    mantissas: frozenset[Decimal]  # the readings before a scale word (213 of "213 млн")
    unit: str  # "", PERCENT, TIMES or POINTS
    places: int  # digits after the decimal mark as written (the precision to compare at)
    scaled: bool  # had k/M/B/тыс./млн…

    @property
    def is_small_count(self) -> bool:
        """ "две модели", "3 раза подряд": an integer up to 10 with no unit is a count, not a result."""
        return (
            not self.unit and not self.scaled and all(v == v.to_integral_value() and abs(v) <= 10 for v in self.values)
        )


def readings(raw: str) -> tuple[set[Decimal], int]:
    """The values a written number can mean and its decimal places.

    A comma or point before exactly three digits may be a thousands separator ("33,511",
    "1.000" in Russian); any other comma is a decimal comma ("3,5" is 3.5, never 35)."""
    compact = re.sub(_SPACE, "", raw) if not raw.isdigit() else raw
    if compact.count(",") > 1:  # 1,056,768
        compact = compact.replace(",", "")
        return ({Decimal(compact)}, 0) if compact.isdigit() else (set(), 0)
    if compact != raw:  # spaces only ever separate thousands
        return ({Decimal(compact)}, 0) if compact.isdigit() else (set(), 0)
    match = re.fullmatch(r"(\d+)(?:([.,])(\d+))?", compact)
    if not match:
        return set(), 0
    whole, mark, frac = match.groups()
    if not mark:
        return {Decimal(whole)}, 0
    decimal = Decimal(f"{whole}.{frac}")
    if len(frac) == 3 and whole != "0" and len(whole) <= 3:
        return {decimal, Decimal(whole + frac)}, len(frac)
    return {decimal}, len(frac)


def scan(text: str, start: int = 0, end: int | None = None) -> list[Written]:
    """Every number in text[start:end], with the unit written after it."""
    found = []
    end = len(text) if end is None else end
    for match in _NUM.finditer(text, start, end):
        written = _read(text, match, end)
        if written is not None:
            found.append(written)
    return found


def _read(text: str, match: re.Match[str], limit: int) -> Written | None:
    if _in_name(text, match):
        return None
    values, places = readings(match.group("num"))
    if not values:
        return None
    exponent = match.group("exp")
    if exponent:
        shift = int(exponent.replace("−", "-"))
        values = {v.scaleb(shift) for v in values}
    stop = match.end()
    after = _AFTER.match(text, stop, limit)
    unit, scale = "", 0
    if after and after.lastgroup not in (None, "space"):
        word, letter = after.group("word"), after.group("letter")
        if word or letter:
            scale = _SCALES[(word or letter).rstrip(".")]
        elif after.group("times"):
            unit = TIMES
        elif after.group("pct"):
            unit = POINTS if "п" in after.group("pct") or "pp" in after.group("pct") else PERCENT
        stop = after.end()
    following = text[stop : stop + 8]
    if not unit and (
        re.match(r"^\s*times\b", following, re.IGNORECASE)
        or (_RAZA.search(text, max(0, match.start() - 4), match.start()) and _RAZA_AFTER.match(following))
    ):
        unit = TIMES
    if not unit:
        tail = _RANGE_TAIL.match(text[stop : stop + 24])
        if tail:
            unit = PERCENT if tail.group(1) == "%" else POINTS
    mantissas = frozenset(values)
    if scale:
        values = {v.scaleb(scale) for v in values}
    return Written(
        text[match.start() : stop].strip(), match.start(), stop, frozenset(values), mantissas, unit, places, bool(scale)
    )


def _in_name(text: str, match: re.Match[str]) -> bool:
    """Digits that are part of a name: "GPT-4o", "ROUGE-2", "o1-1217", "Qwen2.5-32B" (the 32B is a size,
    but the paper writes the name the same way), "newstest2013"."""
    before = text[max(0, match.start() - 2) : match.start()]
    if len(before) == 2 and before[1] == "-" and before[0].isalnum():
        return True
    following = text[match.end() : match.end() + 2]
    return (
        bool(following)
        and following[0].isalpha()
        and not _AFTER.match(text, match.end()).group(0).strip()
        and following[0] not in "xх×"
    )


def rounds_to(exact: Decimal, written: Decimal, places: int) -> bool:
    """Whether `written` (with `places` decimals) is `exact` as printed or rounded to that precision."""
    if exact == written:
        return True
    if abs(exact - written) >= 1:
        return False
    quantum = Decimal(1).scaleb(-places)
    try:
        return any(exact.quantize(quantum, rounding=mode) == written for mode in (ROUND_HALF_EVEN, ROUND_HALF_UP))
    except InvalidOperation:
        return False
