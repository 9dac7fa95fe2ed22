"""The paper's passages that best match a question: BM25 over its paragraphs, by section.

Hand-written, like watcher/ranking.py's TF-IDF: one paper is a few hundred paragraphs, and a
search library would be a dependency for thirty lines of arithmetic. Words are lower-cased
letter runs of Latin or Cyrillic. A Russian question about an English paper matches the Latin
terms it names (model names, datasets, "GSM8k") and the English words summarizer/ru_terms.py
gives for its Russian ones («обучение» → "training"). References are never searched.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from paperdigest.records import Section
from summarizer.ru_terms import english_terms

K1, B = 1.5, 0.75
PASSAGE_CHARS = 700  # a paragraph longer than this is cut into pieces of about this size
_WORD = re.compile(r"[^\W_]{2,}")
_SKIPPED_KINDS = frozenset({"references"})
_STOP = frozenset(
    "the and for with that this from are was were our can not but its has have been which their these "
    "into over such than they them using used also may more both each other only is in of to by as at "
    "an or be on we it что как это для или при где все его она они так также чем какой какие какая "
    "каким ли же бы по на из от до за не ни но да вы мы".split()
)


@dataclass(frozen=True)
class Passage:
    section: str  # the heading as printed; "" before the first
    text: str
    score: float


def words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


def _pieces(text: str) -> list[str]:
    """Paragraphs, the long ones cut at sentence ends near PASSAGE_CHARS."""
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = " ".join(paragraph.split())
        while len(paragraph) > PASSAGE_CHARS * 1.5:
            cut = paragraph.rfind(". ", 0, PASSAGE_CHARS) + 1 or PASSAGE_CHARS
            out.append(paragraph[:cut].strip())
            paragraph = paragraph[cut:].strip()
        if len(paragraph) >= 40:
            out.append(paragraph)
    return out


def split_passages(sections: list[Section]) -> list[tuple[str, str]]:
    return [(s.title, p) for s in sections if s.kind not in _SKIPPED_KINDS for p in _pieces(s.text)]


def find_passages(sections: list[Section], query: str, k: int = 3) -> list[Passage]:
    """The k passages of the paper scoring highest for the query (none when no query word occurs)."""
    units = split_passages(sections)
    terms = set(words(query)) | set(words(" ".join(english_terms(query))))
    if not units or not terms:
        return []
    counted = [Counter(words(f"{title} {text}")) for title, text in units]
    average = sum(sum(c.values()) for c in counted) / len(counted) or 1.0
    frequency = Counter(term for c in counted for term in terms & c.keys())
    scored = []
    for (title, text), counts in zip(units, counted):
        length = sum(counts.values())
        score = 0.0
        for term in terms & counts.keys():
            idf = math.log(1 + (len(units) - frequency[term] + 0.5) / (frequency[term] + 0.5))
            tf = counts[term]
            score += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / average))
        if score > 0:
            scored.append(Passage(title, text, score))
    return sorted(scored, key=lambda p: -p.score)[:k]


_FIRST_KINDS = (
    "abstract",
    "conclusion",
    "introduction",
    "results",
)  # what fills the context when the words match little


def context_passages(sections: list[Section], query: str, max_chars: int = 12000) -> list[Passage]:
    """What the LLM reads for a question: the best-matching passages first, then the abstract,
    conclusion and introduction, within max_chars. A Russian question about an English paper
    shares few words with it, so the matched passages alone may be none."""
    chosen = find_passages(sections, query, k=12)
    seen = {(p.section, p.text) for p in chosen}
    for kind in _FIRST_KINDS:
        for section in sections:
            if section.kind == kind:
                chosen += [
                    Passage(section.title, p, 0.0) for p in _pieces(section.text) if (section.title, p) not in seen
                ]
    out, used = [], 0
    for passage in chosen:
        if used + len(passage.text) > max_chars:
            continue
        out.append(passage)
        used += len(passage.text)
    return out
