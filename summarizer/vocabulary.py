"""The review's words in the paper's language: Russian claim words as the English a paper uses.

A review says «полнота», «доля», «лучшая модель», «тестовый набор»; the paper says recall,
rate, best model, test set. `terms` turns the words of a review clause into what to look
for in the paper: Latin words as they are, Russian words through a small vocabulary of the
words results are stated with (metrics, splits, comparisons, sizes), and loanwords through
transliteration («сепсис» → sepsis, «агент» → agent). Each is a stem: a paper word matches
when it starts with it («alarm» matches "alarms").
"""

from __future__ import annotations

import re
from functools import lru_cache

_RU_WORD = re.compile(r"[А-Яа-яЁё]+|[A-Za-z]+")

# Russian stems (as a word starts) and the English stems a paper writes for them.
_VOCABULARY: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("лучш", ("best",)),
    ("наилучш", ("best",)),
    ("худш", ("worst",)),
    ("сильнейш", ("strongest", "best")),
    ("базов", ("base",)),
    ("бейзлайн", ("baseline",)),
    ("исходн", ("original", "base")),
    ("предыдущ", ("previous", "prior")),
    ("прежн", ("previous", "prior")),
    ("модел", ("model",)),
    ("метод", ("method",)),
    ("подход", ("approach", "method")),
    ("ложн", ("false",)),
    ("тревог", ("alarm", "alert")),
    ("истинн", ("true",)),
    ("верн", ("correct", "true")),
    ("тест", ("test",)),
    ("обуч", ("train",)),
    ("тренир", ("train",)),
    ("валидац", ("valid", "dev")),
    ("отложенн", ("held", "test")),
    ("полнот", ("recall",)),
    ("точност", ("precision", "accuracy")),
    ("доля", ("rate", "share", "fraction", "proportion", "percent")),
    ("доли", ("rate", "share", "fraction", "proportion", "percent")),
    ("частот", ("rate", "frequency")),
    ("чувствительн", ("sensitivity",)),
    ("специфичн", ("specificity",)),
    ("средн", ("average", "mean")),
    ("медиан", ("median",)),
    ("задач", ("task", "problem")),
    ("пример", ("example", "sample")),
    ("выборк", ("sample", "set", "split")),
    ("набор", ("set", "dataset")),
    ("весь", ("whole", "entire", "overall", "full")),
    ("всего", ("whole", "entire", "overall", "full", "total")),
    ("всём", ("whole", "entire", "overall", "full")),
    ("полном", ("whole", "entire", "full")),
    ("уровн", ("level",)),
    ("сложн", ("hard", "difficult", "complex")),
    ("прост", ("simple", "easy")),
    ("длинн", ("long",)),
    ("коротк", ("short",)),
    ("крошечн", ("tiny",)),
    ("больш", ("large", "big")),
    ("мал", ("small",)),
    ("человек", ("human",)),
    ("люд", ("human",)),
    ("оценк", ("evaluation", "score")),
    ("стоимост", ("cost",)),
    ("памят", ("memory",)),
    ("скорост", ("speed",)),
    ("ускорен", ("speedup",)),
    ("запрос", ("query",)),
    ("стать", ("paper", "article")),
    ("статей", ("paper", "article")),
    ("отмен", ("cancel",)),
    ("решен", ("solv",)),
    ("реша", ("solv",)),
    ("успе", ("success",)),
    ("ошибк", ("error",)),
    ("потер", ("loss",)),
    ("параметр", ("param",)),
    ("слой", ("layer",)),
    ("слоя", ("layer",)),
    ("слоё", ("layer",)),
    ("шаг", ("step",)),
    ("час$", ("hour",)),
    ("часа", ("hour",)),
    ("часо", ("hour",)),
    ("часы", ("hour",)),
    ("дн", ("day",)),
    ("ден", ("day",)),
    ("эпох", ("epoch",)),
    ("пертурбац", ("perturb",)),
    ("возмущ", ("perturb",)),
)

_TRANSLIT = str.maketrans(
    {
        "а": "a",
        "б": "b",
        "в": "v",
        "г": "g",
        "д": "d",
        "е": "e",
        "ё": "e",
        "ж": "zh",
        "з": "z",
        "и": "i",
        "й": "i",
        "к": "k",
        "л": "l",
        "м": "m",
        "н": "n",
        "о": "o",
        "п": "p",
        "р": "r",
        "с": "s",
        "т": "t",
        "у": "u",
        "ф": "f",
        "х": "h",
        "ц": "ts",
        "ч": "ch",
        "ш": "sh",
        "щ": "sch",
        "ъ": "",
        "ы": "y",
        "ь": "",
        "э": "e",
        "ю": "yu",
        "я": "ya",
    }
)
_ENDING = re.compile(
    r"(?:ами|ями|ого|его|ому|ему|ыми|ими|иях|ией|ия|ий|ый|ой|ей|ая|яя|ое|ее|ые|ие|ов|ев|ах|ях|"
    r"ам|ям|ом|ем|ом|а|я|ы|и|у|ю|е|о|ь)$"
)
_STOP = frozenset(
    "the and for with from that this than its are was were has have not but all also via per vs "
    "et al of in on to by as at is an or be while only about over under into our their".split()
)
MIN_STEM = 4


def terms(text: str) -> list[tuple[str, ...]]:
    """One entry per telling word of `text`: the English stems a paper may write it with."""
    found = []
    for match in _RU_WORD.finditer(text):
        stems = _stems(match.group(0).lower())
        if stems:
            found.append(stems)
    return found


@lru_cache(maxsize=4096)
def _stems(word: str) -> tuple[str, ...]:
    if word.isascii():
        return (word,) if len(word) >= 3 and word not in _STOP else ()
    stems = tuple(
        dict.fromkeys(
            e
            for ru, english in _VOCABULARY
            if (word == ru[:-1] if ru.endswith("$") else word.startswith(ru))
            for e in english
        )
    )
    latin = _ENDING.sub("", word).translate(_TRANSLIT)
    if len(latin) >= MIN_STEM + 1 and latin not in stems:
        stems += (latin,)
    return stems


def lookup(wanted: list[tuple[str, ...]]) -> dict[str, str]:
    """Each stem of `wanted` → the first stem of its entry (the word it stands for), for `find`."""
    table: dict[str, str] = {}
    for stems in wanted:
        for stem in stems:
            table.setdefault(stem, stems[0])
    return table


def find(table: dict[str, str], word: str) -> str | None:
    """The entry a paper word (lower case) is written with: "alarms" ~ "alarm"; short stems whole only."""
    if word in table:
        return table[word]
    for cut in range(max(MIN_STEM, len(word) - 4), len(word)):
        if word[:cut] in table:
            return table[word[:cut]]
    return None
