"""The offline reviewer: an extractive draft of the review, with no LLM and no network.

Used when no LLM endpoint is configured, and by the offline demo. Each of the five sections
takes the sentences of its kinds of paper section, scored by TF-IDF (cosine to their centroid
and to the title and abstract), with bonuses for cue words and paragraph openings, penalties
for citations, figure references, odd lengths and links; the best, minus near-duplicates, are
listed in document order under a Russian lead line. Nothing is translated.

Why hand-written: maintained extractive summarisers fetch data at first use (sumy needs NLTK's
punkt, pytextrank a spaCy model, bert-extractive-summarizer weights) and know nothing of papers:
section kinds, "et al.", "Fig. 3", citation brackets. This is standard library and deterministic.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from paperdigest.records import PaperMeta, Section
from summarizer.review_format import SECTION_TITLES, ReviewBody

SKIPPED_KINDS = frozenset({"front", "references", "acknowledgments"})
TLDR_LEAD = "Автоматический черновик без LLM: ключевые фразы аннотации на языке оригинала."
FALLBACK_LEAD = "Подходящего раздела в статье не нашлось; ближайшие по смыслу фразы (на языке оригинала):"
NOTHING_FOUND = "В тексте статьи не нашлось предложений для этой части обзора."
NO_LIMITATIONS = (
    "Явных ограничений автоматический разбор не нашёл: в заключении и обсуждении нет "
    "оговорок вроде «limitation», «however», «future work». Это не значит, что их нет."
)

_ABBREVIATIONS = frozenset(
    {
        "al",
        "e.g",
        "i.e",
        "cf",
        "vs",
        "fig",
        "figs",
        "eq",
        "eqs",
        "sec",
        "secs",
        "tab",
        "ref",
        "refs",
        "app",
        "appx",
        "ch",
        "no",
        "nos",
        "resp",
        "approx",
        "viz",
        "ca",
        "dr",
        "mr",
        "ms",
        "prof",
        "st",
    }
)
_BOUNDARY = re.compile(r"[.!?][\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_HYPHEN_BREAK = re.compile(r"([a-z])-\n\s*([a-z])")
_TAIL_HEADING = re.compile(
    r"^\s*(?:\d+\.?\s*)?(?:references|bibliography|acknowledge?ments?)\s*$", re.IGNORECASE | re.MULTILINE
)
_WORD = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_STOP = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "to",
        "was",
        "we",
        "were",
        "which",
        "while",
        "with",
        "also",
        "may",
        "more",
        "most",
        "not",
        "only",
        "other",
        "some",
        "each",
        "both",
        "between",
        "using",
        "used",
        "use",
    }
)
_FINITE = frozenset(
    {
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "has",
        "have",
        "had",
        "do",
        "does",
        "did",
        "can",
        "could",
        "will",
        "would",
        "may",
        "might",
        "must",
        "should",
        "we",
        "it",
        "they",
        "this",
        "there",
    }
)
_CITATION = re.compile(r"\[\d+(?:\s*[,-]\s*\d+)*\]|\([A-Z][\w-]+(?: et al\.| and [A-Z][\w-]+)?,? \d{4}[a-z]?[;)]")
_FIGURE = re.compile(r"\b(?:fig(?:ure)?s?|tables?|tab)\.?\s*\d", re.IGNORECASE)
_RESULT_NUMBER = re.compile(r"\d+(?:\.\d+)?\s*(?:%|x\b)|\d+\.\d+|\b\d+x\b")
_LIMITATION_CUES = (
    "limitation",
    "however",
    "fail",
    "only",
    "future work",
    "cannot",
    "drawback",
    "unclear",
    "does not",
    "remains",
    "unable",
    "expensive",
    "costly",
    "restricted",
)


@dataclass(frozen=True)
class _Spec:
    title: str
    kinds: tuple[str, ...]
    lead: str
    share: float  # of the body's character budget
    cues: tuple[str, ...] = ()
    numbers: bool = False  # prefer sentences with results (accuracy, %, speed-ups)


_SPECS = (
    _Spec(
        SECTION_TITLES[0],
        ("abstract", "introduction"),
        "Ключевые фразы из аннотации и введения (извлечены автоматически, на языке оригинала):",
        0.22,
        ("we propose", "we introduce", "we present", "in this paper", "in this work", "we show"),
    ),
    _Spec(
        SECTION_TITLES[1],
        ("method", "background"),
        "Как устроен метод — фразы из разделов о методе (извлечены автоматически, на языке оригинала):",
        0.24,
        ("we use", "we train", "trained", "loss", "architecture", "consists", "input", "stage"),
    ),
    _Spec(
        SECTION_TITLES[2],
        ("experiments", "results"),
        "Главные результаты — фразы с числами из разделов об экспериментах (на языке оригинала):",
        0.24,
        ("accuracy", "outperform", "baseline", "achieve", "bleu", "faster", "improve"),
        True,
    ),
    _Spec(
        SECTION_TITLES[3],
        ("limitations", "discussion", "conclusion", "results"),
        "Оговорки и ограничения, которые называют сами авторы (на языке оригинала):",
        0.14,
        _LIMITATION_CUES,
    ),
    _Spec(
        SECTION_TITLES[4],
        ("conclusion", "discussion"),
        "Значение работы словами авторов — из заключения и обсуждения (на языке оригинала):",
        0.16,
        ("we believe", "demonstrate", "promis", "future", "insight", "enable", "show that"),
    ),
)


@dataclass(frozen=True)
class _Sentence:
    text: str
    kind: str
    first: bool  # opens a paragraph


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences; "et al.", "e.g.", "Fig. 3", "Eq. (2)", "97.0" do not end one."""
    text = re.sub(r"\s+", " ", _HYPHEN_BREAK.sub(r"\1\2", text)).strip()
    sentences, start = [], 0
    for match in _BOUNDARY.finditer(text):
        word = text[start : match.start() + 1].split()[-1].lstrip("([").rstrip(".")
        if word.lower() in _ABBREVIATIONS or (len(word) == 1 and word.isupper()):
            continue
        sentences.append(text[start : match.end()].strip())
        start = match.end()
    tail = text[start:].strip()
    return sentences + [tail] if tail else sentences


def _paper_sentences(meta: PaperMeta, sections: list[Section]) -> list[_Sentence]:
    parts = [(s.kind, _TAIL_HEADING.split(s.text)[0]) for s in sections if s.kind not in SKIPPED_KINDS]
    if meta.abstract.strip() and not any(kind == "abstract" for kind, _ in parts):
        parts.insert(0, ("abstract", meta.abstract))
    sentences = []
    for kind, text in parts:
        for paragraph in re.split(r"\n\s*\n", text):
            found = split_sentences(paragraph)
            if len(found) > 1 and _is_run_in_heading(found[0]):
                found = found[1:]
            sentences.extend(
                _Sentence(sentence, kind, i == 0) for i, sentence in enumerate(found) if not _is_garbage(sentence)
            )
    return sentences


def _is_run_in_heading(sentence: str) -> bool:
    """ "Ablations." or "Continuous thoughts as a search tree.": a short title opening a paragraph."""
    words = sentence.rstrip(".:").lower().split()
    return len(words) <= 8 and not any(w in _FINITE or w.endswith("ed") for w in words)


def _terms(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1]


def _unit(vector: Counter) -> dict[str, float]:
    norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
    return {term: v / norm for term, v in vector.items()}


def _cos(a: dict[str, float], b: dict[str, float]) -> float:
    return sum(v * b.get(term, 0.0) for term, v in a.items())


def _vectorise(texts: list[str]) -> tuple[list[dict[str, float]], dict[str, float]]:
    """TF-IDF unit vectors of the paper's own sentences, and the IDF table."""
    bags = [Counter(_terms(text)) for text in texts]
    df = Counter(term for bag in bags for term in bag)
    idf = {term: math.log((len(bags) + 1) / (n + 1)) + 1.0 for term, n in df.items()}
    return [_unit(Counter({t: c * idf[t] for t, c in bag.items()})) for bag in bags], idf


@dataclass(frozen=True)
class _Paper:
    title: str
    sentences: list[_Sentence]
    vectors: list[dict[str, float]]
    topic: dict[str, float]  # the title and abstract, for relevance to the paper's point

    @classmethod
    def build(cls, meta: PaperMeta, sections: list[Section]) -> _Paper:
        sentences = _paper_sentences(meta, sections)
        vectors, idf = _vectorise([s.text for s in sentences])
        topic_text = " ".join([meta.title, meta.title] + [s.text for s in sentences if s.kind == "abstract"])
        topic = _unit(Counter({t: c * idf.get(t, 1.0) for t, c in Counter(_terms(topic_text)).items()}))
        return cls(meta.title, sentences, vectors, topic)


def _penalty(text: str) -> float:
    words = text.split()
    factor = 0.1 if len(words) < 6 else 0.5 if len(words) > 50 else 1.0
    citations = len(_CITATION.findall(text))
    factor *= 1.0 if not citations else 0.7 if citations == 1 else 0.4
    factor *= 0.6 if _FIGURE.search(text) else 1.0
    return factor * (0.3 if "http" in text or "www." in text else 1.0)


def _is_garbage(text: str) -> bool:
    """Equations, tables and digit strings flattened by PDF extraction: never quoted."""
    words = text.split()
    loose_symbols = sum(len(w) == 1 and not w.isalpha() for w in words)  # "9 1 7 3 * 9 4"
    return sum(ch.isalpha() for ch in text) < 0.55 * len(text) or loose_symbols > max(3, len(words) / 4)


def _score(sentence: _Sentence, vector, centroid, topic, spec: _Spec) -> float:
    lowered = sentence.text.lower()
    bonus = 0.1 * sentence.first + min(0.24, 0.08 * sum(cue in lowered for cue in spec.cues))
    if spec.numbers and _RESULT_NUMBER.search(sentence.text):
        bonus += 0.2
    if sentence.kind == "limitations" and spec.title == SECTION_TITLES[3]:
        bonus += 0.2
    return (0.5 * _cos(vector, centroid) + 0.5 * _cos(vector, topic) + bonus) * _penalty(sentence.text)


def _pick(paper: _Paper, pool: list[int], spec: _Spec, budget: int, quoted=()) -> list[tuple[int, str]]:
    """Best sentences first until the budget is spent, none close to one quoted already; document order."""

    def repeats(i: int, earlier) -> bool:
        return any(_cos(paper.vectors[i], paper.vectors[j]) > 0.6 for j in earlier)

    scores = _rank(paper, pool, spec)
    fresh = [i for i in sorted(pool, key=lambda i: (-scores[i], i)) if not repeats(i, quoted)]
    picked: dict[int, str] = {}
    spent, floor = 0, 0.3 * max(scores.values(), default=0.0)
    for i in fresh:
        text = paper.sentences[i].text
        if scores[i] < floor:
            break
        if spent + len(text) + 3 <= budget and not repeats(i, picked):
            picked[i] = text
            spent += len(text) + 3
    if not picked and fresh:  # every candidate is longer than the budget: cut the best one short
        text, limit = paper.sentences[fresh[0]].text, max(budget - 3, 60)
        picked[fresh[0]] = text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"
    return sorted(picked.items())


def _rank(paper: _Paper, pool: list[int], spec: _Spec) -> dict[int, float]:
    total: Counter = Counter()
    for i in pool:
        total.update(paper.vectors[i])
    centroid = _unit(total)
    return {i: _score(paper.sentences[i], paper.vectors[i], centroid, paper.topic, spec) for i in pool}


def _candidates(paper: _Paper, spec: _Spec, in_tldr: set[int], quoted: set[int], later_kinds: set[str]):
    """The spec's own kinds; else (but for caveats) what no later section needs; else anything unquoted."""
    own = [
        i
        for i, s in enumerate(paper.sentences)
        if s.kind in spec.kinds
        and i not in quoted
        and (
            spec.title != SECTION_TITLES[3]
            or s.kind == "limitations"
            or any(cue in s.text.lower() for cue in _LIMITATION_CUES)
        )
    ]  # caveats only
    for pool in ([i for i in own if i not in in_tldr], own):  # repeat the TL;DR rather than borrow
        if pool:
            return pool, spec.lead
    if spec.title == SECTION_TITLES[3]:
        return [], spec.lead
    unquoted = [i for i in range(len(paper.sentences)) if i not in in_tldr | quoted]
    spare = [i for i in unquoted if paper.sentences[i].kind not in later_kinds]
    return spare or unquoted, FALLBACK_LEAD


def _tldr(paper: _Paper, budget: int) -> tuple[str, set[int]]:
    abstract = [i for i, s in enumerate(paper.sentences) if s.kind == "abstract"]
    scores = _rank(paper, abstract, _SPECS[0])
    best = sorted(sorted(_pick(paper, abstract, _SPECS[0], budget), key=lambda p: -scores[p[0]])[:2])
    quotes = [text for _, text in best] or [paper.title]
    return " ".join([TLDR_LEAD, *quotes]), {i for i, _ in best}


def draft_review(meta: PaperMeta, sections: list[Section], *, max_chars: int = 5000) -> ReviewBody:
    """An extractive review body of about max_chars characters, in the shape of SECTION_TITLES."""
    paper = _Paper.build(meta, sections)
    tldr, in_tldr = _tldr(paper, budget=min(400, max(120, max_chars // 8)))
    overhead = len(tldr) + sum(len(spec.title) + len(spec.lead) + 10 for spec in _SPECS)
    available = max(max_chars - overhead, 300)
    body, quoted = {}, set()
    for n, spec in enumerate(_SPECS):
        later_kinds = {kind for later in _SPECS[n + 1 :] for kind in later.kinds}
        pool, lead = _candidates(paper, spec, in_tldr, quoted, later_kinds)
        chosen = _pick(paper, pool, spec, int(spec.share * available), quoted)
        quoted.update(i for i, _ in chosen)
        empty = NO_LIMITATIONS if spec.title == SECTION_TITLES[3] else NOTHING_FOUND
        bullets = "\n".join(f"- {text}" for _, text in chosen)
        body[spec.title] = f"{lead}\n\n{bullets}" if chosen else empty
    return ReviewBody(tldr=tldr, sections=body)
