"""Review Markdown → a small document model that every Telegram renderer shares.

A document is a list of ``Block``s (title, header, headings, paragraphs, list items, quotes,
formulas, code); a block holds lines of ``Span``s — text with the inline marks around it
(``b``, ``i``, ``s``, ``code``, ``a`` with its href) or a LaTeX formula. The classic
renderer turns spans into escaped Telegram HTML and can cut a block anywhere between
characters with every tag still balanced, because tags are written only at render time.

Parsing is markdown-it-py's ``js-default`` token stream (raw HTML off: an LLM's ``<b>``
stays text and is escaped later). Formulas are cut out before Markdown runs, with the scan
the site uses too (summarizer/review_format.py), so ``_`` and ``*`` inside ``$…$`` are not
read as emphasis.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from markdown_it import MarkdownIt
from markdown_it.token import Token

from summarizer.review_format import HEADER_LABELS, MATH_FORMS, MATH_OR_CODE, prose_pieces

Mark = tuple[str, str]  # (tag, attribute): ("b", ""), ("a", "https://…"), ("code", "")
MAX_FORMULA_CHARS = 2000  # a longer "formula" is a stray dollar sign
MAX_LIST_DEPTH = 3
DEMO_TEXT = "локальное демо"

_OPEN, _CLOSE = "\ue000", "\ue001"  # private-use: Markdown leaves them alone
_PLACEHOLDER = re.compile(f"{_OPEN}(\\d+){_CLOSE}")
# C0 controls and lone surrogates: never meant, and Telegram or the HTTP layer refuses them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_HEADER_LINK = re.compile(rf"^({'|'.join(HEADER_LABELS)}):\s*(https?://\S+)\s*$")
_MD = MarkdownIt("js-default")
_MARK_TAGS = {"strong": "b", "em": "i", "s": "s"}


@dataclass(frozen=True)
class Span:
    text: str
    marks: tuple[Mark, ...] = ()
    math: bool = False  # text is LaTeX source
    display: bool = False  # a $$…$$ formula


Line = list[Span]


@dataclass
class Block:
    kind: str  # title, header, heading, para, item, quote, math, code, rule
    lines: list[Line] = field(default_factory=list)
    level: int = 0  # heading level, or list depth from 0
    label: str = ""  # "•" or "3." for the first paragraph of a list item
    ordered: bool = False
    lang: str = ""
    group: int = 0  # blocks of one blockquote or one list share a group number


@dataclass(frozen=True)
class Formula:
    latex: str
    display: bool
    source: str  # as written, with its dollars: what code spans show


def is_web_url(url: str) -> bool:
    return url.lower().startswith(("http://", "https://")) and not re.search(r"[\s<>\"]", url)


def line_text(line: Line) -> str:
    return "".join(span.text for span in line)


def strip_spans(spans: list[Span]) -> list[Span]:
    """Trim whitespace at both ends, dropping spans that become empty."""
    spans = [span for span in spans if span.text]
    while spans and not spans[0].text.strip():
        spans = spans[1:]
    while spans and not spans[-1].text.strip():
        spans = spans[:-1]
    if spans:
        spans[0] = replace(spans[0], text=spans[0].text.lstrip())
        spans[-1] = replace(spans[-1], text=spans[-1].text.rstrip())
    return spans


# --- math -----------------------------------------------------------------------------------


def protect_math(markdown: str) -> tuple[str, list[Formula]]:
    """Replace each formula by a placeholder that Markdown leaves alone."""
    formulas: list[Formula] = []

    def replace(match: re.Match[str]) -> str:
        if match["code"] or match["escaped"]:
            return match[0]
        for name, display in MATH_FORMS:
            latex = match[name]
            if latex is not None and len(latex) <= MAX_FORMULA_CHARS and latex.strip():
                formulas.append(Formula(latex.strip(), display, match[0]))
                return f"{_OPEN}{len(formulas) - 1}{_CLOSE}"
        return match[0]

    text = "".join(
        piece if fence else MATH_OR_CODE.sub(replace, piece) for _offset, piece, fence in prose_pieces(markdown)
    )
    return text, formulas


def _restore_source(text: str, formulas: list[Formula]) -> str:
    return _PLACEHOLDER.sub(lambda m: formulas[int(m[1])].source, text)


def _text_spans(text: str, marks: tuple[Mark, ...], formulas: list[Formula]) -> list[Span]:
    spans, pos = [], 0
    for match in _PLACEHOLDER.finditer(text):
        if match.start() > pos:
            spans.append(Span(text[pos : match.start()], marks))
        formula = formulas[int(match[1])]
        spans.append(Span(formula.latex, marks, math=True, display=formula.display))
        pos = match.end()
    if pos < len(text):
        spans.append(Span(text[pos:], marks))
    return spans


# --- inline ---------------------------------------------------------------------------------


def inline_lines(children: list[Token], formulas: list[Formula], soft: str = " ") -> list[Line]:
    """An inline token's children as lines of spans (hard breaks start a new line)."""
    lines: list[Line] = [[]]
    marks: list[Mark] = []
    for token in children:
        kind = token.type
        if kind == "text" or kind == "html_inline":
            lines[-1].extend(_text_spans(token.content, tuple(marks), formulas))
        elif kind == "code_inline":
            code = _restore_source(token.content, formulas)
            lines[-1].append(Span(code, (*marks, ("code", ""))))
        elif kind == "softbreak" and soft == "\n" or kind == "hardbreak":
            lines.append([])
        elif kind == "softbreak":
            lines[-1].append(Span(" ", tuple(marks)))
        elif kind.removesuffix("_open") in _MARK_TAGS:
            marks.append((_MARK_TAGS[kind.removesuffix("_open")], ""))
        elif kind == "link_open":
            href = str(token.attrGet("href") or "")
            marks.append(("a", href if is_web_url(href) else ""))
        elif kind.endswith("_close") and marks:
            marks.pop()
        elif kind == "image":
            lines[-1].extend(_text_spans(token.content, tuple(marks), formulas))
    return lines


# --- blocks ---------------------------------------------------------------------------------


@dataclass
class _State:
    formulas: list[Formula]
    blocks: list[Block] = field(default_factory=list)
    lists: list[list] = field(default_factory=list)  # [ordered, next number, group]
    item_label: str | None = None  # set at list_item_open, used by its first paragraph
    quote_depth: int = 0
    quote_group: int = 0
    groups: int = 0
    row: list[str] = field(default_factory=list)


def parse_review(markdown: str) -> list[Block]:
    """Review Markdown → blocks; never raises on any text."""
    text, formulas = protect_math(_CONTROL.sub("", markdown))
    state = _State(formulas)
    tokens = _MD.parse(text)
    for i, token in enumerate(tokens):
        _block_token(state, token, tokens[i + 1] if i + 1 < len(tokens) else None)
    for block in state.blocks:
        if block.kind != "code":
            block.lines = [line for line in map(strip_spans, block.lines) if line]
    blocks = [b for b in state.blocks if b.kind == "rule" or any(line_text(line).strip() for line in b.lines)]
    return _with_header(blocks)


def _block_token(state: _State, token: Token, following: Token | None) -> None:
    kind = token.type
    if kind in ("bullet_list_open", "ordered_list_open"):
        state.groups += 1
        start = int(token.attrGet("start") or 1)
        state.lists.append([kind == "ordered_list_open", start, state.groups])
    elif kind in ("bullet_list_close", "ordered_list_close"):
        state.lists.pop()
    elif kind == "list_item_open":
        ordered, number, _ = state.lists[-1]
        state.item_label = f"{number}." if ordered else "•"
        state.lists[-1][1] += 1
    elif kind == "blockquote_open":
        state.quote_depth += 1
        state.groups += state.quote_depth == 1
        state.quote_group = state.groups
    elif kind == "blockquote_close":
        state.quote_depth -= 1
    elif kind == "inline" and following is not None:
        _inline_block(state, token, following)
    elif kind in ("fence", "code_block"):
        code = _restore_source(token.content.rstrip("\n"), state.formulas)
        lang = re.sub(r"[^\w+#.-]", "", token.info.split()[0]) if token.info.strip() else ""
        state.blocks.append(Block("code", [[Span(code)]], lang=lang))
    elif kind == "hr":
        state.blocks.append(Block("rule"))
    elif kind == "tr_close":
        state.blocks.append(Block("para", [[Span(" | ".join(state.row))]]))
        state.row = []


def _inline_block(state: _State, token: Token, following: Token) -> None:
    soft = "\n" if state.quote_depth else " "
    lines = inline_lines(token.children or [], state.formulas, soft)
    closing = following.type
    if closing in ("th_close", "td_close"):
        state.row.append(" ".join(line_text(line) for line in lines).strip())
        return
    if state.quote_depth:
        state.blocks.append(Block("quote", lines, group=state.quote_group))
    elif closing == "heading_close":
        level = int(following.tag[1])
        kind = "title" if level == 1 and not state.blocks else "heading"
        state.blocks.append(Block(kind, lines, level=level))
    elif state.lists:
        _list_paragraph(state, lines)
    else:
        state.blocks.extend(_split_display_math(Block("para", lines)))


def _list_paragraph(state: _State, lines: list[Line]) -> None:
    ordered, _, group = state.lists[-1]
    depth = min(len(state.lists) - 1, MAX_LIST_DEPTH - 1)
    label, state.item_label = state.item_label or "", None
    for block in _split_display_math(Block("para", lines)):
        if block.kind == "para":
            block = Block("item", block.lines, level=depth, label=label, ordered=ordered, group=group)
            label = ""
        state.blocks.append(block)


def _split_display_math(block: Block) -> list[Block]:
    """A $$…$$ inside a paragraph becomes a formula block of its own, between the text."""
    out: list[Block] = []
    lines: list[Line] = []
    for line in block.lines:
        current: Line = []
        for span in line:
            if not span.display:
                current.append(span)
                continue
            if current or lines:
                out.append(Block(block.kind, [*lines, current]))
            lines, current = [], []
            out.append(Block("math", [[span]]))
        lines.append(current)
    if any(line_text(line).strip() for line in lines):
        out.append(Block(block.kind, lines))
    return out


def _with_header(blocks: list[Block]) -> list[Block]:
    """The paragraph right after the title, with Статья/Код/Демо lines, is the header."""
    if len(blocks) < 2 or blocks[0].kind != "title" or blocks[1].kind != "para":
        return blocks
    texts = [line_text(line).strip() for line in blocks[1].lines]
    if not any(_HEADER_LINK.match(text) for text in texts):
        return blocks
    lines = [_header_line(text, line) for text, line in zip(texts, blocks[1].lines)]
    return [blocks[0], Block("header", lines), *blocks[2:]]


def _header_line(text: str, line: Line) -> Line:
    match = _HEADER_LINK.match(text)
    if match is None:
        return line
    label, url = match[1], match[2]
    shown = DEMO_TEXT if label == "Демо" else re.sub(r"^https?://(www\.)?", "", url)
    return [Span(f"{label}: "), Span(shown, (("a", url),))]
