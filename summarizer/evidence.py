"""The paper as evidence: the sentences, list items and table rows that state its numbers.

Each unit keeps its section and (found lazily) its page, and only the numbers that state
something: page numbers, footnote and list markers, equation, figure, table and section
numbers, reference numbers, citation years and axis ticks are left out, as is the
references section. The index maps a value, at every precision a review may round it
to, to the units that state it. A flattened table becomes one unit per row, with its
caption and header row kept (also when the extraction printed each row as a paragraph of
its own); a row's cells and a unit's words are read once, when a claim check first asks.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

from paperdigest.records import PaperMeta, Section
from summarizer.numbers import PERCENT, Written, scan

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[\"“])")
_ABBREVIATIONS = (
    "et al.",
    "e.g.",
    "i.e.",
    "Fig.",
    "Figs.",
    "Eq.",
    "Eqs.",
    "Tab.",
    "vs.",
    "Sec.",
    "No.",
    "cf.",
    "resp.",
    "approx.",
    "Ref.",
    "Refs.",
    "etc.",
    "Inc.",
    "Dr.",
    "Mr.",
    "St.",
    "al.",
)
_LABEL_BEFORE = re.compile(
    r"(?:\b(?:tables?|tab|figures?|figs?|sections?|sec|eqs?|equations?|appendix|appendices|algorithm|alg|"
    r"theorem|lemma|corollary|proposition|definition|page|pages|chapter|footnote|listing)\.?\s*|\bpp?\.\s*|§\s*|[Ss]ection\s[A-Z]\.)"
    r"(?:\d+[.,]?\d*\s*(?:,|and|&|–|-)\s*)*$",
    re.IGNORECASE,
)
_CITATION_YEAR = re.compile(r"(?:al\.,?|[A-Z][a-z]+,|\(|;)\s*$")
_BRACKETED = re.compile(r"\[[\d,;\s–-]+\]")
_ARXIV_ID = re.compile(r"\b(?:arXiv:)?\d{4}\.\d{4,5}(?:v\d+)?\b|\b[a-z-]+(?:\.[A-Z]{2})?/\d{7}\b")
_LIST_MARKER = re.compile(r"^\s*\(?\d{1,2}[.)](?:\s|$)")
_EQUATION_NUMBER = re.compile(r"\(\d{1,3}\)")
_TABLE_CAPTION = re.compile(r"\b(?:Table|Tab\.)\s*\d+[:.]\s")
_WORD = re.compile(r"[A-Za-zА-Яа-яЁё][\w-]*")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
MAX_PLACES = 6


def normalize(text: str) -> str:
    """Lower case, letters and digits only: "TAPASLARGE inter" and "TAPAS large inter" compare equal."""
    return re.sub(r"[^0-9a-zа-яё]+", "", text.lower())


@dataclass
class Unit:
    """A sentence, list item or table row of the paper."""

    text: str
    section: str
    neighbours: str  # the sentences around it, or a table row's caption: context for the claim check
    norm: str = ""
    near: str = ""
    is_row: bool = False
    label: str = ""  # a table row's name: the words right before its numbers ("TAPASLARGE inter")
    table: int = -1  # rows of one flattened table share this number
    caption: str = ""  # a table row's caption ("Table 6: Results on RealScholarQuery."), normalized
    header: str = ""  # a table row's header row as printed (the table's first row: column names, then values)

    def __post_init__(self) -> None:
        self.norm = self.norm or normalize(self.text)  # given by `_units_of`, which has them at hand
        self.near = self.near or normalize(self.neighbours)
        if self.is_row:
            words = self.text.split()
            first = next((i for i, w in enumerate(words) if _NUMERIC_TOKEN.fullmatch(w)), len(words))
            self.label = normalize(" ".join(words[max(0, first - 3) : first]))


@dataclass(frozen=True)
class Stated:
    """One evidence number: its unit and how it is written."""

    unit: int
    number: Written
    converted: bool  # matched through the percent scale (0.634 ↔ 63.4%)


@dataclass
class Evidence:
    units: list[Unit]
    pages: list[str] = field(default_factory=list)
    index: dict[Decimal, list[Stated]] = field(default_factory=lambda: defaultdict(list))
    _page_text: str = ""
    _page_starts: list[int] = field(default_factory=list)
    _hits: dict[str, tuple[frozenset[int], frozenset[int]]] = field(default_factory=dict)
    _numbers: dict[int, list[Written]] = field(default_factory=dict)
    _joined: dict[str, tuple[str, list[int]]] = field(default_factory=dict)
    _words: dict[int, list[tuple[str, int, int]]] = field(default_factory=dict)
    _cells: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    name: str = ""  # the paper's own name, normalized: the title's head before a colon ("TableFormer: …")

    @classmethod
    def from_paper(cls, meta: PaperMeta | None, sections: list[Section], pages: list[str] | None = None) -> Evidence:
        units = []
        if meta is not None:
            units += _units_of(meta.title, "")
            units += _units_of(meta.abstract, "Abstract")
            if meta.comment:
                units += _units_of(meta.comment, "")
        for section in sections:
            if section.kind == "references":
                continue
            units += _units_of(section.text, section.title)
        evidence = cls(units, list(pages or []))
        evidence.name = _own_name(meta.title) if meta is not None else ""
        evidence._build_index()
        return evidence

    @classmethod
    def from_text(cls, text: str) -> Evidence:
        return cls.from_paper(None, [Section("", "other", text)])

    def _build_index(self) -> None:
        for position, unit in enumerate(self.units):
            self._numbers[position] = _stated_numbers(unit.text)
            for number in self._numbers[position]:
                for value in number.values:
                    self._add(value, number.places, Stated(position, number, False))
                    # "0.634" in the paper is "63.4%" in a review and the other way round
                    shifted = value / 100 if number.unit == PERCENT else value * 100
                    self._add(
                        shifted,
                        max(number.places + (2 if number.unit == PERCENT else -2), 0),
                        Stated(position, number, True),
                    )

    def _add(self, value: Decimal, places: int, stated: Stated) -> None:
        keys = {value}
        for p in range(min(places, MAX_PLACES)):
            quantum = Decimal(1).scaleb(-p)
            keys.add(value.quantize(quantum, rounding=ROUND_HALF_EVEN))
            keys.add(value.quantize(quantum, rounding=ROUND_HALF_UP))
        for key in keys:
            self.index[key].append(stated)

    def labels(self, name: str) -> bool:
        """Whether some table row is labelled with this name (a model, in most tables)."""
        inside, _around = self.hits(name)
        return any(name in self.units[i].label and len(self.numbers_in(i)) >= 2 for i in inside)

    def captions(self, name: str) -> bool:
        """Whether some table's caption names this (a dataset, in most captions)."""
        return any(name in unit.caption for unit in self.units if unit.caption)

    def words_in(self, position: int) -> list[tuple[str, int, int]]:
        """The unit's words, lower case, with their offsets (read once per unit, when first asked)."""
        words = self._words.get(position)
        if words is None:
            words = [(m.group(0).lower(), m.start(), m.end()) for m in _LATIN_WORD.finditer(self.units[position].text)]
            self._words[position] = words
        return words

    def cells_in(self, position: int) -> list[tuple[int, int]]:
        """A table row's cells after its label, as offsets: numbers and the dashes of missing values."""
        cells = self._cells.get(position)
        if cells is None:
            text = self.units[position].text
            cells = [m.span() for m in re.finditer(r"\S+", text) if _NUMERIC_TOKEN.fullmatch(m.group(0))]
            self._cells[position] = cells
        return cells

    def numbers_in(self, position: int) -> list[Written]:
        return self._numbers.get(position, [])

    def stating(self, value: Decimal) -> list[Stated]:
        return self.index.get(value, [])

    def hits(self, term: str) -> tuple[frozenset[int], frozenset[int]]:
        """The units whose own text holds the term, and those that hold it only around them."""
        if term not in self._hits:
            inside = self._find(term, "norm")
            self._hits[term] = (inside, self._find(term, "near") - inside)
        return self._hits[term]

    def _find(self, term: str, field_name: str) -> frozenset[int]:
        """One scan of all units' text joined (a separator no term holds), not one test per unit."""
        if field_name not in self._joined:
            texts = [getattr(unit, field_name) for unit in self.units]
            starts, offset = [], 0
            for text in texts:
                starts.append(offset)
                offset += len(text) + 1
            self._joined[field_name] = ("|".join(texts), starts)
        joined, starts = self._joined[field_name]
        found, at = set(), joined.find(term)
        while at >= 0:
            found.add(bisect.bisect_right(starts, at) - 1)
            at = joined.find(term, at + 1)
        return frozenset(found)

    def idf(self, term: str) -> float:
        """How telling a term is: rare in the paper's units is telling, absent is useless (0)."""
        inside, around = self.hits(term)
        df = len(inside) + len(around)
        return math.log((len(self.units) + 1) / df) if df else 0.0

    def page_of(self, unit: Unit) -> int | None:
        """1-based page where the unit's text starts, when the pages are known."""
        if not self.pages:
            return None
        if not self._page_starts:
            parts = [normalize(page) for page in self.pages]
            offset = 0
            for part in parts:
                self._page_starts.append(offset)
                offset += len(part)
            self._page_text = "".join(parts)
        probe = unit.norm[:48]
        found = self._page_text.find(probe) if len(probe) >= 8 else -1
        return bisect.bisect_right(self._page_starts, found) if found >= 0 else None


def _own_name(title: str) -> str:
    """ "TableFormer: Robust Transformer Modeling…" → "tableformer"; a title without a short head → ""."""
    head, colon, _rest = title.partition(":")
    return normalize(head) if colon and 0 < len(head.split()) <= 2 else ""


def _paragraphs(text: str) -> list[str]:
    """The text's paragraphs, with a table printed one row per paragraph joined back into one
    ("Method Precision Recall F1 GPT-4o 0.96 0.69 0.80", "Qwen-2.5-7b 1.0 0.38 0.55", …)."""
    paragraphs: list[str] = []
    in_table = False
    for paragraph in re.split(r"\n\s*\n", text):
        row = _row_like(paragraph)
        if row and in_table:
            paragraphs[-1] += " " + paragraph
        else:
            paragraphs.append(paragraph)
        in_table = row
    return paragraphs


_DIGIT = re.compile(r"\d")
_CAPTION_WORDS = frozenset(("Table", "Tab.", "Figure", "Fig."))


def _row_like(paragraph: str) -> bool:
    """A short paragraph of a label and a run of two or more numbers ("PaSa-7b-Selector 0.95 0.78 0.85")."""
    if len(paragraph) > 400 or not _DIGIT.search(paragraph):
        return False
    tokens = paragraph.split()
    if not 3 <= len(tokens) <= 30:
        return False
    numeric = [bool(_NUMERIC_TOKEN.fullmatch(t)) for t in tokens]
    first = next((i for i, n in enumerate(numeric) if n), len(tokens))
    if not (0 < first <= 8 and first + 1 < len(tokens) and numeric[first + 1]):
        return False
    end = next((i for i in range(first, len(tokens)) if not numeric[i]), len(tokens))
    # one row only: after its values at most a caption ("Table 7: Selector Evaluation.")
    return not any(numeric[i] and tokens[i - 1] not in _CAPTION_WORDS for i in range(end, len(tokens)))


def _units_of(text: str, section: str) -> list[Unit]:
    units: list[Unit] = []
    heading = normalize(section)
    for paragraph in _paragraphs(text):
        paragraph = _repaired(" ".join(paragraph.split()))
        if not paragraph:
            continue
        sentences = _sentences(paragraph)
        norms = [normalize(sentence) for sentence in sentences]  # normalize(a + " " + b) is the two joined
        caption = _caption_near(paragraph)
        for i, sentence in enumerate(sentences):
            rows = _rows(sentence)
            if rows:
                header = rows[0]  # a flattened table starts with its column headers
                table = hash((section, sentence))
                neighbours = f"{section} {caption} {header}"
                near, captioned = normalize(neighbours), normalize(caption)
                units += [
                    Unit(
                        row, section, neighbours, near=near, is_row=True, table=table, caption=captioned, header=header
                    )
                    for row in rows
                ]
                continue
            around = " ".join(sentences[max(0, i - 1) : i] + sentences[i + 1 : i + 2])
            near = heading + "".join(norms[max(0, i - 1) : i] + norms[i + 1 : i + 2])
            units.append(Unit(sentence, section, f"{section} {around}", norm=norms[i], near=near))
    return units


def _sentences(paragraph: str) -> list[str]:
    pieces, start = [], 0
    for match in _SENTENCE_END.finditer(paragraph):
        before = paragraph[start : match.start()]
        if before.endswith(_ABBREVIATIONS) or re.search(r"\b[A-Z]\.$", before):
            continue
        pieces.append(before)
        start = match.end()
    pieces.append(paragraph[start:])
    return [p for p in pieces if p.strip()]


def _caption_near(paragraph: str) -> str:
    match = _TABLE_CAPTION.search(paragraph)
    return paragraph[match.start() : match.start() + 240] if match else ""


_NUMERIC_TOKEN = re.compile(r"[-–—±]?\d[\d.,%]*(?:e[−-]?\d+)?|[–—-]|±")


def _rows(sentence: str) -> list[str]:
    """A flattened table: a run of words (the row's label) followed by a run of numbers, repeated."""
    tokens = sentence.split()
    numeric = [bool(_NUMERIC_TOKEN.fullmatch(t)) for t in tokens]
    if sum(numeric) < 6 or sum(numeric) < 0.35 * len(tokens):
        return []
    rows: list[list[str]] = []
    for i, token in enumerate(tokens):
        if not rows or (not numeric[i] and numeric[i - 1]):
            rows.append([])
        rows[-1].append(token)
    return [" ".join(row) for row in rows]


_SPLIT_THOUSANDS = re.compile(r"(?<=\d),\s(?=\d{3}(?!\d))")  # "6, 066": a space the extraction added
_LOST_SUPERSCRIPT = re.compile(r"(?<=\d)\s*[·×∗*]\s*10([−-]?\d{1,2})\b")  # "2.3 · 1019" is 2.3·10^19


def _repaired(text: str) -> str:
    return _LOST_SUPERSCRIPT.sub(r"e\1", _SPLIT_THOUSANDS.sub(",", text))


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group(0))  # offsets must not move


def _stated_numbers(text: str) -> list[Written]:
    """The numbers of a unit that state something (not labels, markers, references or ticks)."""
    masked = _ARXIV_ID.sub(_blank, text)
    if "[" in masked:  # most units have no reference or equation number: skip the scans then
        masked = _BRACKETED.sub(_blank, masked)
    if "(" in masked:
        masked = _EQUATION_NUMBER.sub(_blank, masked)
    numbers = []
    for number in scan(masked):
        head = masked[max(0, number.start - 24) : number.start]
        if _LABEL_BEFORE.search(head):
            continue
        if number.start < 4 and _LIST_MARKER.match(masked) and not number.unit:
            continue
        integer = next(iter(number.values))
        if number.places == 0 and 1900 <= integer <= 2039 and len(number.values) == 1 and _CITATION_YEAR.search(head):
            continue
        numbers.append(number)
    return _without_ticks(numbers)


def _without_ticks(numbers: list[Written]) -> list[Written]:
    """Axis ticks: four or more evenly spaced numbers in a row (0 20 40 60 80, 0.2 0.4 0.6 0.8)."""
    drop: set[int] = set()
    i = 0
    while i < len(numbers):
        j = i + 1
        while j < len(numbers) and len(numbers[j].values) == 1 and len(numbers[j - 1].values) == 1:
            step = min(numbers[j].values) - min(numbers[j - 1].values)
            first_step = min(numbers[i + 1].values) - min(numbers[i].values) if j > i + 1 else step
            gap = numbers[j].start - numbers[j - 1].end
            if step <= 0 or step != first_step or gap > 3 or numbers[j].unit or numbers[j].scaled:
                break
            j += 1
        if j - i >= 4:
            drop.update(range(i, j))
            i = j
        else:
            i += 1
    return [n for k, n in enumerate(numbers) if k not in drop]
