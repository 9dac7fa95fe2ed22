"""Review blocks → the HTML of one rich message (Bot API 10.2 ``sendRichMessage``).

We send the ``html`` form of ``InputRichMessage`` (aiogram's types name the tags: ``<p>``,
``<h1>``–``<h6>``, ``<ul>``/``<ol>``/``<li>``, ``<blockquote>``, ``<pre>``,
``<tg-math-block>``; inline ``<tg-math>``): it is one string, so the outbox can store it and
the dry-run publisher can print it as is. The title is ``<h1>``, section names ``<h2>``,
formulas are LaTeX in ``<tg-math>``/``<tg-math-block>`` (Telegram renders them).

Telegram's limits: 32,768 characters of text (formula sources included) and 500 blocks
(list items and nested blocks included). We count characters in UTF-16 code units, which
is never fewer than Telegram's count. A review past either limit keeps its leading blocks,
then a notice that it was shortened, then the link to the full review on the site.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from bot.classic import close_tag, open_tag, site_link, tagged
from bot.review_doc import Block, Line, Span
from bot.split import is_blank, utf16_len

RICH_CHAR_LIMIT = 32768
RICH_BLOCK_LIMIT = 500
SHORTENED = "Обзор сокращён, чтобы уместиться в одно сообщение."
EMPTY_REVIEW = "Обзор пуст."


@dataclass
class Chunk:
    """HTML of one top-level element and what it costs against the limits."""

    parts: list[str] = field(default_factory=list)
    chars: int = 0
    blocks: int = 0

    def tag(self, text: str, counted: bool = False) -> None:
        self.parts.append(text)
        self.blocks += counted

    def text(self, text: str) -> None:
        self.parts.append(html.escape(text, quote=False))
        self.chars += utf16_len(text)

    @property
    def html(self) -> str:
        return "".join(self.parts)


def rich_html(blocks: list[Block], site_url: str | None) -> str:
    chunks = [chunk for group in _groups(blocks) if (chunk := _chunk(group)).parts]
    tail = [_paragraph([site_link(site_url)])] if site_url else []
    if not chunks:
        chunks = [_paragraph([Span(EMPTY_REVIEW)])]
    kept = _fit(chunks, tail)
    if len(kept) < len(chunks):
        notice = _paragraph([Span(SHORTENED, (("i", ""),))])
        kept = [*_fit(chunks, [notice, *tail]), notice]
    return "".join(chunk.html for chunk in [*kept, *tail])


def _fit(chunks: list[Chunk], tail: list[Chunk]) -> list[Chunk]:
    chars = sum(c.chars for c in tail)
    count = sum(c.blocks for c in tail)
    kept: list[Chunk] = []
    for chunk in chunks:
        chars += chunk.chars
        count += chunk.blocks
        if chars > RICH_CHAR_LIMIT or count > RICH_BLOCK_LIMIT:
            break
        kept.append(chunk)
    return kept


def _groups(blocks: list[Block]) -> list[list[Block]]:
    """Blocks rendered as one element: a whole list, a whole quote, else one block."""
    groups: list[list[Block]] = []
    for block in blocks:
        last = groups[-1][-1] if groups else None
        same_list = (
            last is not None
            and last.kind == block.kind == "item"
            and not (block.level == 0 and block.label and block.group != last.group)
        )
        same_quote = last is not None and last.kind == block.kind == "quote" and last.group == block.group
        if same_list or same_quote:
            groups[-1].append(block)
        else:
            groups.append([block])
    return groups


def _chunk(group: list[Block]) -> Chunk:
    first = group[0]
    if first.kind == "item":
        return _list(group)
    if first.kind == "quote":
        chunk = Chunk()
        chunk.tag("<blockquote>", counted=True)
        for block in group:
            for line in block.lines:
                _text_block(chunk, "p", line)
        chunk.tag("</blockquote>")
        return chunk
    return _single(first)


def _single(block: Block) -> Chunk:
    chunk = Chunk()
    if block.kind == "math":
        chunk.tag("<tg-math-block>", counted=True)
        chunk.text(block.lines[0][0].text)
        chunk.tag("</tg-math-block>")
    elif block.kind == "code":
        language = f' class="language-{block.lang}"' if block.lang else ""
        chunk.tag(f"<pre><code{language}>", counted=True)
        chunk.text(block.lines[0][0].text)
        chunk.tag("</code></pre>")
    elif block.kind == "rule":
        chunk.tag("<hr/>", counted=True)
    elif block.kind in ("title", "heading"):
        level = 1 if block.kind == "title" else min(max(block.level, 2), 3)
        _text_block(
            chunk, f"h{level}", [s for n, line in enumerate(block.lines) for s in ([Span(" ")] if n else []) + line]
        )
    else:
        for line in block.lines:
            _text_block(chunk, "p", line)
    return chunk


def _list(items: list[Block]) -> Chunk:
    """Items with depths → nested ``<ul>``/``<ol>``; a depth never jumps by more than one."""
    chunk = Chunk()
    stack: list[str] = []
    for item in items:
        if not item.label and stack:  # a further paragraph of the open item
            for line in item.lines:
                _text_block(chunk, "p", line)
            continue
        level = min(item.level, len(stack))
        while len(stack) > level + 1:
            chunk.tag(f"</li></{stack.pop()}>")
        if len(stack) == level + 1:
            chunk.tag("</li>")
        else:
            stack.append("ol" if item.ordered else "ul")
            chunk.tag(f"<{stack[-1]}>", counted=True)
        chunk.tag("<li>", counted=True)
        for number, line in enumerate(item.lines):
            _text_block(chunk, "p", line) if number else _inline(chunk, line, counted=True)
    while stack:
        chunk.tag(f"</li></{stack.pop()}>")
    return chunk


def _text_block(chunk: Chunk, tag: str, line: Line) -> None:
    if is_blank("".join(span.text for span in line)):
        return
    chunk.tag(f"<{tag}>", counted=True)
    _inline(chunk, line)
    chunk.tag(f"</{tag}>")


def _paragraph(line: Line) -> Chunk:
    chunk = Chunk()
    _text_block(chunk, "p", line)
    return chunk


def _inline(chunk: Chunk, line: Line, counted: bool = False) -> None:
    """Spans with their marks as tags; a formula as ``<tg-math>``. ``counted``: the text
    sits directly in a ``<li>``, where Telegram makes it a paragraph block of its own."""
    chunk.blocks += counted and not is_blank("".join(span.text for span in line))
    for kind, value in tagged(line):
        if kind == "open":
            chunk.tag(open_tag(value))
        elif kind == "close":
            chunk.tag(close_tag(value))
        elif value.math:
            chunk.tag("<tg-math>")
            chunk.text(value.text)
            chunk.tag("</tg-math>")
        else:
            chunk.text(value.text)
