"""Attribution: for each number a review states, where the paper says it — or why it cannot.

A value is looked up in the paper's evidence (`summarizer.evidence`) in a compatible unit
(«в 3,5 раза» is not "3.5 days"). Then the claim is checked, not only the value:
- a unit word after the number («18 часов», «3,5 дня», «4000 шагов») must be the paper's;
- a table value the review's clause gives to another row's model, whose cell in the same
  column of the same table differs, is a MISMATCH (the baseline's score given to the method);
- so is a value printed only in tables whose captions are about another benchmark than the
  one the review's bullet leads with («**TabFact:** …» given a number of the SQA table);
- and a value whose word in the review («3177 test») stands in the paper's sentence next to
  another value («… and Test (30%, 908)») and never next to this one.
The source shown is the place whose words best match the review sentence's (Latin-script
words, rarer ones weighing more). A number the paper does not state is DERIVED when two
numbers of the same review sentence give it by a difference, sum, product, ratio or relative
change to the precision written, WRONG_ARITHMETIC when the sentence computes it and the
arithmetic is off, and ABSENT otherwise. A paper value is taken as computed only where the
sentence says so («то есть», «разрыв», «итого»…), and stands when the arithmetic is within 1 %.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, DivisionByZero, InvalidOperation

from summarizer.evidence import Evidence, Stated, normalize
from summarizer.grounding import (ABSENT, DERIVED, FOUND, MISMATCH, WRONG_ARITHMETIC, Grounding, NumberCheck,
                                  Source)
from summarizer.numbers import PERCENT, POINTS, TIMES, Written, rounds_to, scan

_URL = re.compile(r"(?:https?://|www\.)[^\s)\]>\"'«»]+|\]\([^)]*\)", re.IGNORECASE)
_CODE = re.compile(r"`[^`]*`")
_ARXIV_ID = re.compile(r"\b\d{4}\.\d{4,5}(?:v\d+)?\b")
_MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$", re.DOTALL)
_REFERENCE = re.compile(r"\[\d{1,3}(?:\s*[,;–-]\s*\d{1,3})*\]")
_LABEL_BEFORE = re.compile(
    r"(?:\b(?:table|tab|figure|fig|section|sec|eq|equation|appendix|algorithm|рис|рисун\w*|таблиц\w*|"
    r"раздел\w*|раздела|параграф\w*|глав\w*|формул\w*|уравнени\w*|приложени\w*|стр|шаг\w*|этап\w*|"
    r"пункт\w*|п|§)\.?\s*(?:\d+[.,]?\d*\s*(?:,|и|–|-)\s*)*)$",
    re.IGNORECASE,
)
_DATE_AROUND = re.compile(r"^\s*(?:г\.|год|году|года|гг)|et al|\bal\.", re.IGNORECASE)
_DERIVED_CUE = re.compile(
    r"разрыв|разниц|прирост|отрыв|то есть|т\. е\.|итого|всего|сумм|\bна\s*$|выше на|больше на|меньше на|"
    r"опережа|обходит|превосходит|раза|по .{0,12} на|в среднем|=|≈",
    re.IGNORECASE,
)
_STRONG_CUE = re.compile(r"разрыв|разниц|то есть|т\. е\.|\bитого\b|\bплюс\b|\bминус\b", re.IGNORECASE)
_COMPARED_AFTER = re.compile(r"^\S*\s*(?:\S+\s+)?(?:выше|больше|меньше|ниже|лучше|хуже|быстрее|медленнее|дешевле)",
                             re.IGNORECASE)
_APPROXIMATE = re.compile(r"(?:около|примерно|почти|порядка|свыше|более|менее|больше|меньше|до|~|≈|>|<)\s*$",
                          re.IGNORECASE)
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-@.][A-Za-z0-9]+)*")
_STOP = frozenset("the and for with from that this than its are was were has have not but all also via per "
                  "vs et al of in on to by as at is an or be while only about over under into reaches achieves "
                  "obtains gets scores drops".split())
REACH = 25  # characters within which a paper's word goes with a number
NEAR_MISS = 0.35  # relative error under which a computed result counts as wrong arithmetic, not absent


@dataclass(frozen=True)
class _Mention:
    written: Written
    anchor: int
    sentence: tuple[int, int]


def attribute(review: str, evidence: Evidence) -> Grounding:
    """Every checked number of `review` (Markdown) and what the paper says about it."""
    mentions = _mentions(review)
    checks = []
    for mention in mentions:
        if _unchecked(review, mention):
            continue
        checks.append(_check(review, mention, mentions, evidence))
    return Grounding(checks)


# --- reading the review -------------------------------------------------------------------


def _mentions(review: str) -> list[_Mention]:
    masked = _mask(review)
    sentences = _sentence_bounds(review)
    found = []
    for math in _MATH.finditer(masked):
        found += _math_mentions(review, math)
    prose = _MATH.sub(lambda m: " " * len(m.group(0)), masked)
    for written in scan(prose):
        found.append(_Mention(_as_written(review, written), written.end, (0, 0)))
    located = []
    for mention in sorted(found, key=lambda m: m.written.start):
        bounds = next((b for b in sentences if b[0] <= mention.written.start < b[1]), (0, len(review)))
        located.append(_Mention(mention.written, mention.anchor, bounds))
    return located


def _mask(review: str) -> str:
    """Links, code, arXiv ids and reference numbers ("[37]", "[3, 7]") blanked, offsets kept."""
    blank = lambda m: " " * len(m.group(0))  # noqa: E731 - offsets must not move
    return _REFERENCE.sub(blank, _ARXIV_ID.sub(blank, _CODE.sub(blank, _URL.sub(blank, review))))


def _as_written(review: str, written: Written) -> Written:
    """The same number with its text taken from the review (the masked copy has spaces)."""
    return Written(review[written.start:written.end].strip(), written.start, written.end, written.values,
                   written.mantissas, written.unit, written.places, written.scaled)


_LATEX_NUMBER = re.compile(
    r"(?<![\w^_{\\])(\d+(?:\{,\}\d+|[.,]\d+)?)(?:\s*\\(?:cdot|times)\s*10\^\{?(-?\d+)\}?)?(\s*\\%)?")


def _math_mentions(review: str, math: re.Match[str]) -> list[_Mention]:
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
        number = Written(match.group(0).strip(), match.start(), match.end(), frozenset(values), frozenset(values),
                         unit, places, bool(match.group(2)))
        found.append(_Mention(number, math.end(), (0, 0)))
    return found


def _sentence_bounds(review: str) -> list[tuple[int, int]]:
    bounds, start = [], 0
    for match in re.finditer(r"(?<=[.!?])\s+(?=[А-ЯЁA-Z*(«\"-])|\n+", review):
        if match.start() > start:
            bounds.append((start, match.start()))
        start = match.end()
    bounds.append((start, len(review)))
    return bounds


def _unchecked(review: str, mention: _Mention) -> bool:
    """Counts in prose, labels (Table 3, раздел 6.1) and dates are not results."""
    written = mention.written
    if written.is_small_count:
        return True
    head = review[max(0, written.start - 24):written.start]
    if _LABEL_BEFORE.search(head):
        return True
    value = next(iter(written.values))
    if written.places == 0 and not written.unit and 1900 <= value <= 2039:
        tail = review[written.end:written.end + 8]
        return bool(_DATE_AROUND.search(tail) or _DATE_AROUND.search(head[-8:]) or "WMT" in head
                    or head.rstrip().endswith(("(", ",")))
    return False


# --- checking one number ------------------------------------------------------------------


def _check(review: str, mention: _Mention, mentions: list[_Mention], evidence: Evidence) -> NumberCheck:
    written = mention.written
    sentence = review[mention.sentence[0]:mention.sentence[1]].strip()
    base = dict(text=written.text, start=written.start, end=written.end, anchor=mention.anchor, sentence=sentence)
    places = _places_of(written, evidence)
    derived = _derivation(review, mention, mentions, strict=bool(places))
    if derived and derived[0]:
        return NumberCheck(**base, status=DERIVED, operands=derived[1], detail=derived[2])
    if derived:  # the sentence computes it and the arithmetic is off (a paper value equal to it is a coincidence)
        return NumberCheck(**base, status=WRONG_ARITHMETIC, operands=derived[1], detail=derived[2])
    if not places:
        return NumberCheck(**base, status=ABSENT, detail="the paper does not give this number")
    unit_word = _unit_word(review, written)
    if unit_word and not any(_has_unit(evidence, stated, unit_word) for stated in places):
        return NumberCheck(**base, status=ABSENT, detail=f"the paper gives {written.text} but not in {unit_word[0]}")
    best = _best_place(review, mention, places, evidence)
    unit = evidence.units[best.unit]
    source = Source(unit.text[:400], unit.section, evidence.page_of(unit))
    swap = _swapped_cell(review, mention, places, evidence)
    if swap is not None:
        name, row = swap
        return NumberCheck(**base, status=MISMATCH, source=source,
                           detail=f"in the paper's table {written.text} belongs to another row; "
                                  f"{name}'s row says «{evidence.units[row].text[:160]}»")
    label = _label_swap(review, mention, places, evidence)
    if label is not None:
        word, other = label
        return NumberCheck(**base, status=MISMATCH, source=source,
                           detail=f"in the paper {word} goes with {other}, not with {written.text}")
    dataset = _other_table(review, mention, places, evidence)
    if dataset is not None:
        return NumberCheck(**base, status=MISMATCH, source=source,
                           detail=f"the paper prints {written.text} in a table about another dataset, not {dataset}")
    return NumberCheck(**base, status=FOUND, source=source)


def _label_swap(review: str, mention: _Mention, places: list[Stated], evidence: Evidence) -> tuple[str, str] | None:
    """The word the review ties to the number («3177 test») stands in the paper's sentence next to
    another value of the same kind («… and Test (30%, 908)»), and nowhere next to this one."""
    word = _attached_word(review, mention)
    if word is None or len(word) < 3 or word in _STOP:
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


def _attached_word(review: str, mention: _Mention) -> str | None:
    """The Latin word right after the number, or right before it, inside its clause."""
    left, right = _clause(review, mention)
    written = mention.written
    after = _LATIN.match(review[written.end:right].lstrip())
    if after and review[written.end:right][:1].isspace():
        return after.group(0).lower()
    before = re.search(r"([A-Za-z][\w-]*)\s*[:=]?\s*$", review[left:written.start])
    return before.group(1).lower() if before else None


_LEAD = re.compile(r"^\s*(?:[-*]\s+)?\*\*([^*\n]+)\*\*", re.MULTILINE)


def _other_table(review: str, mention: _Mention, places: list[Stated], evidence: Evidence) -> str | None:
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


# Units of time and of training a review names after a number, and how the paper writes them.
_UNIT_WORDS = {
    "час": ("hours", ("hour", "hr")), "дн": ("days", ("day",)), "ден": ("days", ("day",)),
    "недел": ("weeks", ("week",)), "месяц": ("months", ("month",)), "минут": ("minutes", ("minute", "min")),
    "секунд": ("seconds", ("second", "sec")), "шаг": ("steps", ("step", "iteration", "update")),
    "эпох": ("epochs", ("epoch",)),
}
_UNIT_AFTER = re.compile(r"^\s*(час|дн|ден|недел|месяц|минут|секунд|шаг|эпох)", re.IGNORECASE)


def _unit_word(review: str, written: Written) -> tuple[str, tuple[str, ...]] | None:
    """«18 часов», «3,5 дня», «100 000 шагов»: the unit the paper must use for the same value."""
    match = _UNIT_AFTER.match(review[written.end:written.end + 12])
    return _UNIT_WORDS[match.group(1).lower()] if match else None


def _has_unit(evidence: Evidence, stated: Stated, unit_word: tuple[str, tuple[str, ...]]) -> bool:
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


def _best_place(review: str, mention: _Mention, places: list[Stated], evidence: Evidence) -> Stated:
    """The place whose words best match the review sentence's (rare words count more; inside the
    unit fully, around it half): the source a reader is shown."""
    terms = [(t, w * evidence.idf(t)) for t, w in _terms(review, mention)]

    def score(stated: Stated) -> tuple[float, bool]:
        unit = evidence.units[stated.unit]
        total = sum(w if t in unit.norm else w / 2 if t in unit.near else 0.0 for t, w in terms)
        return total, not stated.converted

    return max(places, key=score)


_CLAUSE_CUT = re.compile(r"[;,()]|\sпротив\s|\sи\s|\sа\s|\sно\s|\svs\.?\s", re.IGNORECASE)
_METRICS = frozenset(normalize(m) for m in (
    "BLEU", "iBLEU", "SARI", "ROUGE", "ROUGE-1", "ROUGE-2", "ROUGE-L", "F1", "EM", "AUC", "AUROC", "ALL", "SEQ",
    "SOTA", "TER", "self-TER", "self-BLEU", "BERTScore", "recall", "precision", "accuracy", "pass@1", "cons@64",
    "Recall@20", "Recall@50", "Recall@100", "PPL", "FLOPs", "GPU", "GPUs", "test", "dev", "train", "base", "large"))


def _names_near(review: str, mention: _Mention, evidence: Evidence) -> list[str]:
    """The models the review gives this number: those of its own clause that label a table row
    («72.4 против 70.6 у TAPAS large inter»: TAPAS for 70.6 only). The sentence's subject
    («PRIMERA — ROUGE-1 53.73, ROUGE-2 25.17») is not used: on real answers it flagged honest
    numbers seven times for each swap it caught."""
    left, right = _clause(review, mention)
    return [n for n in _names_in(review, left, right, evidence) if evidence.labels(n)]


def _clause(review: str, mention: _Mention) -> tuple[int, int]:
    start, end = mention.sentence
    cuts = list(_CLAUSE_CUT.finditer(review, start, end))
    left = max((m.end() for m in cuts if m.end() <= mention.written.start), default=start)
    right = min((m.start() for m in cuts if m.start() >= mention.written.end), default=end)
    return left, right


def _names_in(review: str, start: int, end: int, evidence: Evidence) -> list[str]:
    names = []
    for match in _LATIN.finditer(review, start, end):
        raw = match.group(0)
        word = normalize(raw)
        if len(word) < 2 or word in _METRICS or raw.islower() or not evidence.idf(word):
            continue
        names.append(word)
    return names


def _swapped_cell(review: str, mention: _Mention, places: list[Stated],
                  evidence: Evidence) -> tuple[str, int] | None:
    """A table value given to the wrong row: the review names model B for a value the paper prints
    in model A's row, and B's row of the same table has another value in that column."""
    names = _names_near(review, mention, evidence)
    if not names or any(not evidence.units[s.unit].is_row for s in places):
        return None
    left, right = _clause(review, mention)
    clause = [normalize(m.group(0)) for m in _LATIN.finditer(review, left, right)]
    for stated in places:
        row = evidence.units[stated.unit]
        if any(t in row.norm for t in clause if evidence.idf(t)) or any(n in row.near for n in names):
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


def _terms(review: str, mention: _Mention) -> list[tuple[str, float]]:
    """The Latin-script words of the number's sentence, weighted by how close they stand to it."""
    start, end = mention.sentence
    terms: dict[str, float] = {}
    for match in _LATIN.finditer(review, start, end):
        word = normalize(match.group(0))
        if len(word) < 2 or word in _STOP or word.isdigit():
            continue
        distance = min(abs(match.start() - mention.written.end), abs(match.end() - mention.written.start))
        weight = 1.0 if distance <= 40 else 0.4 if distance <= 100 else 0.15
        terms[word] = max(terms.get(word, 0.0), weight)
    return list(terms.items())


# --- derived numbers ----------------------------------------------------------------------


def _derivation(review: str, mention: _Mention, mentions: list[_Mention], *,
                strict: bool) -> tuple[bool, list[str], str] | None:
    """(arithmetic right?, operands, formula) when the sentence computes this number from two others.

    A number the paper also states is only taken as computed where the review says so
    («то есть», «разрыв», «итого», «в N раза»…, `strict`); an absent one with any hint."""
    written = mention.written
    head = review[max(mention.sentence[0], written.start - 40):written.start]
    if strict:  # the paper states this value: only a sentence that says it computes it is checked
        tail = review[written.end:written.end + 30]
        computed = _STRONG_CUE.search(head) or (re.search(r"\bна\s*$", head) and _COMPARED_AFTER.match(tail))
    else:
        computed = _DERIVED_CUE.search(head) or written.unit in (TIMES, POINTS)
    if not computed:
        return None
    others = [m.written for m in mentions if m.sentence == mention.sentence and m.written.start != written.start
              and (m.written.unit or not m.written.is_small_count)]
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
