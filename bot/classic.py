"""Review blocks → classic Telegram messages: ``parse_mode=HTML`` parts, or plain text.

Classic messages have no headings and no math: section names become bold lines glued to
the text under them, lists become "• " lines, formulas become Unicode text
(``bot/latex_text.py``). Every character of the review goes through ``html.escape``; the
only tags are the ones written here (b, i, s, code, pre, a, blockquote), and the marks are
normalised to what Telegram lets nest (no ``code`` inside a link, no mark twice).
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from bot.latex_text import latex_to_text
from bot.review_doc import Block, Mark, Span, is_web_url, line_text
from bot.split import Unit, is_blank, pack

SITE_LINK_TEXT = "Полный обзор на сайте"
EMPTY_REVIEW = "Обзор пуст."


# --- blocks → units ---------------------------------------------------------------------------


def review_units(blocks: list[Block], site_url: str | None) -> list[Unit]:
    units: list[Unit] = []
    previous: Block | None = None
    for block in blocks:
        spans = _block_spans(block)
        if is_blank("".join(s.text for s in spans)):
            continue
        if previous is not None and _glued(previous, block):
            units[-1].spans += [Span("\n"), *spans]
        else:
            units.append(Unit(spans, "\n" if _same_list(previous, block) else "\n\n"))
        previous = block
    if not units:
        units.append(Unit([Span(EMPTY_REVIEW)]))
    if site_url:
        units.append(Unit([site_link(site_url)]))
    return units


def site_link(site_url: str) -> Span:
    """The link to the review's page; a URL Telegram would not take as a link is shown."""
    if is_web_url(site_url):
        return Span(SITE_LINK_TEXT, (("a", site_url),))
    return Span(f"{SITE_LINK_TEXT}: {site_url}")


def _glued(previous: Block, block: Block) -> bool:
    """Title and header, a section name and its first text, a quote's lines stay together."""
    if previous.kind in ("title", "heading"):
        return True
    return previous.kind == block.kind == "quote" and previous.group == block.group


def _same_list(previous: Block | None, block: Block) -> bool:
    if previous is None or previous.kind != "item" or block.kind != "item":
        return False
    return not (block.level == 0 and block.label and block.group != previous.group)


def _block_spans(block: Block) -> list[Span]:
    kind = block.kind
    if kind == "rule":
        return [Span("———")]
    if kind == "code":
        return [Span(line_text(line), (("pre", block.lang),)) for line in block.lines]
    outer: tuple[Mark, ...] = {"title": (("b", ""),), "heading": (("b", ""),), "quote": (("blockquote", ""),)}.get(
        kind, ()
    )
    spans: list[Span] = []
    if kind == "item":
        indent = "    " * block.level
        label = "◦" if block.label == "•" and block.level else block.label
        spans.append(Span(f"{indent}{label} " if label else f"{indent}  "))
    for number, line in enumerate(block.lines):
        if number:
            spans.append(Span("\n", outer))
        spans.extend(replace(_as_text(span), marks=outer + span.marks) for span in line)
    return spans


def _as_text(span: Span) -> Span:
    return replace(span, text=latex_to_text(span.text), math=False) if span.math else span


# --- units → messages -------------------------------------------------------------------------


def html_messages(units: list[Unit], limit: int) -> list[str]:
    return ["".join(unit.sep + render_html(unit.spans) for unit in message) for message in pack(units, limit)]


def plain_messages(units: list[Unit], limit: int) -> list[str]:
    units = [replace(unit, spans=_plain_links(unit.spans)) for unit in units]
    return ["".join(unit.sep + unit.text for unit in message) for message in pack(units, limit)]


def render_html(spans: list[Span]) -> str:
    """Spans as Telegram HTML: tags opened and closed around runs, text escaped."""
    return "".join(
        open_tag(value)
        if kind == "open"
        else close_tag(value)
        if kind == "close"
        else html.escape(value.text, quote=False)
        for kind, value in tagged(spans)
    )


def tagged(spans: list[Span]) -> Iterator[tuple[str, Any]]:
    """("open", mark), ("span", span), ("close", mark) events with marks well nested:
    only the marks that differ from the previous span's are closed and reopened."""
    open_marks: tuple[Mark, ...] = ()
    for span in spans:
        marks = normalize_marks(span.marks)
        common = 0
        while common < min(len(open_marks), len(marks)) and open_marks[common] == marks[common]:
            common += 1
        yield from (("close", mark) for mark in reversed(open_marks[common:]))
        yield from (("open", mark) for mark in marks[common:])
        open_marks = marks
        yield "span", span
    yield from (("close", mark) for mark in reversed(open_marks))


def normalize_marks(marks: tuple[Mark, ...]) -> tuple[Mark, ...]:
    """Drop links without a web URL, repeated marks, and code inside a link."""
    kept: list[Mark] = []
    for mark in marks:
        if mark in kept or mark == ("a", ""):
            continue
        if mark[0] == "code" and any(m[0] == "a" for m in kept):
            continue
        kept.append(mark)
    return tuple(kept)


def open_tag(mark: Mark) -> str:
    tag, value = mark
    if tag == "a":
        return f'<a href="{html.escape(value, quote=True)}">'
    if tag == "pre":
        return f'<pre><code class="language-{value}">' if value else "<pre>"
    return f"<{tag}>"


def close_tag(mark: Mark) -> str:
    tag, value = mark
    if tag == "pre":
        return "</code></pre>" if value else "</pre>"
    return f"</{tag}>"


def _plain_links(spans: list[Span]) -> list[Span]:
    """With no parse mode a link shows its URL: the shown text is swapped or followed by it."""
    out: list[Span] = []
    for index, span in enumerate(spans):
        url = next((value for tag, value in span.marks if tag == "a" and value), "")
        out.append(span)
        ends_link = index + 1 == len(spans) or url not in [v for _, v in spans[index + 1].marks]
        if url and ends_link:
            shown = "".join(s.text for s in out[_run_start(out, url) :])
            if url.split("://", 1)[-1].startswith(shown.removeprefix("www.")):
                del out[_run_start(out, url) :]
                out.append(Span(url))
            elif shown != url:
                out.append(Span(f" ({url})"))
    return out


def _run_start(spans: list[Span], url: str) -> int:
    start = len(spans)
    while start > 0 and ("a", url) in spans[start - 1].marks:
        start -= 1
    return start
