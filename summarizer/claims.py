"""Whether a value the paper states is stated there for the review's claim.

Each check names the place that contradicts the review, or returns None when nothing does:
- the unit word («18 часов» must be hours in the paper, not months);
- a table value the review gives to another row's model, whose cell in the same column of the
  same table differs (the baseline's score given to the method). Whose the review says it is
  (`owners`): the model its clause names, else the one the sentence names before it («PRIMERA —
  ROUGE-1 53.73, ROUGE-2 25.17»), else the bullet's bold lead, else the paper's own method;
- a value printed only in tables about another benchmark than the one the review's bullet leads
  with («**TabFact:** …» given a number of the SQA table): the table's caption names another,
  or the value's column sits under another dataset of a header that names several side by side;
- a value whose word in the review («3177 test») stands in the paper's sentence next to
  another value («… and Test (30%, 908)») and never next to this one; and more generally a value
  whose clause's words (Russian ones looked up in English, `summarizer.vocabulary`) the paper's
  sentence ties to another value, two words more at least («лучшая модель — 2,2 ложной тревоги»
  where the best model has 1.4 and 2.2 is the base model's);
- one value the review's sentence gives to two different names while the paper states it once.
Only Latin-script names count, since the paper is English.
"""

from __future__ import annotations

import re
from decimal import Decimal

from summarizer.evidence import Evidence, Stated, Unit, normalize
from summarizer.numbers import Written, scan
from summarizer.review_numbers import LATIN, STOP, Mention, clause
from summarizer.vocabulary import find, lookup, terms

REACH = 25  # characters within which a paper's word goes with a number


# Units of time and of training a review names after a number, and how the paper writes them.
_UNIT_WORDS = {
    "час": ("hours", ("hour", "hr")),
    "дн": ("days", ("day",)),
    "ден": ("days", ("day",)),
    "недел": ("weeks", ("week",)),
    "месяц": ("months", ("month",)),
    "минут": ("minutes", ("minute", "min")),
    "секунд": ("seconds", ("second", "sec")),
    "шаг": ("steps", ("step", "iteration", "update")),
    "эпох": ("epochs", ("epoch",)),
}


_UNIT_AFTER = re.compile(r"^\s*(час|дн|ден|недел|месяц|минут|секунд|шаг|эпох)", re.IGNORECASE)


_METRICS = frozenset(
    normalize(m)
    for m in (
        "BLEU",
        "iBLEU",
        "SARI",
        "ROUGE",
        "ROUGE-1",
        "ROUGE-2",
        "ROUGE-L",
        "F1",
        "EM",
        "AUC",
        "AUROC",
        "ALL",
        "SEQ",
        "SOTA",
        "TER",
        "self-TER",
        "self-BLEU",
        "BERTScore",
        "recall",
        "precision",
        "accuracy",
        "pass@1",
        "cons@64",
        "Recall@20",
        "Recall@50",
        "Recall@100",
        "PPL",
        "FLOPs",
        "GPU",
        "GPUs",
        "test",
        "dev",
        "train",
        "base",
        "large",
    )
)


_LEAD = re.compile(r"^\s*(?:[-*]\s+)?\*\*([^*\n]+)\*\*", re.MULTILINE)


def unit_word(review: str, written: Written) -> tuple[str, tuple[str, ...]] | None:
    """«18 часов», «3,5 дня», «100 000 шагов»: the unit the paper must use for the same value."""
    match = _UNIT_AFTER.match(review[written.end : written.end + 12])
    return _UNIT_WORDS[match.group(1).lower()] if match else None


def has_unit(evidence: Evidence, stated: Stated, unit_word: tuple[str, tuple[str, ...]]) -> bool:
    unit = evidence.units[stated.unit]
    if unit.is_row:  # a table's unit is in its header or caption
        return any(word in unit.neighbours.lower() for word in unit_word[1])
    text = unit.text.lower()
    raw = stated.number.text.lower()
    at = text.find(raw)
    while at >= 0:
        if any(word in text[max(0, at - 24) : at + len(raw) + 24] for word in unit_word[1]):
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
        spots = [
            m.span() for m in re.finditer(rf"(?<![A-Za-z]){re.escape(word)}(?![A-Za-z])", unit.text, re.IGNORECASE)
        ]
        if not spots:
            continue  # the paper's sentence does not use the word: it says nothing either way
        if any(_gap(spot, stated.number) <= REACH for spot in spots):
            return None
        beside = [
            n
            for n in numbers
            if _same_kind(mention.written, n, spread=10) and any(_gap(spot, n) <= REACH for spot in spots)
        ]
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
    after = LATIN.match(review[written.end : right].lstrip())
    if after and review[written.end : right][:1].isspace():
        return after.group(0).lower()
    before = re.search(r"([A-Za-z][\w-]*)\s*[:=]?\s*$", review[left : written.start])
    return before.group(1).lower() if before else None


def other_table(review: str, mention: Mention, places: list[Stated], evidence: Evidence) -> str | None:
    """A dataset the review's bullet is about (its bold lead, «**TabFact:**») that some table's
    caption names, while every table cell holding the value is about another one: its table's
    caption names something else, or its column sits under another dataset of a header that
    names several side by side ("AutoScholarQuery RealScholarQuery Crawler Recall …")."""
    rows = [evidence.units[s.unit] for s in places]
    if not rows or any(not row.is_row for row in rows):
        return None
    line_start = review.rfind("\n", 0, mention.written.start) + 1
    lead = _LEAD.match(review, line_start)
    if lead is None:
        return None
    for name in _names_in(review, lead.start(1), lead.end(1), evidence):
        if evidence.captions(name) and all(_about_another(evidence, stated, name) for stated in places):
            return name
    return None


def _about_another(evidence: Evidence, stated: Stated, name: str) -> bool:
    row = evidence.units[stated.unit]
    if name in row.norm:
        return False
    groups = _column_groups(evidence, stated)
    if name in groups:
        return _group_of(evidence, stated, groups) not in (None, name)
    return bool(row.caption) and name not in row.caption


def _column_groups(evidence: Evidence, stated: Stated) -> list[str]:
    """The datasets a table's header names side by side, in order (each a caption's dataset)."""
    header = evidence.units[stated.unit].header
    words = header.split()
    first = next((i for i, w in enumerate(words) if _CELL.fullmatch(w)), len(words))
    found = [normalize(w) for w in words[:first]]
    return list(dict.fromkeys(w for w in found if len(w) >= 3 and w not in _METRICS and evidence.captions(w)))


def _group_of(evidence: Evidence, stated: Stated, groups: list[str]) -> str | None:
    """The group of the value's column when the row's cells split evenly among the groups."""
    cells = evidence.cells_in(stated.unit)
    column = _column(evidence, stated)
    if len(groups) < 2 or column < 0 or len(cells) % len(groups):
        return None
    return groups[column // (len(cells) // len(groups))]


_CELL = re.compile(r"[-–—±]?\d[\d.,%]*")


def owners(review: str, mention: Mention, evidence: Evidence, *, labelled: bool = True) -> tuple[list[str], str]:
    """The names the review gives this number to, and where it says so.

    Its own clause first («70.6 у TAPAS large inter»); else the nearest name before it back to a
    hard cut (a semicolon, «против», «а», «но»: «PRIMERA — ROUGE-1 53.73, ROUGE-2 27.32»). With
    `labelled` only names that label a table row count, and two more fall-backs: the bullet's bold lead («**Selector:**»)
    and, for a clause that names nobody, the paper's own method (the title's «TableFormer:»); never
    across a comparison («34.8 против 24.1»: the far side is somebody else's)."""
    left, right = clause(review, mention)

    def named(start: int, end: int) -> list[str]:
        return [n for n in _names_in(review, start, end, evidence) if not labelled or evidence.labels(n)]

    own = named(left, right)
    if own:
        return own, "clause"
    if _OWNED.search(review, left, right):
        return [], ""  # «71.7 у предыдущего SOTA»: the clause says whose it is, in words we cannot look up
    start, _end = mention.sentence
    cut = None
    for cut in _HARD_CUT.finditer(review, start, left):
        pass
    before = [n for n in named(cut.end() if cut else start, left) if len(n) >= 4]
    if before:
        return before[-1:], "before"
    if not labelled or (cut is not None and cut.group(0) != ";"):
        return [], ""  # «34.8 против 24.1»: the far side of a comparison is somebody else's
    line_start = review.rfind("\n", 0, mention.written.start) + 1
    lead = _LEAD.match(review, line_start)
    if lead is not None:
        led = named(lead.start(1), lead.end(1))
        if led:
            return led[-1:], "lead"
        if any(evidence.captions(n) for n in _names_in(review, lead.start(1), lead.end(1), evidence)):
            return [], ""  # the bullet is about a dataset: its numbers may be anybody's
    if evidence.name and evidence.labels(evidence.name):
        return [evidence.name], "paper"
    return [], ""


_OWNED = re.compile(r"(?:^|\s)(?:у|для|of|for)\s", re.IGNORECASE)
_HARD_CUT = re.compile(
    r";|\sпротив\s|\svs\.?\s|\sversus\s|\sа\s|\sно\s|\sтогда как\s|\sв то время как\s|"
    r"\sчем\s|\sпо сравнению с\s",
    re.IGNORECASE,
)


def _names_in(review: str, start: int, end: int, evidence: Evidence) -> list[str]:
    names = []
    for match in LATIN.finditer(review, start, end):
        raw = match.group(0)
        word = normalize(raw)
        if len(word) < 2 or word in _METRICS or raw.islower() or not evidence.idf(word):
            continue
        names.append(word)
    return names


def swapped_cell(review: str, mention: Mention, places: list[Stated], evidence: Evidence) -> tuple[str, int] | None:
    """A table value given to the wrong row: the review gives model B (`owners`) a value the paper
    prints in model A's row, and B's row of the same table has another value in that column."""
    if not places or any(not evidence.units[s.unit].is_row for s in places):
        return None
    names, where = owners(review, mention, evidence)
    if not names:
        return None
    # a name of the clause in the table's caption or header may be the value's column; an inherited
    # one («**Selector:**», the paper's own method) is what the table is about: only its header counts
    around = (lambda row: row.near) if where == "clause" else _column_names
    left, right = clause(review, mention)
    words = [w for w in (normalize(m.group(0)) for m in LATIN.finditer(review, left, right)) if w not in _METRICS]
    for stated in places:
        row = evidence.units[stated.unit]
        if any(t in row.norm for t in words if evidence.idf(t)) or any(
            n in row.norm or n in around(row) for n in names
        ):
            return None  # the clause names something of the value's own row, or its table's header
    for stated in places:
        found = _owners_cell(evidence, stated, names, mention.written)
        if found is not None:
            return found
    return None


def _column_names(row: Unit) -> str:
    """A table's column names, normalized: its header row's words before the first row's label."""
    words = row.header.split()
    first = next((i for i, w in enumerate(words) if _CELL.fullmatch(w)), len(words))
    return normalize(" ".join(words[: max(0, first - 3)]))


def _owners_cell(evidence: Evidence, stated: Stated, names: list[str], written: Written) -> tuple[str, int] | None:
    """The row of the same table that the owner labels (the one most like the value's row: "TAPASLARGE
    inter" → "TABLEFORMERLARGE inter"), when its cell in the value's column is another value of its kind."""
    place = evidence.units[stated.unit]
    column = _column(evidence, stated)
    if column < 0:
        return None
    best: tuple[int, str, int] | None = None
    for name in names:
        for position in evidence.hits(name)[0]:
            other = evidence.units[position]
            if position == stated.unit or other.table != place.table or name not in other.label:
                continue
            cells = evidence.cells_in(position)
            if column >= len(cells) or (
                len(cells) < len(other.text.split()) / 2 and not _labels_first_row(other, name, cells)
            ):
                continue  # a header row, words mostly: not a row of values
            likeness = _common_tail(other.label, place.label)
            if best is None or likeness > best[0]:
                best = (likeness, name, position)
    if best is None:
        return None
    _likeness, name, position = best
    start, end = evidence.cells_in(position)[column]
    cell = scan(evidence.units[position].text, start, end)
    return (name, position) if cell and _same_kind(written, cell[0]) else None


def _labels_first_row(row: Unit, name: str, cells: list[tuple[int, int]]) -> bool:
    """A header row printed with the first row ("Model BLEU ROUGE WidgetNet 41.8 53.73"): the name is
    the word right before the values, and the values run to the end."""
    before = row.text[: cells[0][0]].split() if cells else []
    return bool(before) and normalize(before[-1]) == name and row.text[cells[0][0] :].count(" ") < len(cells)


def _common_tail(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n


def _column(evidence: Evidence, stated: Stated) -> int:
    """The value's column: its place among the row's cells, dashes for missing values counted."""
    cells = evidence.cells_in(stated.unit)
    return next((i for i, (start, end) in enumerate(cells) if start <= stated.number.start < end), -1)


def _same_kind(written: Written, other: Written, spread: int = 3) -> bool:
    """Another value that could stand in the same place: same unit, similar precision and size."""
    mine, theirs = min(written.values), min(other.values)
    if theirs in written.values or mine <= 0 or theirs <= 0:
        return False
    return (
        abs(other.places - written.places) <= 1
        and (written.unit == other.unit or not other.unit)
        and 1 / Decimal(spread) <= theirs / mine <= spread
    )


def given_twice(
    review: str, mention: Mention, others: list[Mention], places: list[Stated], evidence: Evidence
) -> tuple[str, str] | None:
    """The review's sentence gives the same value to two different names («AutoGen … recall 62.59%
    против … 62.59% у DPR») while the paper states it in one place only: one of the two is wrong.
    Returns (this number's name, the other's)."""
    written = mention.written
    if not (written.places or written.unit) or len({(s.unit, s.number.start) for s in places if not s.converted}) != 1:
        return None  # whole numbers without a unit (years, counts) coincide too often
    mine = None
    for other in others:
        if (
            other.sentence != mention.sentence
            or other.written.start == written.start
            or other.written.unit != written.unit
            or not other.written.values & written.values
        ):
            continue
        if mine is None:
            mine = set(owners(review, mention, evidence, labelled=False)[0])
            if not mine:
                return None
        theirs = set(owners(review, other, evidence, labelled=False)[0])
        if theirs and not theirs & mine:
            return sorted(mine)[0], sorted(theirs)[0]
    return None


def wrong_neighbour(review: str, mention: Mention, places: list[Stated], evidence: Evidence) -> tuple[str, str] | None:
    """The words of the review's clause stand in the paper's sentence next to another value, and
    at least two fewer of them next to this one: «лучшая модель даёт 2,2 ложной тревоги» where the paper says
    "our best model only had about 1.4 false alarms …; compare this to the 2.2 false alarms the base
    MGP-RNN has". The clause's Russian words are looked up in English (`summarizer.vocabulary`).
    Values the review's sentence states itself are not taken as the other value.
    Returns (the words, the other value) when some sentence holding the value says so and none
    holding it ties more of the clause's words to it."""
    left, right = clause(review, mention)
    wanted: dict[str, str] | None = None
    found = None
    alone: list[tuple[Stated, list[Written]]] = []
    for stated in places:
        unit = evidence.units[stated.unit]
        numbers = evidence.numbers_in(stated.unit)
        if unit.is_row or len(numbers) > 8:
            continue  # a table flattened into one sentence: its words are headers, not neighbours
        rivals = [n for n in numbers if n.start == stated.number.start or _same_kind(mention.written, n)]
        if len(rivals) < 2:
            alone.append((stated, rivals))  # no rival here: only asked, once a rival elsewhere is found
            continue
        if wanted is None:
            wanted = lookup(terms(review[left : mention.written.start] + " " + review[mention.written.end : right]))
        ties = _ties(unit.text, evidence.words_in(stated.unit), wanted, rivals)
        own = ties.get(stated.number.start, set())
        for number in rivals:
            tied = ties.get(number.start, set())
            # two words more at least: one word before a list ("Adam with β1 = 0.9, β2 = 0.98") stands
            # nearest the list's first value but goes with all of them
            if (
                number.start != stated.number.start
                and own < tied
                and len(tied - own) >= 2
                and not number.values & _stated_in(review, mention)
            ):
                found = found or (sorted(tied - own), number.text)
                break
        else:
            if own:
                return None  # a sentence that ties the clause's words to this value as much as to any
    if found is None:
        return None
    for stated, rivals in alone:  # a sentence that ties the clause's words to the value and nothing else
        if _ties(evidence.units[stated.unit].text, evidence.words_in(stated.unit), wanted or {}, rivals):
            return None
    words, other = found
    return ", ".join(words), other


def _stated_in(review: str, mention: Mention) -> set:
    start, end = mention.sentence
    return {v for m in scan(review, start, end) for v in m.values}


def _ties(
    text: str, words: list[tuple[str, int, int]], wanted: dict[str, str], numbers: list[Written]
) -> dict[int, set[str]]:
    """For each number (by its offset), the wanted words whose paper occurrence stands nearest to it.
    Numbers written as a range or a list ("4% - 6%", "0.5k 1.0k 1.5k") share their words."""
    ties: dict[int, set[str]] = {}
    if not wanted:
        return ties
    for word, start, end in words:
        hit = find(wanted, word)
        if hit is None or word in STOP:
            continue
        gaps = [(_gap((start, end), n), n.start) for n in numbers]
        gap, at = min(gaps, default=(REACH + 1, -1))
        if gap <= REACH and sum(g == gap for g, _ in gaps) == 1:
            ties.setdefault(at, set()).add(hit)
    run: list[Written] = []
    for number in sorted(numbers, key=lambda n: n.start) + [None]:
        if number is not None and run and _LISTED.fullmatch(text[run[-1].end : number.start]):
            run.append(number)
            continue
        if len(run) > 1:
            shared = set().union(*(ties.get(n.start, set()) for n in run))
            for n in run:
                ties[n.start] = shared
        run = [number] if number is not None else []
    return ties


_LISTED = re.compile(r"\s*(?:[-–—,/]|to|and)?\s*")
