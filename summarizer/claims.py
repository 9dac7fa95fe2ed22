"""Whether a value the paper states is stated there for the review's claim.

Each check names the place that contradicts the review, or returns None when nothing does:
- the unit word («18 часов» must be hours in the paper, not months);
- a table value the review's clause gives to another row's model, whose cell in the same
  column of the same table differs (the baseline's score given to the method);
- a value printed only in tables whose captions are about another benchmark than the one the
  review's bullet leads with («**TabFact:** …» given a number of the SQA table);
- a value whose word in the review («3177 test») stands in the paper's sentence next to
  another value («… and Test (30%, 908)») and never next to this one.
Only Latin-script names count, since the paper is English.
"""

from __future__ import annotations

import re
from decimal import Decimal

from summarizer.evidence import Evidence, Stated, normalize
from summarizer.numbers import Written
from summarizer.review_numbers import LATIN, STOP, Mention, clause

REACH = 25  # characters within which a paper's word goes with a number


# Units of time and of training a review names after a number, and how the paper writes them.
_UNIT_WORDS = {
    "час": ("hours", ("hour", "hr")), "дн": ("days", ("day",)), "ден": ("days", ("day",)),
    "недел": ("weeks", ("week",)), "месяц": ("months", ("month",)), "минут": ("minutes", ("minute", "min")),
    "секунд": ("seconds", ("second", "sec")), "шаг": ("steps", ("step", "iteration", "update")),
    "эпох": ("epochs", ("epoch",)),
}


_UNIT_AFTER = re.compile(r"^\s*(час|дн|ден|недел|месяц|минут|секунд|шаг|эпох)", re.IGNORECASE)


_METRICS = frozenset(normalize(m) for m in (
    "BLEU", "iBLEU", "SARI", "ROUGE", "ROUGE-1", "ROUGE-2", "ROUGE-L", "F1", "EM", "AUC", "AUROC", "ALL", "SEQ",
    "SOTA", "TER", "self-TER", "self-BLEU", "BERTScore", "recall", "precision", "accuracy", "pass@1", "cons@64",
    "Recall@20", "Recall@50", "Recall@100", "PPL", "FLOPs", "GPU", "GPUs", "test", "dev", "train", "base", "large"))


_LEAD = re.compile(r"^\s*(?:[-*]\s+)?\*\*([^*\n]+)\*\*", re.MULTILINE)


def unit_word(review: str, written: Written) -> tuple[str, tuple[str, ...]] | None:
    """«18 часов», «3,5 дня», «100 000 шагов»: the unit the paper must use for the same value."""
    match = _UNIT_AFTER.match(review[written.end:written.end + 12])
    return _UNIT_WORDS[match.group(1).lower()] if match else None


def has_unit(evidence: Evidence, stated: Stated, unit_word: tuple[str, tuple[str, ...]]) -> bool:
    unit = evidence.units[stated.unit]
    if unit.is_row:  # a table's unit is in its header or caption
        return any(word in unit.neighbours.lower() for word in unit_word[1])
    text = unit.text.lower()
    raw = stated.number.text.lower()
    at = text.find(raw)
    while at >= 0:
        if any(word in text[max(0, at - 24):at + len(raw) + 24] for word in unit_word[1]):
            return True
        at = text.find(raw, at + 1)
    return False


def label_swap(review: str, mention: Mention, places: list[Stated], evidence: Evidence) -> tuple[str, str] | None:
    """The word the review ties to the number («3177 test») stands in the paper's sentence next to
    another value of the same kind («… and Test (30%, 908)»), and nowhere next to this one."""
    word = _attached_word(review, mention)
    if word is None or len(word) < 3 or word in STOP:
        return None
    other = None
    for stated in places:
        unit = evidence.units[stated.unit]
        numbers = evidence.numbers_in(stated.unit)
        if unit.is_row or len(numbers) > 8:
            continue  # a table flattened into one sentence: its words are headers, not neighbours
        spots = [m.span() for m in re.finditer(rf"(?<![A-Za-z]){re.escape(word)}(?![A-Za-z])", unit.text,
                                                 re.IGNORECASE)]
        if not spots:
            continue  # the paper's sentence does not use the word: it says nothing either way
        if any(_gap(spot, stated.number) <= REACH for spot in spots):
            return None
        beside = [n for n in numbers if _same_kind(mention.written, n, spread=10)
                  and any(_gap(spot, n) <= REACH for spot in spots)]
        if beside:
            other = min(beside, key=lambda n: min(_gap(spot, n) for spot in spots))
    return (word, other.text) if other is not None else None


def _gap(spot: tuple[int, int], number: Written) -> int:
    """Characters between a word and a number; one after the word a little nearer ("Test (30%, 908)")."""
    start, end = spot
    return number.start - end - 2 if number.start >= end else start - number.end


def _attached_word(review: str, mention: Mention) -> str | None:
    """The Latin word right after the number, or right before it, inside its clause."""
    left, right = clause(review, mention)
    written = mention.written
    after = LATIN.match(review[written.end:right].lstrip())
    if after and review[written.end:right][:1].isspace():
        return after.group(0).lower()
    before = re.search(r"([A-Za-z][\w-]*)\s*[:=]?\s*$", review[left:written.start])
    return before.group(1).lower() if before else None


def other_table(review: str, mention: Mention, places: list[Stated], evidence: Evidence) -> str | None:
    """A dataset the review's bullet is about (its bold lead, «**TabFact:**»)
    that some table's caption names, while every table holding the value has a caption about
    something else: the number belongs to the other benchmark."""
    rows = [evidence.units[s.unit] for s in places]
    if not rows or any(not row.is_row or not row.caption for row in rows):
        return None
    line_start = review.rfind("\n", 0, mention.written.start) + 1
    lead = _LEAD.match(review, line_start)
    if lead is None:
        return None
    for name in _names_in(review, lead.start(1), lead.end(1), evidence):
        if evidence.captions(name) and not any(name in row.caption or name in row.norm for row in rows):
            return name
    return None


def _names_near(review: str, mention: Mention, evidence: Evidence) -> list[str]:
    """The models the review gives this number: those of its own clause that label a table row
    («72.4 против 70.6 у TAPAS large inter»: TAPAS for 70.6 only). The sentence's subject
    («PRIMERA — ROUGE-1 53.73, ROUGE-2 25.17») is not used: on real answers it flagged honest
    numbers seven times for each swap it caught."""
    left, right = clause(review, mention)
    return [n for n in _names_in(review, left, right, evidence) if evidence.labels(n)]


def _names_in(review: str, start: int, end: int, evidence: Evidence) -> list[str]:
    names = []
    for match in LATIN.finditer(review, start, end):
        raw = match.group(0)
        word = normalize(raw)
        if len(word) < 2 or word in _METRICS or raw.islower() or not evidence.idf(word):
            continue
        names.append(word)
    return names


def swapped_cell(review: str, mention: Mention, places: list[Stated],
                  evidence: Evidence) -> tuple[str, int] | None:
    """A table value given to the wrong row: the review names model B for a value the paper prints
    in model A's row, and B's row of the same table has another value in that column."""
    names = _names_near(review, mention, evidence)
    if not names or any(not evidence.units[s.unit].is_row for s in places):
        return None
    left, right = clause(review, mention)
    words = [normalize(m.group(0)) for m in LATIN.finditer(review, left, right)]
    for stated in places:
        row = evidence.units[stated.unit]
        if any(t in row.norm for t in words if evidence.idf(t)) or any(n in row.near for n in names):
            return None  # the clause names something of the value's own row, or its table's header
    for stated in places:
        column = _column(evidence, stated)
        for name in names:
            for position in evidence.hits(name)[0]:
                other = evidence.units[position]
                if other.table != evidence.units[stated.unit].table or name not in other.label:
                    continue
                cells = evidence.numbers_in(position)
                if len(cells) < len(other.text.split()) / 2:
                    continue  # a header row, words mostly: not a row of values
                if column < len(cells) and _same_kind(mention.written, cells[column]):
                    return name, position
    return None


def _column(evidence: Evidence, stated: Stated) -> int:
    cells = evidence.numbers_in(stated.unit)
    return next((i for i, cell in enumerate(cells) if cell.start == stated.number.start), -1)


def _same_kind(written: Written, other: Written, spread: int = 3) -> bool:
    """Another value that could stand in the same place: same unit, similar precision and size."""
    mine, theirs = min(written.values), min(other.values)
    if theirs in written.values or mine <= 0 or theirs <= 0:
        return False
    return abs(other.places - written.places) <= 1 and (written.unit == other.unit or not other.unit) \
        and 1 / Decimal(spread) <= theirs / mine <= spread
