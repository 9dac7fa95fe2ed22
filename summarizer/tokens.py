"""Offline token counting.

tiktoken downloads its encodings on first use, which an offline install cannot do;
bpe-openai ships the o200k_base vocabulary inside its wheel and is exact for OpenAI's
current models. For other OpenAI-compatible models it is an estimate, which is what a
budget needs (the context-length error path catches the rest).
"""

from __future__ import annotations

import re
from functools import lru_cache

import bpe_openai

ENCODING = "o200k_base"
_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n\n")


@lru_cache(maxsize=1)
def _encoding() -> bpe_openai.Encoding:
    return bpe_openai.get_encoding(ENCODING)


def warm_up() -> None:
    """Build the vocabulary now: the first build takes ~0.2 s holding the GIL, which a bot
    would otherwise pay on its first review, stalling every answer meanwhile."""
    _encoding()


def count_tokens(text: str) -> int:
    if not text:
        return 0
    return len(_encoding().encode_ordinary(text))


def head_tokens(text: str, max_tokens: int) -> str:
    """The start of `text` within `max_tokens`, cut back to a sentence end when one is near."""
    if max_tokens <= 0:
        return ""
    tokens = _encoding().encode_ordinary(text)
    if len(tokens) <= max_tokens:
        return text
    head = _encoding().decode(tokens[:max_tokens])
    ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    if ends and ends[-1] > len(head) * 0.6:
        head = head[: ends[-1]]
    return head.rstrip()
