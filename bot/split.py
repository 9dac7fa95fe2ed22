"""Pack text units into Telegram messages of at most N UTF-16 code units.

A unit is a list of spans (text plus inline marks) — a paragraph, a list item, a section
with its bold name. Units are packed greedily, joined by their separator; a unit longer
than a whole message is cut at the last sentence end that fits, else at a line break, else
at a space, else between characters (never inside a surrogate pair or before a combining
mark). Cutting spans, not HTML, is what keeps every part's tags balanced: tags are written
only when a part is rendered.

Lengths are UTF-16 code units because that is how Telegram counts the 4,096 limit: an
emoji outside the Basic Multilingual Plane (😀, 🚀) counts 2.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace

from bot.review_doc import Span, strip_spans

_SENTENCE_END = re.compile(r"[.!?…][)\]»\"'”]*\s+")
_LINE_BREAK = re.compile(r"\n+")
_SPACE = re.compile(r"\s+")
_NO_CUT_BEFORE = {"\u200d", "\ufe0e", "\ufe0f", "\u20e3"}
_INVISIBLE = re.compile(r"[\s\u200b-\u200f\u2060-\u2064\ufeff\u00ad\u034f]+")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@dataclass
class Unit:
    spans: list[Span]
    sep: str = "\n\n"  # what joins it to the unit before it in the same message

    @property
    def text(self) -> str:
        return "".join(span.text for span in self.spans)

    @property
    def size(self) -> int:
        return utf16_len(self.text)


def is_blank(text: str) -> bool:
    """Nothing Telegram would show (it trims these and answers "message text is empty")."""
    return not _INVISIBLE.sub("", text)


def pack(units: list[Unit], limit: int) -> list[list[Unit]]:
    """Group units into messages; the first unit of each message drops its separator."""
    messages: list[list[Unit]] = []
    current: list[Unit] = []
    size = 0
    for piece in (piece for unit in units for piece in split_unit(unit, limit)):
        added = utf16_len(piece.sep) + piece.size
        if current and size + added > limit:
            messages.append(current)
            current, size = [], 0
        if not current:
            piece, added = replace(piece, sep=""), piece.size
        current.append(piece)
        size += added
    if current:
        messages.append(current)
    return messages


def split_unit(unit: Unit, limit: int) -> list[Unit]:
    """A unit as pieces of at most ``limit``; later pieces start a message of their own."""
    pieces: list[Unit] = []
    spans = unit.spans  # not stripped: a nested list item starts with its indent
    while spans:
        text = "".join(span.text for span in spans)
        if utf16_len(text) <= limit:
            pieces.append(Unit(spans, unit.sep if not pieces else "\n"))
            break
        head, spans = cut_spans(spans, cut_point(text, limit))
        pieces.append(Unit(strip_spans(head), unit.sep if not pieces else "\n"))
        spans = strip_spans(spans)
    return [piece for piece in pieces if not is_blank(piece.text)]


def cut_point(text: str, limit: int) -> int:
    """Where to cut ``text`` so the head fits in ``limit`` UTF-16 units (a str index)."""
    fits = _fitting_prefix(text, limit)
    window = text[: fits + 1]  # a boundary right at the limit still counts
    for pattern, least in ((_SENTENCE_END, fits // 2), (_LINE_BREAK, fits // 3), (_SPACE, 1)):
        ends = [m.end() for m in pattern.finditer(window) if least <= m.start() < fits]
        if ends:
            return min(ends[-1], fits)
    while fits > 1 and (text[fits] in _NO_CUT_BEFORE or unicodedata.combining(text[fits])):
        fits -= 1
    return max(fits, 1)


def _fitting_prefix(text: str, limit: int) -> int:
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def cut_spans(spans: list[Span], index: int) -> tuple[list[Span], list[Span]]:
    """Split spans at a character index of their joined text."""
    head: list[Span] = []
    for position, span in enumerate(spans):
        if index <= 0:
            return head, spans[position:]
        if index < len(span.text):
            head.append(replace(span, text=span.text[:index]))
            return head, [replace(span, text=span.text[index:]), *spans[position + 1 :]]
        head.append(span)
        index -= len(span.text)
    return head, []
