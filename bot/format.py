"""A stored review (Markdown with LaTeX) → what the bot sends to Telegram.

    classic_messages(md, site_url=…)  HTML parts for sendMessage(parse_mode="HTML")
    rich_message(md, site_url=…)      one InputRichMessage(html=…) for sendRichMessage
    plain_text(md, site_url=…)        parts for sendMessage with no parse mode: the
                                      fallback after a "can't parse entities" answer

The review text is written by an LLM, so it is never sent with a parse mode as it is: it
is parsed (``bot/review_doc.py``), and only tags written by ``bot/classic.py`` or
``bot/rich.py`` reach Telegram, around escaped text. Every classic or plain part is at most
4,096 UTF-16 code units after entity parsing; the first carries the header, the last the
link to the review's page on the site.

Why our own converter on markdown-it-py's token stream (already used by the site) rather
than a Markdown-to-Telegram library. Measured on the 20,447-character Russian review of
``tests/bot/test_format.py`` (112 astral emoji, 155 formulas, nested lists, ``***bold
italic***``, ``<`` and ``&`` in the text, one paragraph longer than a message), each part
checked by the fake Bot API's validator (``tests/fakes/telegram_html.py``), best of 5:

- ours: 5 parts, all accepted, header in the first, 14 ms; rich: 17,089 characters,
  250 blocks, accepted, 11 ms.
- telegramify-markdown 1.4.1: 5 parts, all accepted (after aiogram's entities → HTML),
  8 ms, formulas to Unicode as well; but a paragraph longer than a message is cut
  mid-word ("…про модель. П" | "редложение…"), it returns text + entity lists rather than
  HTML (our outbox and dry run keep strings), shows the header links as bare URLs,
  prefixes headings with emoji, and brings pyromark (a Rust wheel).
- sulguk 0.12: HTML → entities only, so a Markdown → HTML step is still ours to write;
  no splitting (one 17,824-unit text), LaTeX left raw, 32 ms; brings lxml and html5lib.
- tg-rich-converter 0.5.1: its classic split is refused 8 parts out of 8 (``<ol>``,
  ``<tg-math>`` under parse_mode=HTML), and its rich HTML is refused as well:
  ``***x***`` becomes ``<b><i>x</b></i>``. 15 ms.
"""

from __future__ import annotations

from aiogram.types import InputRichMessage

from bot.classic import html_messages, plain_messages, review_units
from bot.review_doc import parse_review
from bot.rich import RICH_BLOCK_LIMIT, RICH_CHAR_LIMIT, rich_html
from bot.split import utf16_len

MESSAGE_LIMIT = 4096  # UTF-16 code units after entity parsing

__all__ = [
    "MESSAGE_LIMIT",
    "RICH_BLOCK_LIMIT",
    "RICH_CHAR_LIMIT",
    "classic_messages",
    "plain_text",
    "rich_message",
    "utf16_len",
]


def classic_messages(markdown: str, *, site_url: str | None, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Telegram HTML parts, each at most ``limit`` UTF-16 units once Telegram parses it."""
    return html_messages(review_units(parse_review(markdown), site_url), limit)


def plain_text(markdown: str, *, site_url: str | None = None, limit: int = MESSAGE_LIMIT) -> list[str]:
    """The same parts with no markup at all (links shown as URLs), for parse_mode=None."""
    return plain_messages(review_units(parse_review(markdown), site_url), limit)


def rich_message(markdown: str, *, site_url: str | None) -> InputRichMessage:
    """One rich message within 32,768 characters and 500 blocks (shortened if need be)."""
    return InputRichMessage(html=rich_html(parse_review(markdown), site_url))
