"""Cut a paper's extracted text into sections: pure functions, no I/O.

    split_sections(pages) → [Section(front), Section(abstract), Section("1 Introduction"), ...]

pdfium gives plain lines without font sizes, so headings are found from the text alone:

1. Lines are prepared: the arXiv side stamp, lone page numbers and running headers or
   footers (the same line opening or closing many pages) are dropped, and
   table-of-contents blocks are marked so that their entries are not taken for headings.
2. Candidate headings: "Abstract"; numbered lines ("1 Introduction", "2.3. Training",
   "IV. EXPERIMENTS") whose title looks like a title (short, capitalised, mostly
   letters, no final period, no affiliation, not a wrapped line of prose); known
   unnumbered headings alone on their line ("Related Work", "References", ...);
   appendix headings ("A Proofs", "B.2 Hyperparameters", "Appendix A: ...") after the
   references heading.
3. Numbers must form a sequence: among numbered candidates the heaviest chain in which
   every number can follow the previous one (next sibling, first child, next parent,
   allowing one missed heading) wins; figure labels, list items and table rows rarely
   fit into it. A chain of fewer than three headings is ignored (unnumbered papers), and
   only then do body headings like "Introduction" or "Experiments" count unnumbered.
4. Each section's lines are joined into paragraphs and its kind is guessed from the
   title, or inherited from the parent number when the title says nothing.

Hand-written rather than a library: GROBID and science-parse need a JVM service, and the
pdfminer-based layout tools that could see font sizes are about 25 times slower than
pdfium on our corpus (bench/extract.py); these text heuristics find the headings of
every paper in ../shared/corpus (tests/summarizer/test_corpus.py).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import partial

from paperdigest.records import Section

# --- line preparation ------------------------------------------------------------------

_ARXIV_STAMP = re.compile(
    r"^arXiv:\s?(?:\d{4}\.\d{4,5}|[a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?\s*"
    r"(?:\[[\w.\-]+\]\s*)?(?:\d{1,2}\s+[A-Z][a-z]{2}\s+\d{4})?$"
)
_PAGE_NUMBER = re.compile(
    r"^(?:[-–—]\s*)?(?:page\s+)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?(?:\s*[-–—])?$",
    re.IGNORECASE,
)
_TOC_ENTRY = re.compile(r"[A-Za-z)\]][\s.·]*?(?:\s\.?\s?){1,}\d{1,3}$")


def _norm_margin(line: str) -> str:
    return re.sub(r"\d+", "#", line.lower())


def _running_lines(pages: list[list[str]]) -> set[str]:
    """Normalised lines that open or close many pages: running headers and footers."""
    seen: Counter[str] = Counter()
    for lines in pages:
        seen.update({_norm_margin(x) for x in (lines[:1] + lines[-1:]) if len(x) <= 120})
    needed = max(3, len(pages) // 3)
    return {x for x, n in seen.items() if n >= needed}


def _without_numbers(lines: list[str]) -> list[str]:
    """The page without the arXiv stamp, and without a page number as its first or last line."""
    last = len(lines) - 1
    return [
        x for i, x in enumerate(lines) if not _ARXIV_STAMP.match(x) and not (i in (0, last) and _PAGE_NUMBER.match(x))
    ]


def prepare_lines(pages: list[str]) -> list[str]:
    """The document's lines without stamps, page numbers and running headers.

    Blank lines inside a page are kept as "" (a paragraph break); page breaks are not marked.
    """
    split = [_without_numbers([x.strip() for x in page.split("\n")]) for page in pages]
    split = [lines[:-1] if lines and not lines[-1] else lines for lines in split]
    running = _running_lines(split) if len(split) >= 3 else set()
    out: list[str] = []
    for lines in split:
        if running and lines and _norm_margin(lines[0]) in running:
            lines = lines[1:]
        if running and lines and _norm_margin(lines[-1]) in running:
            lines = lines[:-1]
        out.extend(lines)
    return out


def column_width(lines: list[str]) -> int:
    """Typical characters per line of body text: the median over lines longer than 25 characters.

    Short lines are figure labels and table cells; the median keeps lines that pdfium
    merged across two columns from counting.
    """
    lengths = sorted(len(x) for x in lines if len(x) > 25)
    return lengths[len(lengths) // 2] if lengths else 80


def _toc_lines(lines: list[str]) -> set[int]:
    """Indexes of lines inside a table of contents (three or more entries close together)."""
    hits = [i for i, x in enumerate(lines) if x[-1:].isdigit() and len(x) < 160 and _TOC_ENTRY.search(x)]
    toc: set[int] = set()
    for k, i in enumerate(hits):
        near = [j for j in hits[max(0, k - 2) : k + 3] if abs(j - i) <= 4]
        if len(near) >= 3:
            toc.update(near)
    return toc


# --- heading candidates ----------------------------------------------------------------


@dataclass
class _Heading:
    line: int  # index of the heading's first line
    span: int  # lines it occupies (a long title wraps)
    title: str
    number: str | None  # "3.1", "A.2", "IV"; None for unnumbered
    key: tuple[int, ...] | None  # number as a tuple for sequence checks
    weight: float = 1.0
    rest: str = ""  # text after a run-in heading ("Abstract—We show ...")
    appendix: bool = False  # an appendix heading after the references ("B.2 Hyperparameters")


_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,3})(\.?)\s+(\S.*)$")
_LONE_NUMBER = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,3})\.?$")
_ROMAN = re.compile(r"^([IVX]{1,6})\.\s+([A-Z][^a-z]*)$")
_LETTER = re.compile(r"^(?:Appendix\s+|APPENDIX\s+)?([A-Z](?:\.\d{1,2}){0,3})(?:[.:]\s*|\s+)(\S.*)$")
_APPENDIX_WORD = re.compile(r"^(?:Appendix|APPENDIX)\s+([A-Z](?:\.\d{1,2}){0,3})\s*(?:[:.\-–—]\s*(.*))?$")
_ABSTRACT = re.compile(r"^(?:abstract|a\s?b\s?s\s?t\s?r\s?a\s?c\s?t)(?:\s*[.:—–-]\s*(.*))?$", re.IGNORECASE)

_ALWAYS_UNNUMBERED = (
    r"acknowledge?ments?|acknowledgements? and disclosure of funding|references|bibliography"
    r"|appendix|appendices|supplementary materials?|supplementary|limitations|ethics statement"
    r"|ethical considerations|broader impacts?(?: statement)?|impact statement"
    r"|reproducibility statement|author contributions"
)
_BODY_UNNUMBERED = (
    r"introduction|background|related works?|prior work|preliminaries|methods?|methodology"
    r"|(?:our|proposed) (?:methods?|approach(?:es)?|model)|approach|experiments?"
    r"|experimental (?:setup|settings?|results|details|evaluation)|experiments and results"
    r"|evaluation|results(?: and discussion)?|analysis|discussion|conclusions?"
    r"|conclusions? and future work|summary and outlook|future work"
)
_KNOWN_ALWAYS = re.compile(rf"^(?:{_ALWAYS_UNNUMBERED})[:.]?$", re.IGNORECASE)
_KNOWN_BODY = re.compile(rf"^(?:{_BODY_UNNUMBERED})[:.]?$", re.IGNORECASE)

_NOT_TITLE_START = re.compile(
    r"^(?:(?:Figure|Fig\.|Table|Tab\.|Algorithm|Equation|Eq\.|Listing|Step|Example)\s*\d"
    r"|(?:We|Our|I|It|Its|They|Their|You|Your|This|These|Those|There|Here|He|She)\b)"
)
_AFFILIATION = re.compile(
    r"@|https?:|www\.|\b(?:University|Universit\w+|Institute|Department|Dept\.|School of|College of|"
    r"Inc|Ltd|LLC|Corporation|GmbH)\b"
)
_PERSON_INITIALS = re.compile(r"(?:^|[\s,])[A-Z]\.(?:\s|$|-)|,\s*(?:and\s+)?[A-Z][a-z]+,")
_KEYWORD_TITLE = re.compile(
    r"introduc|related|background|method|approach|experiment|result|evaluat|conclu|discuss|"
    r"limitation|analysis|model|train|setup|appendix|proof|detail",
    re.IGNORECASE,
)


def _looks_like_title(title: str) -> bool:
    words = title.split()
    if not words or len(words) > 16 or len(title) > 110:
        return False
    first = title[0]
    if not (first.isupper() or (first.isdigit() and len(words[0]) > 1 and words[0][-1].isalpha())):
        return False
    if title[-1] in ",;:" or (title[-1] == "." and len(words) > 4) or title.endswith(" and"):
        return False
    letters = sum(c.isalpha() for c in title)
    if letters < 2 or letters < 0.6 * (len(title) - title.count(" ")):
        return False
    return not (_NOT_TITLE_START.match(title) or _AFFILIATION.search(title))


def _key(number: str) -> tuple[int, ...]:
    parts = number.split(".")
    head = parts[0]
    top = ord(head) - ord("A") + 1 if head.isalpha() else int(head)
    return (top, *(int(p) for p in parts[1:]))


_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10}


def _roman(text: str) -> int:
    total = 0
    for a, b in zip(text, text[1:] + " "):
        value = _ROMAN_VALUES[a]
        total += -value if _ROMAN_VALUES.get(b, 0) > value else value
    return total


class _Lines:
    """The prepared lines plus what heading detection needs to know about them."""

    def __init__(self, lines: list[str], width: int):
        self.lines = lines
        self.width = width
        self.by_first: dict[str, list[int]] = {}  # first character → line indexes
        for i, line in enumerate(lines):
            if line:
                self.by_first.setdefault(line[0], []).append(i)
        self.toc = _toc_lines(lines)

    def get(self, i: int) -> str:
        return self.lines[i] if 0 <= i < len(self.lines) else ""

    def is_prose(self, i: int) -> bool:
        """The line is a full-width line that a sentence continues after."""
        nxt = self.get(i + 1)
        return len(self.lines[i]) >= 0.85 * self.width and nxt[:1].islower()

    def continuation(self, i: int) -> str | None:
        """The next line when it finishes a wrapped heading ("3 TABLEFORMER: Robust Structural" / "Table Encoding")."""
        line, nxt = self.lines[i], self.get(i + 1)
        if not nxt or len(line) < 0.55 * self.width or len(line) + len(nxt) > 120 or len(nxt.split()) > 6:
            return None
        if not nxt[0].isupper() or nxt[-1] in ".,;:" or self.get(i + 2)[:1].islower():
            return None
        if _NUMBERED.match(nxt) or _LETTER.match(nxt) or _KNOWN_ALWAYS.match(nxt) or not _looks_like_title(nxt):
            return None
        return nxt

    def title_at(self, i: int, title: str) -> tuple[str, int] | None:
        """The heading title starting on line i (joined with its wrapped part) and its span in lines."""
        more = self.continuation(i)
        if more and _looks_like_title(f"{title} {more}"):
            return f"{title} {more}", 2
        if _looks_like_title(title) and not self.is_prose(i):
            return title, 1
        return None


def _numbered(doc: _Lines, i: int) -> _Heading | None:
    line = doc.lines[i]
    if m := _NUMBERED.match(line):
        number, dot, title = m.groups()
        if (found := doc.title_at(i, title)) is None:
            return None
        title, span = found
    elif (m := _LONE_NUMBER.match(line)) and _looks_like_title(nxt := doc.get(i + 1)) and len(nxt) < 80:
        number, dot, title, span = (
            m.group(1),
            "",
            nxt,
            2,
        )  # "2" alone, the title on the next line
    else:
        return None
    key = _key(number)
    if key[0] == 0 or key[0] > 30 or any(k > 20 for k in key[1:]):
        return None
    weight = 1.5 if _KEYWORD_TITLE.search(title) else 1.0
    return _Heading(i, span, f"{number}{dot} {title}", number, key, weight)


def _roman_heading(doc: _Lines, i: int) -> _Heading | None:
    m = _ROMAN.match(doc.lines[i])
    if not m or not _looks_like_title(m.group(2)):
        return None
    number = m.group(1)
    return _Heading(i, 1, doc.lines[i], number, (_roman(number),))


def _appendix_heading(doc: _Lines, i: int) -> _Heading | None:
    line = doc.lines[i]
    explicit = line[:8].lower() == "appendix"
    m = _APPENDIX_WORD.match(line) if explicit else None
    m = m or _LETTER.match(line)
    if not m:
        return None
    number, title, span = m.group(1), m.group(2) or "", 1
    if _PERSON_INITIALS.search(title):
        return None
    if not explicit or title:
        if (found := doc.title_at(i, title)) is None or len(line) >= 0.9 * doc.width:
            return None
        title, span = found
    printed = line if span == 1 else f"{line} {doc.get(i + 1)}"
    return _Heading(i, span, printed, number, _key(number), 2.0 if explicit else 1.0, appendix=True)


def _abstract_heading(doc: _Lines, i: int) -> _Heading | None:
    """ "Abstract" alone, or run in: "Abstract—We study ..." (the rest is the first text)."""
    m = _ABSTRACT.match(doc.lines[i])
    if not m:
        return None
    rest = (m.group(1) or "").strip()
    if rest and not rest[0].isupper():
        return None
    title = "Abstract" if rest else doc.lines[i].rstrip(":.")
    return _Heading(i, 1, title, None, None, rest=rest)


def _known_heading(doc: _Lines, i: int, body: bool) -> _Heading | None:
    """A known unnumbered heading alone on its line; body headings only when `body`."""
    line = doc.lines[i]
    if _KNOWN_ALWAYS.match(line) or (body and _KNOWN_BODY.match(line)):
        return _Heading(i, 1, line.rstrip(":."), None, None)
    return None


# --- choosing the headings that form a sequence ----------------------------------------


def _follows(prev: tuple[int, ...], cur: tuple[int, ...]) -> bool:
    """`cur` can come right after `prev`: next sibling, first child or next ancestor, one miss allowed."""
    for level in range(min(len(cur), len(prev) + 1)):
        if level < len(prev) and cur[level] == prev[level]:
            continue
        base = prev[level] if level < len(prev) else 0
        if cur[:level] == prev[:level] and base < cur[level] <= base + 2:
            return all(k <= 2 for k in cur[level + 1 :])
        return False
    return False


def _starts(key: tuple[int, ...]) -> bool:
    return key[0] <= 3 and all(k <= 2 for k in key[1:])


def _best_chain(cands: list[_Heading]) -> list[_Heading]:
    """The heaviest chain of candidates whose numbers follow each other.

    Ties go to later candidates: an appendix "A ..." after the references beats a line of a
    reference that happens to start with "A ...".
    """
    best: list[float] = []
    prev: list[int | None] = []
    for j, cand in enumerate(cands):
        score, link = (cand.weight, None) if _starts(cand.key) else (float("-inf"), None)
        for i in range(j):
            if best[i] + cand.weight >= score and _follows(cands[i].key, cand.key):
                score, link = best[i] + cand.weight, i
        best.append(score)
        prev.append(link)
    if not cands or max(best) == float("-inf"):
        return []
    j: int | None = max(range(len(cands)), key=lambda k: (best[k], k))
    chain = []
    while j is not None:
        chain.append(cands[j])
        j = prev[j]
    return chain[::-1]


_DIGITS = frozenset("0123456789")
_UPPER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _collect(
    doc: _Lines,
    finder,
    starts: frozenset[str],
    skip: set[int],
    lo: int = 0,
    max_len: int = 110,
) -> list[_Heading]:
    """Candidates found by `finder` on lines that begin with one of `starts` and are
    at most `max_len` long (cheap filters: most lines are prose)."""
    indexes = sorted(i for c in starts for i in doc.by_first.get(c, ()) if i >= lo)
    out = []
    for i in indexes:
        if len(doc.lines[i]) > max_len or i in skip:
            continue
        if (cand := finder(doc, i)) is not None:
            out.append(cand)
    return out


def _numbered_chain(doc: _Lines) -> list[_Heading]:
    arabic = _best_chain(_collect(doc, _numbered, _DIGITS, doc.toc))
    roman = _best_chain(_collect(doc, _roman_heading, frozenset("IVX"), doc.toc))
    chain = max(arabic, roman, key=len)
    if len(chain) < 3 or len({h.key[0] for h in chain}) < 2:
        return []
    return chain


def _back_matter_index(heads: list[_Heading]) -> int | None:
    """Where appendix headings may begin: the first References, Bibliography or Appendix heading."""
    for h in heads:
        if title_kind(h.title) in ("references", "appendix"):
            return h.line
    return None


def _find_headings(lines: list[str], width: int) -> list[_Heading]:
    """Headings of the prepared lines, in order."""
    doc = _Lines(lines, width)
    chain = _numbered_chain(doc)
    taken = {h.line + k for h in chain for k in range(h.span)} | doc.toc
    body = not chain  # unnumbered body headings count in unnumbered papers only
    known = _collect(doc, partial(_known_heading, body=body), _UPPER, taken, max_len=60)
    abstract = _collect(doc, _abstract_heading, frozenset("Aa"), taken)
    plain = _dedupe(sorted(abstract + known, key=lambda h: h.line))
    heads = sorted(chain + plain, key=lambda h: h.line)
    refs = _back_matter_index(heads)
    if refs is not None:
        taken |= {h.line for h in plain}
        appendix = _best_chain(_collect(doc, _appendix_heading, _UPPER, taken, lo=refs + 1))
        heads = sorted(heads + appendix, key=lambda h: h.line)
    return _dedupe(heads)


def _dedupe(heads: list[_Heading]) -> list[_Heading]:
    out: list[_Heading] = []
    for h in heads:
        if out and h.line < out[-1].line + out[-1].span:
            continue
        out.append(h)
    return out


# --- kinds -----------------------------------------------------------------------------

_KIND_WORDS = [
    ("abstract", r"abstract"),
    ("introduction", r"introduction|motivation"),
    ("related", r"related work|prior work|literature|related research"),
    ("background", r"background|preliminar"),
    ("limitations", r"limitation"),
    ("conclusion", r"conclu|summary|future work|outlook"),
    ("discussion", r"discussion|broader impact|ethic|societal|impact statement"),
    (
        "acknowledgments",
        r"acknowledg|contribution statement|author contributions|contributors|funding",
    ),
    ("references", r"references|bibliography"),
    ("appendix", r"appendix|appendices|supplementary"),
    (
        "experiments",
        (
            r"experiment|evaluat|setup|setting|dataset|data\b|benchmark|baseline|implementation"
            r"|hyper-?parameter"
        ),
    ),
    (
        "results",
        r"result|analys|ablation|comparison|performance|finding|case stud|error",
    ),
    (
        "method",
        (
            r"method|approach|model|architecture|training|algorithm|framework|proposed|design"
            r"|formulation|objective|pipeline|system|attention|learning|encoder|decoder|reward"
            r"|pre-?train|fine-?tun|agent"
        ),
    ),
]
_KIND_RE = re.compile(
    r"\b(?:" + "|".join(f"(?P<{kind}>{words})" for kind, words in _KIND_WORDS) + ")",
    re.IGNORECASE,
)


def title_kind(title: str) -> str | None:
    """The section kind the title's earliest keyword names, or None when it names none.

    "5 Conclusion, Limitations, and Future Work" → "conclusion"; "3.2 Attention" → "method";
    "4 Why Self-Attention" → "method"; "3.1 Task definition" → None.
    """
    m = _KIND_RE.search(title)  # the leftmost keyword; at one position, the first kind listed
    return m.lastgroup if m else None


_WRAPPERS = (
    "abstract",
    "introduction",
    "related",
    "background",
    "conclusion",
    "appendix",
)


def _classify(heads: list[_Heading]) -> list[str]:
    kinds: list[str] = []
    top_kind: dict[str, str] = {}
    after_refs = False
    for h in heads:
        kind = _kind(h, top_kind, after_refs)
        if h.number and "." not in h.number:
            top_kind[h.number] = kind
        after_refs = after_refs or kind == "references"
        kinds.append(kind)
    return kinds


def _kind(h: _Heading, top_kind: dict[str, str], after_refs: bool) -> str:
    own = title_kind(h.title)
    parent = top_kind.get(h.number.split(".")[0]) if h.number and "." in h.number else None
    if h.appendix or (after_refs and own == "appendix"):
        return "appendix"
    if parent in _WRAPPERS or (parent in ("experiments", "results", "discussion") and own == "method"):
        return parent  # "1.2 Summary of results" stays in the introduction
    return own or parent or ("appendix" if after_refs else "other")


# --- paragraphs ------------------------------------------------------------------------

_CLOSERS = "\"'”’)]0123456789"  # may follow a sentence's final stop: quotes, brackets, a footnote mark
_ITEM_START = re.compile(r"^(?:\[\d{1,3}\]|[•▪◦●∙]|\d{1,2}\.\s+[A-Z]|\(\d{1,2}\)\s)")
_ITEM_FIRST = frozenset("[•▪◦●∙(0123456789")


def _ends_sentence(line: str) -> bool:
    return line.rstrip(_CLOSERS)[-1:] in (".", "!", "?", ":")


def join_paragraphs(lines: list[str], width: int | None = None) -> str:
    """Lines into paragraphs: joined with spaces, split where a short line ends a sentence.

    A line is short when it is under 80% of the column width or clearly shorter than the
    line before it; a reference "[12]" or a bullet always starts a new paragraph.
    """
    short = 0.8 * (width or column_width(lines))
    paragraphs: list[str] = []
    current: list[str] = []
    previous = 0
    for line in lines:
        if not line:
            _flush(paragraphs, current)
            continue
        first = line[0]
        if not current:
            current.append(line)
        elif first in _ITEM_FIRST and _ITEM_START.match(line):
            _flush(paragraphs, current)
            current.append(line)
        elif first.islower() and current[-1][-1] == "-" and current[-1][-2:-1].isalpha():
            current[-1] += line  # "state-of-" + "the-art"
        else:
            current.append(line)
        size = len(line)
        is_short = size < short or (size < 0.85 * previous and len(current) > 1)
        if is_short and _ends_sentence(line):
            _flush(paragraphs, current)
        previous = size
    _flush(paragraphs, current)
    return "\n\n".join(paragraphs)


def _flush(paragraphs: list[str], current: list[str]) -> None:
    if current:
        paragraphs.append(" ".join(current))
        current.clear()


# --- the whole cut ---------------------------------------------------------------------


def split_sections(pages: list[str]) -> list[Section]:
    """Cut the pages of a paper (as extracted) into sections, in reading order."""
    lines = prepare_lines(pages)
    width = column_width(lines)
    heads = _find_headings(lines, width)
    sections = []
    first = heads[0].line if heads else len(lines)
    if any(lines[:first]):
        sections.append(Section("", "front", join_paragraphs(lines[:first], width)))
    bounds = [h.line for h in heads[1:]] + [len(lines)]
    for h, kind, end in zip(heads, _classify(heads), bounds):
        body = ([h.rest] if h.rest else []) + lines[h.line + h.span : end]
        sections.append(Section(h.title, kind, join_paragraphs(body, width), h.number))
    return sections


def find_references(sections: list[Section]) -> Section | None:
    """The references section, if one was found."""
    return next((s for s in sections if s.kind == "references"), None)
