"""Attribution: for each number a review states, where the paper says it — or why it cannot.

The review's numbers (`summarizer.review_numbers`) are looked up in the paper's evidence
(`summarizer.evidence`) in a compatible unit («в 3,5 раза» is not "3.5 days"); then the claim
is checked, not only the value (`summarizer.claims`: unit word, table row and column, the
benchmark's table or column group, the words a value goes with, one value given to two names).
The source shown is the place whose words best match the review sentence's (Latin-script
words, rarer ones weighing more).

A number the paper does not state is DERIVED when two numbers of the same review sentence
give it by a difference, sum, product, ratio or relative change to the precision written,
WRONG_ARITHMETIC when the sentence computes it and the arithmetic is off, and ABSENT
otherwise. A paper value is taken as computed only where the sentence says so («то есть»,
«разрыв», «итого»…), and stands when the arithmetic is within 1 %.
"""

from __future__ import annotations

import re
from decimal import Decimal, DivisionByZero, InvalidOperation

from summarizer.claims import given_twice, has_unit, label_swap, other_table, swapped_cell, unit_word, wrong_neighbour
from summarizer.evidence import Evidence, Stated, normalize
from summarizer.grounding import ABSENT, DERIVED, FOUND, MISMATCH, WRONG_ARITHMETIC, Grounding, NumberCheck, Source
from summarizer.numbers import PERCENT, POINTS, TIMES, Written, rounds_to
from summarizer.review_numbers import LATIN, STOP, Mention, mentions, unchecked

_DERIVED_CUE = re.compile(
    r"разрыв|разниц|прирост|отрыв|то есть|т\. е\.|итого|всего|сумм|\bна\s*$|выше на|больше на|меньше на|"
    r"опережа|обходит|превосходит|раза|по .{0,12} на|в среднем|=|≈",
    re.IGNORECASE,
)
_STRONG_CUE = re.compile(r"разрыв|разниц|то есть|т\. е\.|\bитого\b|\bплюс\b|\bминус\b", re.IGNORECASE)
_COMPARED_AFTER = re.compile(
    r"^\S*\s*(?:\S+\s+)?(?:выше|больше|меньше|ниже|лучше|хуже|быстрее|медленнее|дешевле)", re.IGNORECASE
)
_APPROXIMATE = re.compile(
    r"(?:около|примерно|почти|порядка|свыше|более|менее|больше|меньше|до|~|≈|>|<)\s*$", re.IGNORECASE
)
NEAR_MISS = 0.35  # relative error under which a computed result counts as wrong arithmetic, not absent


def attribute(review: str, evidence: Evidence) -> Grounding:
    """Every checked number of `review` (Markdown) and what the paper says about it."""
    found = mentions(review)
    checks = []
    for mention in found:
        if unchecked(review, mention):
            continue
        checks.append(_check(review, mention, found, evidence))
    return Grounding(checks)


# --- checking one number ------------------------------------------------------------------


def _check(review: str, mention: Mention, mentions: list[Mention], evidence: Evidence) -> NumberCheck:
    written = mention.written
    sentence = review[mention.sentence[0] : mention.sentence[1]].strip()
    base = dict(text=written.text, start=written.start, end=written.end, anchor=mention.anchor, sentence=sentence)
    places = _places_of(written, evidence)
    derived = _derivation(review, mention, mentions, strict=bool(places))
    if derived and derived[0]:
        return NumberCheck(**base, status=DERIVED, operands=derived[1], detail=derived[2])
    if derived:  # the sentence computes it and the arithmetic is off (a paper value equal to it is a coincidence)
        return NumberCheck(**base, status=WRONG_ARITHMETIC, operands=derived[1], detail=derived[2])
    if not places:
        return NumberCheck(**base, status=ABSENT, detail="the paper does not give this number")
    unit = unit_word(review, written)
    if unit and not any(has_unit(evidence, stated, unit) for stated in places):
        return NumberCheck(**base, status=ABSENT, detail=f"the paper gives {written.text} but not in {unit[0]}")
    best = _best_place(review, mention, places, evidence)
    unit = evidence.units[best.unit]
    source = Source(unit.text[:400], unit.section, evidence.page_of(unit))
    swap = swapped_cell(review, mention, places, evidence)
    if swap is not None:
        name, row = swap
        return NumberCheck(
            **base,
            status=MISMATCH,
            source=source,
            detail=f"in the paper's table {written.text} belongs to another row; "
            f"{name}'s row says «{evidence.units[row].text[:160]}»",
        )
    label = label_swap(review, mention, places, evidence)
    if label is not None:
        word, other = label
        return NumberCheck(
            **base,
            status=MISMATCH,
            source=source,
            detail=f"in the paper {word} goes with {other}, not with {written.text}",
        )
    dataset = other_table(review, mention, places, evidence)
    if dataset is not None:
        return NumberCheck(
            **base,
            status=MISMATCH,
            source=source,
            detail=f"the paper prints {written.text} in a table about another dataset, not {dataset}",
        )
    neighbour = wrong_neighbour(review, mention, places, evidence)
    if neighbour is not None:
        words, other = neighbour
        return NumberCheck(
            **base,
            status=MISMATCH,
            source=source,
            detail=f"in the paper's sentence {words} go with {other}, not with {written.text}",
        )
    twice = given_twice(review, mention, mentions, places, evidence)
    if twice is not None:
        mine, theirs = twice
        return NumberCheck(
            **base,
            status=MISMATCH,
            source=source,
            detail=f"the review gives {written.text} to both {mine} and {theirs}; the paper states it once",
        )
    return NumberCheck(**base, status=FOUND, source=source)


def _best_place(review: str, mention: Mention, places: list[Stated], evidence: Evidence) -> Stated:
    """The place whose words best match the review sentence's (rare words count more; inside the
    unit fully, around it half): the source a reader is shown."""
    terms = [(t, w * evidence.idf(t)) for t, w in _terms(review, mention)]

    def score(stated: Stated) -> tuple[float, bool]:
        unit = evidence.units[stated.unit]
        total = sum(w if t in unit.norm else w / 2 if t in unit.near else 0.0 for t, w in terms)
        return total, not stated.converted

    return max(places, key=score)


def _places_of(written: Written, evidence: Evidence) -> list[Stated]:
    """Where the paper states this value, in a compatible unit."""
    places: list[Stated] = []
    # "213 млн" may be the 213 of a "params (×10^6)" column; "13B" is a model size and only that
    worded = written.scaled and not written.text[-1:] in "kKMBT"
    for value in written.values | (written.mantissas if worded else frozenset()):
        for stated in evidence.stating(value):
            if value not in written.values and not evidence.units[stated.unit].is_row:
                continue  # "213 млн" is the 213 of a table's "params (×10^6)" column, not any 213
            if stated.converted and not (written.unit == PERCENT or stated.number.unit == PERCENT):
                continue  # 0.95 and 95 are the same only when one side says "%"
            if not _compatible(written, stated):
                continue
            places.append(stated)
    return places


def _compatible(written: Written, stated: Stated) -> bool:
    """«в 3,5 раза» is not the paper's "3.5 days"; "97.03" is not the paper's "97.0" (more precise than it)."""
    if (written.unit == TIMES) != (stated.number.unit == TIMES):
        return False
    number = stated.number
    if written.places > number.places and not stated.converted and not number.scaled and not written.scaled:
        return any(rounds_to(v, w, written.places) for v in number.values for w in written.values)
    return True


def _terms(review: str, mention: Mention) -> list[tuple[str, float]]:
    """The Latin-script words of the number's sentence, weighted by how close they stand to it."""
    start, end = mention.sentence
    terms: dict[str, float] = {}
    for match in LATIN.finditer(review, start, end):
        word = normalize(match.group(0))
        if len(word) < 2 or word in STOP or word.isdigit():
            continue
        distance = min(abs(match.start() - mention.written.end), abs(match.end() - mention.written.start))
        weight = 1.0 if distance <= 40 else 0.4 if distance <= 100 else 0.15
        terms[word] = max(terms.get(word, 0.0), weight)
    return list(terms.items())


# --- derived numbers ----------------------------------------------------------------------


def _derivation(
    review: str, mention: Mention, mentions: list[Mention], *, strict: bool
) -> tuple[bool, list[str], str] | None:
    """(arithmetic right?, operands, formula) when the sentence computes this number from two others.

    A number the paper also states is only taken as computed where the review says so
    («то есть», «разрыв», «итого», «в N раза»…, `strict`); an absent one with any hint."""
    written = mention.written
    head = review[max(mention.sentence[0], written.start - 40) : written.start]
    if strict:  # the paper states this value: only a sentence that says it computes it is checked
        tail = review[written.end : written.end + 30]
        computed = _STRONG_CUE.search(head) or (re.search(r"\bна\s*$", head) and _COMPARED_AFTER.match(tail))
    else:
        computed = _DERIVED_CUE.search(head) or written.unit in (TIMES, POINTS)
    if not computed:
        return None
    others = [
        m.written
        for m in mentions
        if m.sentence == mention.sentence
        and m.written.start != written.start
        and (m.written.unit or not m.written.is_small_count)
    ]
    if len(others) < 2:
        return None
    tolerance = Decimal("0.05") if _APPROXIMATE.search(head[-14:]) else Decimal(0)
    nearest: tuple[Decimal, list[str], str] | None = None
    for target in written.values:
        for a in others:
            for b in others:
                if a is b:
                    continue
                for result, formula in _results(a, b, written.unit):
                    if _agrees(result, target, written.places, tolerance):
                        return True, [a.text, b.text], formula
                    error = abs(result - target) / max(abs(target), Decimal("1e-9"))
                    # the paper's own figure may round its operands differently: within 1 % it stands
                    if strict and error < Decimal("0.01"):
                        continue
                    if error <= NEAR_MISS and (nearest is None or error < nearest[0]):
                        nearest = (error, [a.text, b.text], f"{formula}, not {written.text}")
    if nearest is None:
        return None
    return False, nearest[1], nearest[2]


def _results(a: Written, b: Written, unit: str) -> list[tuple[Decimal, str]]:
    x, y = min(a.values), min(b.values)
    if unit == POINTS:  # percentage points are a difference, never a ratio
        return [(x - y, f"{x} - {y} = {x - y}")]
    out = []
    if unit != TIMES:
        out += [(x - y, f"{x} - {y} = {x - y}"), (x + y, f"{x} + {y} = {x + y}"), (x * y, f"{x} * {y} = {x * y}")]
        if unit == PERCENT and x < 1 and y < 1:
            out.append(((x - y) * 100, f"({x} - {y}) * 100 = {(x - y) * 100}"))
    try:
        ratio = x / y
        out.append((ratio, f"{x} / {y} = {ratio:.4g}"))
        if unit == PERCENT:
            out.append(((ratio - 1) * 100, f"({x} / {y} - 1) * 100 = {(ratio - 1) * 100:.4g}"))
    except (DivisionByZero, InvalidOperation):
        pass
    return out


def _agrees(result: Decimal, target: Decimal, places: int, tolerance: Decimal) -> bool:
    if tolerance:
        return abs(result - target) <= tolerance * abs(target)
    # operands are rounded too: allow the last written digit plus half of it
    return abs(result - target) <= Decimal(1).scaleb(-places) * Decimal("0.75") or rounds_to(result, target, places)
