"""What a reader writes after /subscribe or /unsubscribe, read as a rule (pure).

`автор: Yuntian Deng` (or `author:`) is an author; `категория: cs.CL` (or `category:`), or
one word shaped like an arXiv category (`cs.CL`, `stat.ML`, `hep-th`), is a category;
anything else is a keyword phrase. Input that cannot be a useful rule raises BadRule with the
Russian sentence that says what was wrong and what to write instead.
"""

from __future__ import annotations

import re

from bot import texts
from paperdigest.subscriptions import KEYWORD, Rule, author_rule, category_rule, keyword_rule, words

AUTHOR_PREFIXES = ("автор:", "author:")
CATEGORY_PREFIXES = ("категория:", "category:")
ARCHIVES = {
    "cs", "math", "stat", "physics", "econ", "eess", "q-bio", "q-fin", "astro-ph", "cond-mat", "nlin",
}  # fmt: skip
WHOLE_ARCHIVES = {
    "hep-th", "hep-ph", "hep-ex", "hep-lat", "gr-qc", "quant-ph", "math-ph", "nucl-th", "nucl-ex", "astro-ph",
    "cond-mat",
}  # fmt: skip
_CATEGORY = re.compile(r"^([a-z-]+)\.([a-z]{2,}(?:-[a-z]{2,})?)$", re.IGNORECASE)
MAX_CHARS, MAX_WORDS, MIN_CHARS = 100, 6, 3
_CYRILLIC, _LATIN = re.compile(r"[а-яё]"), re.compile(r"[a-z]")


class BadRule(Exception):
    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


def is_category(value: str) -> bool:
    if value.lower() in WHOLE_ARCHIVES:
        return True
    shaped = _CATEGORY.match(value)
    return shaped is not None and shaped.group(1).lower() in ARCHIVES


def rule_to_add(text: str) -> Rule:
    """parse_rule, for /subscribe: a phrase in Russian alone is refused, since it is looked for in
    the paper's title and abstract, which are in English (/unsubscribe still takes one made before)."""
    rule = parse_rule(text)
    if rule.kind == KEYWORD and _CYRILLIC.search(rule.value) and not _LATIN.search(rule.value):
        raise BadRule(texts.KEYWORD_NOT_LATIN.format(value=rule.label[:40]))
    return rule


def parse_rule(text: str) -> Rule:
    raw = " ".join(text.split())
    if not raw:
        raise BadRule(texts.SUBSCRIBE_USAGE)
    if len(raw) > MAX_CHARS + 12:
        raise BadRule(texts.TOO_LONG.format(length=len(raw), limit=MAX_CHARS))
    lowered = raw.lower()
    for prefix in AUTHOR_PREFIXES:
        if lowered.startswith(prefix):
            return _author(raw[len(prefix) :].strip())
    for prefix in CATEGORY_PREFIXES:
        if lowered.startswith(prefix):
            return _category(raw[len(prefix) :].strip())
    if " " not in raw and is_category(raw):
        return category_rule(raw)
    return _keyword(raw)


def _category(value: str) -> Rule:
    if not is_category(value):
        raise BadRule(texts.BAD_CATEGORY.format(value=value[:40]))
    return category_rule(value)


def _author(value: str) -> Rule:
    if len(words(value)) < 2:
        raise BadRule(texts.AUTHOR_NEEDS_NAME)
    return author_rule(value)


def _keyword(value: str) -> Rule:
    found = words(value)
    if len(value) > MAX_CHARS:
        raise BadRule(texts.TOO_LONG.format(length=len(value), limit=MAX_CHARS))
    if not found:
        raise BadRule(texts.KEYWORD_NO_WORDS.format(value=value[:40]))
    if len(found) > MAX_WORDS:
        raise BadRule(texts.TOO_MANY_WORDS.format(count=len(found), limit=MAX_WORDS))
    if len("".join(found)) < MIN_CHARS:
        raise BadRule(texts.KEYWORD_TOO_SHORT.format(value=value[:40]))
    return keyword_rule(value)
