"""Where each number of a review comes from, shown on its page: marks in the text, notes below.

`summarizer.grounding` records, for each number of `Review.body`, where the paper states it
or why it could not be attributed, with offsets into the body's Markdown. The page shows:

- after each number a superscript reference, a link to its numbered note in «Источники
  чисел» at the end of the review: the paper's sentence or table row, «раздел …, стр. N»,
  and a link back to the number;
- suspect numbers (absent, mismatch, wrong arithmetic) highlighted in place (`<mark>`), with
  the Russian reason in their note;
- for the page header: «Проверено по тексту статьи: N из M чисел», the suspects named.

The marks travel through the ordinary renderer as placeholder characters from Unicode's
private-use areas, which Markdown, MathML conversion and the sanitizer all leave alone:

    the body with placeholders at the recorded offsets → render_markdown (markdown-it → MathML
    → nh3) → each placeholder replaced by our own markup in the sanitized HTML

The quotes come from a PDF and the number texts from the review: everything this module puts
into HTML is escaped (or rendered by the sanitizing renderer). No JavaScript: a reference is
a link to its note, and a CSS-only tooltip shows the quote from the link's `data-tip`.

So that a mark never breaks the page:
- nothing goes inside a formula: an anchor inside one moves after it, and a highlight that
  would touch one is left out (the number keeps its reference, styled as suspect);
- a reference inside a link's text moves after the link (a link inside a link is not HTML);
  one inside an attribute (a link's title or URL) is dropped, and so is a highlight whose two
  ends are not in the same run of text;
- a note whose reference did not land gets no link back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from html import escape

from digest.markdown import formula_spans, render_inline, render_markdown
from summarizer.grounding import DERIVED, FOUND, MISMATCH, WRONG_ARITHMETIC, Grounding, NumberCheck, Source

# Reference k is chr(REF_BASE + k), one character in Supplementary Private Use Area-A; a
# highlight is MARK_OPEN … MARK_CLOSE (markdown.py's formula placeholders are U+E000, U+E001).
REF_BASE, REF_LIMIT = 0xF0000, 0x8000
MARK_OPEN, MARK_CLOSE = "\ue002", "\ue003"
_PLACEHOLDER = re.compile("[\ue002\ue003\U000f0000-\U000f7fff]")
# The same characters percent-encoded, as markdown-it writes them into a link's URL.
_ENCODED = re.compile(r"%EE%80%8[23]|%F3%B[0-7]%[89AB][0-9A-F]%[89AB][0-9A-F]", re.IGNORECASE)
# nh3 escapes < and > inside attribute values and text, so in its output this finds every tag.
_TAG_OR_PLACEHOLDER = re.compile("<[^>]*>|" + _PLACEHOLDER.pattern)
_HOLDING_TAG = re.compile(r"<(/?)(a|math)\b")  # references inside these go after them
_ARITHMETIC = re.compile(r"[\d\s.,+\-−–*/×÷=()%≈]+")
TIP_CHARS = 300


@dataclass(frozen=True)
class ReviewView:
    """A review as the site shows it: the check's summary for the page header, and the body."""

    summary: str  # HTML; empty for reviews stored before the check and for offline drafts
    body: str  # HTML: the review, with marks and «Источники чисел» when there is a record

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> ReviewView:
        return cls(**json.loads(text))


def review_view(markdown: str, grounding: Grounding | None) -> ReviewView:
    """The review's HTML with a reference after each checked number and a note for each."""
    if grounding is None:
        return ReviewView("", render_markdown(markdown))
    checks = sorted(grounding.numbers, key=lambda check: (check.anchor, check.start))
    html, landed = fill_marks(render_markdown(place_marks(markdown, checks)), checks)
    return ReviewView(summary_html(grounding, checks), html + notes_html(checks, landed))


# --- placing the marks -----------------------------------------------------------------------


def place_marks(markdown: str, checks: Sequence[NumberCheck]) -> str:
    """The Markdown with placeholders: note k's reference at its anchor, suspects highlighted."""
    text = _PLACEHOLDER.sub("\ufffd", markdown)  # the review's own such characters; same length
    formulas = formula_spans(text)
    inserts: list[tuple[int, int, str]] = []  # (offset, order at that offset, placeholder)
    for number, check in enumerate(checks[: REF_LIMIT - 1], 1):
        if not 0 <= check.anchor <= len(text):
            continue  # a record that does not fit this body: its note stays, without a mark
        inserts.append((_outside_formulas(check.anchor, formulas), 1, chr(REF_BASE + number)))
        if check.suspect and 0 <= check.start < check.end <= len(text) and not _touches(formulas, check):
            inserts += [(check.start, 2, MARK_OPEN), (check.end, 0, MARK_CLOSE)]
    # A highlight closes before the references at its end; one that starts there opens after them.
    pieces, last = [], 0
    for offset, _order, mark in sorted(inserts):
        pieces += [text[last:offset], mark]
        last = offset
    pieces.append(text[last:])
    return "".join(pieces)


def _outside_formulas(offset: int, formulas: list[tuple[int, int]]) -> int:
    for start, end in formulas:
        if start < offset < end:
            return end
    return offset


def _touches(formulas: list[tuple[int, int]], check: NumberCheck) -> bool:
    return any(start < check.end and check.start < end for start, end in formulas)


def fill_marks(html: str, checks: Sequence[NumberCheck]) -> tuple[str, set[int]]:
    """Sanitized HTML with placeholders → our markup; also the numbers of the references that landed."""
    out: list[str] = []
    landed: set[int] = set()
    held: list[str] = []  # references met inside a link or a formula, written after it
    depth = 0  # <a> and <math> elements open around the current text
    opened: int | None = None  # where in `out` a highlight began, while no tag has come since
    last = 0
    for match in _TAG_OR_PLACEHOLDER.finditer(html):
        out.append(html[last : match.start()])
        last, piece = match.end(), match.group(0)
        if piece.startswith("<"):
            out.append(_ENCODED.sub("", _PLACEHOLDER.sub("", piece)))
            opened = None
            tag = _HOLDING_TAG.match(piece)
            if tag:
                depth = max(0, depth + (-1 if tag.group(1) else 1))
                if depth == 0:
                    out += held
                    held.clear()
        elif piece == MARK_OPEN:
            opened = len(out)
            out.append("")
        elif piece == MARK_CLOSE:
            if opened is not None:
                out[opened] = '<mark class="suspect">'
                out.append("</mark>")
            opened = None
        else:
            number = ord(piece) - REF_BASE
            if 1 <= number <= len(checks) and number not in landed:
                landed.add(number)
                (held if depth else out).append(reference_html(number, checks[number - 1]))
    out += [html[last:], *held]
    return "".join(out), landed


def reference_html(number: int, check: NumberCheck) -> str:
    """The superscript link after a number; its `data-tip` feeds the CSS tooltip."""
    kind, label = ("ref ref-suspect", "не подтверждено") if check.suspect else ("ref", "источник")
    return (
        f'<sup class="{kind}" data-pagefind-ignore><a href="#src-{number}" id="ref-{number}" '
        f'aria-label="{label}, сноска {number}" data-tip="{escape(_tip(check))}">{number}</a></sup>'
    )


def _tip(check: NumberCheck) -> str:
    if check.suspect:
        return f"Не подтверждено: {check.reason_ru()}"
    if check.status == DERIVED and check.source is None:
        return f"Вычислено из чисел статьи: {_joined(check.operands)}"
    if check.source is None:
        return "Источник не указан"
    quote = check.source.quote if len(check.source.quote) <= TIP_CHARS else check.source.quote[:TIP_CHARS] + "…"
    where = _where(check.source)
    return f"«{quote}»" + (f" — {where}" if where else "")


# --- the notes and the summary ---------------------------------------------------------------


def notes_html(checks: Sequence[NumberCheck], landed: set[int]) -> str:
    """«Источники чисел»: one numbered note per number, in reading order."""
    items = "".join(_note(number, check, number in landed) for number, check in enumerate(checks, 1))
    return (
        '\n<section class="sources" id="sources" aria-labelledby="sources-title" data-pagefind-ignore>\n'
        '<h2 id="sources-title">Источники чисел</h2>\n'
        '<p class="sources-intro">Для каждого числа рецензии — где его называет статья или почему его '
        "не удалось подтвердить.</p>\n"
        f'<ol class="sources-list">\n{items}</ol>\n</section>\n'
    )


def _note(number: int, check: NumberCheck, linked: bool) -> str:
    parts = [
        f'<p class="source-claim"><strong class="source-number">{_number_html(check)}</strong> — {_verdict(check)}</p>'
    ]
    where = ""
    if check.source is not None:
        parts.append(f'<blockquote class="source-quote" lang="en"><p>{escape(check.source.quote)}</p></blockquote>')
        where = _where_html(check.source)
    back = f'<a href="#ref-{number}">↩ к числу в тексте</a>' if linked else ""
    if where or back:
        parts.append(f'<p class="source-where">{" · ".join(part for part in (where, back) if part)}</p>')
    kind = ' class="source-suspect"' if check.suspect else ""
    return f'<li id="src-{number}"{kind}>{"".join(parts)}</li>\n'


def _verdict(check: NumberCheck) -> str:
    """What the check found, in Russian: how the note's first line goes on after the number."""
    has_source = check.source is not None
    if check.status == FOUND:
        return "так в статье:" if has_source else "есть в статье."
    if check.status == DERIVED:
        return f"вычислено из чисел статьи: {_operands_html(check)}" + (";" if has_source else ".")
    if not check.suspect:
        return "не проверено."
    text = f"не подтверждено: {escape(check.reason_ru())}"
    if check.status == WRONG_ARITHMETIC and check.operands:
        text += f" (посчитано из чисел статьи: {_operands_html(check)})"
    if check.status == MISMATCH and has_source:
        return text + ". Где это значение стоит в статье:"
    return text + "."


def _operands_html(check: NumberCheck) -> str:
    text = escape(_joined(check.operands)) or "—"
    # `detail` is written for the retry prompt and the logs (English); a bare calculation
    # ("53.73 - 48.79 = 4.94") reads the same in any language, so only that is shown.
    if check.detail and _ARITHMETIC.fullmatch(check.detail):
        text += f", <code>{escape(check.detail)}</code>"
    return text


def _joined(values: Sequence[str]) -> str:
    values = [str(value) for value in values]
    return ", ".join(values[:-1]) + " и " + values[-1] if len(values) > 1 else "".join(values)


def _where_html(source: Source) -> str:
    section = f'раздел <span lang="en">{escape(source.section)}</span>' if source.section else ""
    return ", ".join(part for part in (section, _page(source)) if part)


def _where(source: Source) -> str:
    """«раздел 4.4 Results, стр. 6»; either half alone when the other is not known."""
    return ", ".join(part for part in (source.section and f"раздел {source.section}", _page(source)) if part)


def _page(source: Source) -> str:
    return "" if source.page is None else f"стр. {escape(str(source.page))}"


def _number_html(check: NumberCheck) -> str:
    # The review's own writing of the number, formulas included ("$3{,}3 \\cdot 10^{18}$"), sanitized.
    return render_inline(check.text) if check.text else "число"


def summary_html(grounding: Grounding, checks: Sequence[NumberCheck]) -> str:
    """The header's lines: how many numbers the paper confirms, and which it does not."""
    if not grounding.checked:
        return '<p class="check-line">В рецензии нет чисел, которые нужно сверять со статьёй.</p>'
    lines = [f'<p class="check-line">{escape(grounding.header_line())} · <a href="#sources">источники чисел</a></p>']
    first: dict[str, int] = {}
    for number, check in enumerate(checks, 1):
        if check.suspect:
            first.setdefault(check.text, number)
    if first:
        named = ", ".join(
            f'<a href="#src-{number}">{_number_html(checks[number - 1])}</a>' for number in first.values()
        )
        lines.append(
            f'<p class="check-suspects">Не подтверждены текстом статьи: {named}. '
            "Остальные числа сверены со статьёй; эти проверьте по ней сами.</p>"
        )
    return "\n".join(lines)
