"""Telegram's HTML, read the way the Bot API reads it: classic ``parse_mode=HTML`` text and
the HTML form of rich messages (``InputRichMessage.html``), for ``FakeTelegram``.

The tokenizer follows tdlib's ``parse_html`` (the code behind the Bot API): a ``<`` always
opens a tag, tag names end at a space or ``>``, attribute values are quoted strings or name
tokens, and errors name the UTF-8 *byte* offset of the tag, e.g.
``Unsupported start tag "div" at byte offset 12`` or
``Can't find end tag corresponding to start tag "b"``.

Where Telegram is lenient the fake is strict on purpose, so our formatter cannot lean on a
leniency that may go away: a ``&`` that does not start ``&lt; &gt; &amp; &quot;`` or a
numeric entity is an error (Telegram keeps it as text), and entities that Telegram silently
drops when nested against its rules (anything inside ``code``/``pre``, a link inside a
link, a blockquote inside a blockquote, ``pre`` inside inline formatting) are errors too.

Lengths are counted in UTF-16 code units, as Telegram counts message length and entity
offsets; for rich messages this is stricter than the documented "UTF-8 characters".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MESSAGE_LIMIT = 4096
RICH_CHAR_LIMIT = 32768
RICH_BLOCK_LIMIT = 500
RICH_DEPTH_LIMIT = 16

_ENTITY = re.compile(r"&(?:#(\d{1,8})|#[xX]([0-9a-fA-F]{1,8})|(lt|gt|amp|quot));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_NAME_TOKEN = re.compile(r"[A-Za-z0-9.\-]+")


class HtmlError(ValueError):
    """The text is not HTML that Telegram accepts; ``str(error)`` is Telegram's wording."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


# --- tokenizer --------------------------------------------------------------------------


@dataclass
class Tag:
    name: str
    attrs: dict[str, str]
    offset: int  # byte offset of "<", for error messages
    closing: bool = False
    self_closing: bool = False


def tokenize(text: str, *, allow_self_closing: bool = False) -> list[str | Tag]:
    """Text runs (entities decoded) and tags, in order."""
    out: list[str | Tag] = []
    buf: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "&":
            decoded, i = _entity(text, i)
            buf.append(decoded)
        elif char == "<":
            if buf:
                out.append("".join(buf))
                buf = []
            tag, i = _tag(text, i, allow_self_closing)
            out.append(tag)
        else:
            buf.append(char)
            i += 1
    if buf:
        out.append("".join(buf))
    return out


def _entity(text: str, i: int) -> tuple[str, int]:
    match = _ENTITY.match(text, i)
    if match is None:
        raise HtmlError(
            f'Unescaped "&" at byte offset {_byte_offset(text, i)}; '
            "write &amp; (Telegram keeps it, the fake refuses it)"
        )
    if match[3]:
        return _NAMED[match[3]], match.end()
    code = int(match[1]) if match[1] else int(match[2], 16)
    if code == 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        raise HtmlError(f"Invalid numeric HTML entity at byte offset {_byte_offset(text, i)}")
    return chr(code), match.end()


def _tag(text: str, start: int, allow_self_closing: bool) -> tuple[Tag, int]:
    offset = _byte_offset(text, start)
    i = start + 1
    closing = text[i : i + 1] == "/"
    i += closing
    name_start = i
    while i < len(text) and not text[i].isspace() and text[i] != ">":
        i += 1
    if i >= len(text):
        kind = "end" if closing else "start"
        raise HtmlError(f"Unclosed {kind} tag at byte offset {offset}")
    name = text[name_start:i].lower()
    if not name and not closing:
        raise HtmlError(f'Unsupported start tag "" at byte offset {offset}')
    self_closing = allow_self_closing and not closing and name.endswith("/")
    name = name.removesuffix("/") if self_closing else name
    if closing:
        while i < len(text) and text[i].isspace():
            i += 1
        if text[i : i + 1] != ">":
            raise HtmlError(f"Unclosed end tag at byte offset {offset}")
        return Tag(name, {}, offset, closing=True), i + 1
    attrs, i, slash = _attributes(text, i, name, offset, allow_self_closing)
    return Tag(name, attrs, offset, self_closing=self_closing or slash), i


def _attributes(text: str, i: int, tag: str, offset: int, allow_self_closing: bool) -> tuple[dict[str, str], int, bool]:
    attrs: dict[str, str] = {}
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            raise HtmlError(f"Unclosed start tag at byte offset {offset}")
        if text[i] == ">":
            return attrs, i + 1, False
        if allow_self_closing and text.startswith("/>", i):
            return attrs, i + 2, True
        name_start = i
        while i < len(text) and not text[i].isspace() and text[i] not in "=>":
            i += 1
        name = text[name_start:i].lower()
        if not name:
            raise HtmlError(f'Empty attribute name in the tag "{tag}" at byte offset {offset}')
        while i < len(text) and text[i].isspace():
            i += 1
        if text[i : i + 1] != "=":
            attrs[name] = ""  # a bare attribute, like <blockquote expandable>
            continue
        attrs[name], i = _attribute_value(text, i + 1, tag, offset)


def _attribute_value(text: str, i: int, tag: str, offset: int) -> tuple[str, int]:
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text):
        raise HtmlError(f"Unclosed start tag at byte offset {offset}")
    quote = text[i]
    if quote not in "'\"":
        match = _NAME_TOKEN.match(text, i)
        if match is None:
            raise HtmlError(f'Unexpected character in the tag "{tag}" at byte offset {offset}')
        return match[0], match.end()
    end = text.find(quote, i + 1)
    if end < 0:
        raise HtmlError(f"Unclosed start tag at byte offset {offset}")
    raw = text[i + 1 : end]
    value = "".join(_decode_all(raw, text, offset))
    return value, end + 1


def _decode_all(raw: str, text: str, offset: int) -> list[str]:
    parts, i = [], 0
    while i < len(raw):
        if raw[i] == "&":
            match = _ENTITY.match(raw, i)
            if match is None:
                raise HtmlError(f'Unescaped "&" in an attribute at byte offset {offset}')
            decoded, i = _entity(raw, i)
            parts.append(decoded)
        else:
            parts.append(raw[i])
            i += 1
    return parts


# --- classic parse_mode=HTML ------------------------------------------------------------

CLASSIC_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "tg-emoji": "custom_emoji",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
_LEAVES = {"code", "pre"}  # entities that can't contain others
_LINKISH = {"a", "tg-emoji"}


@dataclass
class _Open:
    tag: Tag
    start: int  # UTF-16 offset in the parsed text
    language: str = ""


def parse_html(text: str) -> tuple[str, list[dict]]:
    """Classic HTML → (text, entities) as Telegram would store them; raises HtmlError."""
    plain: list[str] = []
    length = 0
    stack: list[_Open] = []
    entities: list[dict] = []
    for token in tokenize(text):
        if isinstance(token, str):
            plain.append(token)
            length += utf16_len(token)
        elif token.closing:
            entity = _close(stack, token, length)
            if entity is not None:
                entities.append(entity)
        else:
            _check_start(token, stack)
            stack.append(_Open(token, length))
    if stack:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag.name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(plain), entities


def _check_start(tag: Tag, stack: list[_Open]) -> None:
    name, where = tag.name, f"at byte offset {tag.offset}"
    if name not in CLASSIC_TAGS:
        raise HtmlError(f'Unsupported start tag "{name}" {where}')
    if name == "span" and tag.attrs.get("class") != "tg-spoiler":
        raise HtmlError(f'Tag "span" must have class "tg-spoiler" {where}')
    if name == "tg-emoji" and not tag.attrs.get("emoji-id"):
        raise HtmlError(f'Tag "tg-emoji" must have attribute "emoji-id" {where}')
    if name == "a" and not tag.attrs.get("href"):
        raise HtmlError(f'Tag "a" must have a non-empty attribute "href" {where}')
    open_tags = [o.tag.name for o in stack]
    parent = open_tags[-1] if open_tags else ""
    if name == "code" and parent == "pre":
        return
    if _LEAVES & set(open_tags):
        raise HtmlError(f'Tag "{name}" can\'t be nested inside "{parent}" {where}')
    if name == "blockquote" and "blockquote" in open_tags:
        raise HtmlError(f"Blockquotes can't be nested {where}")
    if name == "pre" and set(open_tags) - {"blockquote"}:
        raise HtmlError(f'Tag "pre" can\'t be nested inside "{parent}" {where}')
    if (name in _LINKISH or name == "code") and _LINKISH & set(open_tags):
        raise HtmlError(f'Tag "{name}" can\'t be nested inside "{parent}" {where}')


def _close(stack: list[_Open], tag: Tag, length: int) -> dict | None:
    if not stack:
        raise HtmlError(f"Unexpected end tag at byte offset {tag.offset}")
    opened = stack.pop()
    if tag.name and tag.name != opened.tag.name:
        raise HtmlError(
            f'Unmatched end tag at byte offset {tag.offset}, expected "</{opened.tag.name}>", found "</{tag.name}>"'
        )
    name = opened.tag.name
    if name == "code" and stack and stack[-1].tag.name == "pre":
        language = opened.tag.attrs.get("class", "")
        stack[-1].language = language.removeprefix("language-") if language.startswith("language-") else ""
        return None
    if length == opened.start:
        return None  # Telegram drops empty entities
    entity = {"type": CLASSIC_TAGS[name], "offset": opened.start, "length": length - opened.start}
    if name == "a":
        entity["url"] = opened.tag.attrs["href"]
    elif name == "tg-emoji":
        entity["custom_emoji_id"] = opened.tag.attrs["emoji-id"]
    elif name == "pre" and opened.language:
        entity["language"] = opened.language
    elif name == "blockquote" and "expandable" in opened.tag.attrs:
        entity["type"] = "expandable_blockquote"
    return entity


# --- rich messages (InputRichMessage.html) ----------------------------------------------

BLOCK_TAGS = {
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "pre",
    "footer",
    "hr",
    "tg-math-block",
    "ul",
    "ol",
    "li",
    "blockquote",
    "aside",
    "details",
    "summary",
    "table",
    "thead",
    "tbody",
    "tr",
    "td",
    "th",
}
INLINE_TAGS = set(CLASSIC_TAGS) - {"pre", "blockquote"} | {"sub", "sup", "mark", "tg-math", "br"}
VOID_TAGS = {"hr", "br"}
_TEXT_BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "footer", "summary", "td", "th"}
_CONTAINERS = {"#root", "li", "blockquote", "aside", "details"}
_PARENTS = {
    "li": {"ul", "ol"},
    "tr": {"table", "thead", "tbody"},
    "td": {"tr"},
    "th": {"tr"},
    "thead": {"table"},
    "tbody": {"table"},
    "summary": {"details"},
}
_COUNTED = BLOCK_TAGS - {"summary", "thead", "tbody", "td", "th"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)


@dataclass
class RichStats:
    chars: int = 0
    blocks: int = 0
    depth: int = 0


def parse_rich_html(html: str) -> tuple[Node, RichStats]:
    """Rich-message HTML → a tree and its size; raises HtmlError on what Telegram refuses."""
    root = Node("#root")
    stack = [root]
    stats = RichStats()
    for token in tokenize(html, allow_self_closing=True):
        if isinstance(token, str):
            _rich_text(stack[-1], token, stats)
        elif token.closing:
            _rich_close(stack, token)
        else:
            node = _rich_open(stack, token, stats)
            if not (token.self_closing or node.tag in VOID_TAGS):
                stack.append(node)
    if len(stack) > 1:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    stats.blocks += _implicit_paragraphs(root)
    return root, stats


def _rich_open(stack: list[Node], tag: Tag, stats: RichStats) -> Node:
    name, parent, where = tag.name, stack[-1], f"at byte offset {tag.offset}"
    if name not in BLOCK_TAGS and name not in INLINE_TAGS:
        raise HtmlError(f'Unsupported start tag "{name}" {where}')
    if parent.tag in ("tg-math", "tg-math-block") or (parent.tag == "pre" and name != "code") or parent.tag == "code":
        raise HtmlError(f'Tag "{name}" can\'t be nested inside "{parent.tag}" {where}')
    if name in _PARENTS and parent.tag not in _PARENTS[name]:
        raise HtmlError(f'Tag "{name}" must be inside {" or ".join(sorted(_PARENTS[name]))} {where}')
    if parent.tag in ("ul", "ol") and name != "li":
        raise HtmlError(f'Only "li" can be inside "{parent.tag}" {where}')
    if name in BLOCK_TAGS and name not in _PARENTS and parent.tag not in _CONTAINERS:
        raise HtmlError(f'Block tag "{name}" can\'t be inside "{parent.tag}" {where}')
    if name == "a" and not (tag.attrs.get("href") or tag.attrs.get("name")):
        raise HtmlError(f'Tag "a" must have an attribute "href" or "name" {where}')
    node = Node(name, tag.attrs)
    parent.children.append(node)
    stats.blocks += name in _COUNTED
    stats.depth = max(stats.depth, len(stack))
    if stats.depth > RICH_DEPTH_LIMIT:
        raise HtmlError(f"Rich message nesting is deeper than {RICH_DEPTH_LIMIT} levels {where}")
    return node


def _rich_close(stack: list[Node], tag: Tag) -> None:
    if len(stack) == 1:
        raise HtmlError(f"Unexpected end tag at byte offset {tag.offset}")
    opened = stack.pop()
    if tag.name and tag.name != opened.tag:
        raise HtmlError(
            f'Unmatched end tag at byte offset {tag.offset}, expected "</{opened.tag}>", found "</{tag.name}>"'
        )


def _rich_text(parent: Node, text: str, stats: RichStats) -> None:
    if parent.tag in ("ul", "ol", "table", "thead", "tbody", "tr", "details") and not text.strip():
        return
    if parent.tag in ("ul", "ol", "table", "thead", "tbody", "tr"):
        raise HtmlError(f'Text can\'t be directly inside "{parent.tag}"')
    parent.children.append(text)
    stats.chars += utf16_len(text)


def _implicit_paragraphs(node: Node) -> int:
    """Inline content directly in a container becomes a paragraph: count those blocks."""
    count = 0
    if node.tag in _CONTAINERS:
        inline_run = False
        for child in node.children:
            is_inline = (
                isinstance(child, str) and child.strip() or (isinstance(child, Node) and child.tag in INLINE_TAGS)
            )
            count += bool(is_inline and not inline_run)
            inline_run = bool(is_inline) or (inline_run and isinstance(child, str))
    for child in node.children:
        if isinstance(child, Node):
            count += _implicit_paragraphs(child)
    return count


# --- the stored form: RichBlock objects as Telegram returns them -------------------------

_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}


def rich_blocks(node: Node) -> list[dict]:
    """The tree as ``RichBlock`` dicts (texts flattened to plain strings), for the Message."""
    blocks: list[dict] = []
    inline: list[str] = []
    for child in node.children:
        if isinstance(child, str) or child.tag in INLINE_TAGS:
            inline.append(child if isinstance(child, str) else child.text())
            continue
        if "".join(inline).strip():
            blocks.append({"type": "paragraph", "text": "".join(inline).strip()})
        inline = []
        blocks.extend(_block(child))
    if "".join(inline).strip():
        blocks.append({"type": "paragraph", "text": "".join(inline).strip()})
    return blocks


def _block(node: Node) -> list[dict]:
    tag = node.tag
    if tag in _HEADINGS:
        return [{"type": "heading", "text": node.text(), "size": _HEADINGS[tag]}]
    if tag == "tg-math-block":
        return [{"type": "mathematical_expression", "expression": node.text()}]
    if tag == "hr":
        return [{"type": "divider"}]
    if tag == "pre":
        return [{"type": "pre", "text": node.text()}]
    if tag == "footer":
        return [{"type": "footer", "text": node.text()}]
    if tag in ("ul", "ol"):
        items = [c for c in node.children if isinstance(c, Node)]
        labels = ["•"] * len(items) if tag == "ul" else [f"{n}." for n in range(1, len(items) + 1)]
        return [
            {
                "type": "list",
                "items": [{"label": label, "blocks": rich_blocks(item)} for label, item in zip(labels, items)],
            }
        ]
    if tag in ("blockquote", "aside", "details"):
        return [{"type": "blockquote", "blocks": rich_blocks(node)}]
    return [{"type": "paragraph", "text": node.text()}]
