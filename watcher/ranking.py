"""Ranking candidates by relevance to WATCH_INTEREST: a cheap LLM call per batch, or TF-IDF.

The LLM sees titles and abstracts only (templates/prompts/rank.j2) and answers
JSON scores 0–10 with a reason; the answer is parsed defensively (code fences, prose around the JSON, a
reply cut short, ids as numbers or strings). Whatever the LLM did not score — a failed
call, a missing entry — gets the TF-IDF score, so every candidate always has one.

The channel's taste (watcher/taste.py: posts readers reacted to more than usual) enters both:
TF-IDF adds the similarity to the liked posts taken as one weighted query (TASTE_WEIGHT), and
the LLM prompt lists a few titles readers liked and a few they ignored. Either way a
candidate close to a liked post names it («похожа на понравившуюся: …»), which /candidates shows.

TF-IDF is hand-written (40 lines of the standard library) rather than scikit-learn: the
corpus is a few hundred abstracts, and numpy plus scipy would be the largest dependency of
the project for one cosine similarity.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from paperdigest.errors import PaperdigestError
from summarizer.llm import Completion, LlmClient
from summarizer.prompts import PROMPTS_DIR

log = logging.getLogger(__name__)
ABSTRACT_CHARS = 1200  # enough to judge relevance; keeps a batch of 25 under ~9k tokens
REASON_CHARS = 200
OUTPUT_TOKENS_PER_ITEM = 60
TASTE_WEIGHT = 1.0  # the liked posts' query counts as much as WATCH_INTEREST
LIKED_MIN = 0.1  # the cosine to a liked post from which the reason names it
EXAMPLE_CHARS = 120
EXAMPLES = 3  # liked and ignored titles shown to the ranking LLM
_WORD = re.compile(r"[^\W\d_]{3,}")
STOPWORDS = frozenset(
    """
the and for with that this from are our can not but its has have been which their these
those into over such than then they them using used use via new also may more most both
each other only show shows shown paper propose proposed approach method methods results
based while where when what how does well however two three one work first model models
""".split()
)
_LIST_KEYS = ("scores", "papers", "items", "results", "ranking", "ratings")


@dataclass(frozen=True)
class Item:
    key: str  # the arXiv id
    title: str
    abstract: str


@dataclass(frozen=True)
class Score:
    score: float  # 0…10
    reason: str
    ranker: str  # "tfidf" or "llm:<model>"
    liked: str = ""  # the title of the liked post it is closest to, if close

    @property
    def explained(self) -> str:
        """The reason, with the liked post it resembles."""
        like = f"похожа на понравившуюся: «{self.liked}»" if self.liked else ""
        return " · ".join(part for part in (self.reason, like) if part)


@dataclass(frozen=True)
class Taste:
    """What the channel's readers liked (watcher/taste.py reads it from their reactions)."""

    liked: tuple[tuple[Item, float], ...] = ()  # (paper, weight > 0), most liked first
    ignored: tuple[Item, ...] = ()  # at or below the median, fewest reactions first
    median: float = 0.0

    def __bool__(self) -> bool:
        return bool(self.liked)

    def examples(self) -> tuple[list[str], list[str]]:
        """A few titles of liked and of ignored posts, for the LLM prompt."""
        return [i.title for i, _ in self.liked[:EXAMPLES]], [i.title for i in self.ignored[:EXAMPLES]]


# --- TF-IDF ---------------------------------------------------------------------------------


def terms(text: str) -> list[str]:
    words = (w.lower() for w in _WORD.findall(text))
    # A light plural fold ("transformers" ~ "transformer") without a stemmer dependency.
    return [
        w[:-1] if len(w) > 4 and w.endswith("s") and not w.endswith("ss") else w for w in words if w not in STOPWORDS
    ]


def _vector(counts: Counter[str], idf: dict[str, float]) -> dict[str, float]:
    weights = {t: (1 + math.log(c)) * idf[t] for t, c in counts.items()}
    norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
    return {t: w / norm for t, w in weights.items()}


def _idf(docs: Sequence[Counter[str]]) -> dict[str, float]:
    frequency = Counter(t for doc in docs for t in doc)
    return {t: math.log((len(docs) + 1) / (df + 1)) + 1 for t, df in frequency.items()}


def _dot(a: dict[str, float], b: dict[str, float]) -> float:
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    return sum(w * large[t] for t, w in small.items() if t in large)


def _document(item: Item) -> Counter[str]:
    return Counter(terms(f"{item.title} {item.title} {item.abstract}"))  # the title counts twice


def tfidf_scores(interest: str, items: Sequence[Item], taste: Taste | None = None) -> dict[str, Score]:
    """Cosine similarity of each item to the interest text, plus TASTE_WEIGHT × its similarity
    to the liked posts' weighted query; scaled to 0…10."""
    docs = [_document(i) for i in items]
    query = Counter(terms(interest))
    liked = [(_document(item), weight) for item, weight in (taste.liked if taste else ())]
    idf = _idf([*docs, query, *(doc for doc, _ in liked)])
    wanted = _vector(query, idf)
    posts = [(_vector(doc, idf), weight) for doc, weight in liked]
    pulled = _weighted_query(posts)
    scores = {}
    for item, doc in zip(items, docs):
        vector = _vector(doc, idf)
        shared = sorted(((vector[t] * wanted[t], t) for t in vector.keys() & wanted.keys()), reverse=True)
        similarity = sum(part for part, _ in shared) + TASTE_WEIGHT * _dot(vector, pulled)
        reason = (
            ("близко к интересам: " + ", ".join(t for _, t in shared[:3])) if shared else "нет общих слов с интересами"
        )
        scores[item.key] = Score(round(10 * min(1.0, similarity), 3), reason, "tfidf", _closest(vector, posts, taste))
    return scores


def _weighted_query(posts: Sequence[tuple[dict[str, float], float]]) -> dict[str, float]:
    """The liked posts' vectors summed by weight, normalised: one query for the channel's taste."""
    summed: dict[str, float] = {}
    for vector, weight in posts:
        for t, w in vector.items():
            summed[t] = summed.get(t, 0.0) + weight * w
    norm = math.sqrt(sum(w * w for w in summed.values())) or 1.0
    return {t: w / norm for t, w in summed.items()}


def _closest(vector: dict[str, float], posts: Sequence[tuple[dict[str, float], float]], taste: Taste | None) -> str:
    if not posts or taste is None:
        return ""
    similarities = [_dot(vector, post) for post, _ in posts]
    best = max(range(len(posts)), key=lambda n: (similarities[n], -n))  # a tie: the more liked
    return _cut(" ".join(taste.liked[best][0].title.split()), EXAMPLE_CHARS) if similarities[best] >= LIKED_MIN else ""


# --- the LLM prompt and its answer ----------------------------------------------------------


@lru_cache(maxsize=4)
def _environment(directory: Path) -> Environment:
    return Environment(
        loader=FileSystemLoader(directory), undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
    )


def rank_messages(
    interest: str, items: Sequence[Item], taste: Taste | None = None, directory: Path = PROMPTS_DIR
) -> list[dict[str, str]]:
    shown = [Item(i.key, " ".join(i.title.split()), _cut(" ".join(i.abstract.split()), ABSTRACT_CHARS)) for i in items]
    liked, ignored = taste.examples() if taste else ([], [])
    text = (
        _environment(directory)
        .get_template("rank.j2")
        .render(
            interest=interest.strip(),
            items=shown,
            liked=[_cut(" ".join(t.split()), EXAMPLE_CHARS) for t in liked],
            ignored=[_cut(" ".join(t.split()), EXAMPLE_CHARS) for t in ignored],
        )
    )
    return [{"role": "user", "content": text.strip()}]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def _json_value(text: str) -> object | None:
    """The first JSON object or array in `text` (fences and prose around it ignored)."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"[\[{]", text):
        try:
            return decoder.raw_decode(text, match.start())[0]
        except json.JSONDecodeError:
            continue
    return None


def _entries(value: object) -> list[dict]:
    if isinstance(value, dict):
        for key in _LIST_KEYS:
            if isinstance(value.get(key), list):
                return [e for e in value[key] if isinstance(e, dict)]
        # {"1": 7, "2": {"score": 3, ...}}: a mapping from id to score
        return [{"id": k, **(v if isinstance(v, dict) else {"score": v})} for k, v in value.items()]
    if isinstance(value, list):
        return [e for e in value if isinstance(e, dict)]
    return []


_LOOSE = re.compile(
    r'"id"\s*:\s*"?(?P<id>[\w./-]+)"?\s*,\s*"score"\s*:\s*"?(?P<score>-?\d+(?:\.\d+)?)'
    r'(?:"?\s*,\s*"reason"\s*:\s*"(?P<reason>(?:[^"\\]|\\.)*))?'
)


def parse_scores(text: str, items: Sequence[Item], ranker: str) -> dict[str, Score]:
    """Scores the answer gives, keyed by arXiv id; entries that cannot be read are left out."""
    # A reply cut mid-JSON does not parse as a whole: the entries before the cut are read one by one.
    entries = _entries(_json_value(text)) + [m.groupdict() for m in _LOOSE.finditer(text)]
    found: dict[str, Score] = {}
    for entry in entries:
        item = _item_for(entry, items)
        score = _number(entry.get("score", entry.get("relevance", entry.get("rating"))))
        if item is None or score is None or item.key in found:
            continue
        reason = " ".join(str(entry.get("reason") or "").split())[:REASON_CHARS]
        found[item.key] = Score(min(10.0, max(0.0, score)), reason, ranker)
    return found


def _item_for(entry: dict, items: Sequence[Item]) -> Item | None:
    raw = str(entry.get("id", entry.get("n", entry.get("index", entry.get("arxiv_id", ""))))).strip("[] ")
    if raw.isdigit() and 1 <= int(raw) <= len(items):
        return items[int(raw) - 1]
    return next((i for i in items if raw and raw.split("v")[0] == i.key), None)


def _number(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


# --- ranking a day's candidates -------------------------------------------------------------

OnUsage = Callable[[Completion], None]


class Ranker:
    """LLM scores per batch when an LLM is given, TF-IDF for the rest."""

    def __init__(
        self, interest: str, llm: LlmClient | None = None, *, batch: int = 25, on_usage: OnUsage | None = None
    ) -> None:
        self.interest = interest
        self.llm = llm if interest.strip() else None  # nothing to judge against: TF-IDF's zeros
        self.batch = max(1, batch)
        self.on_usage = on_usage

    async def rank(self, items: Sequence[Item], taste: Taste | None = None) -> dict[str, Score]:
        scores: dict[str, Score] = {}
        async for batch_scores in self.rank_batches(items, taste):
            scores.update(batch_scores)
        return scores

    async def rank_batches(self, items: Sequence[Item], taste: Taste | None = None) -> AsyncIterator[dict[str, Score]]:
        """Every item's score, one LLM batch at a time, so a caller can store each batch
        before the next call (a restart then ranks only the rest). TF-IDF, the fallback,
        is computed over all the items at once: its weights depend on the whole set."""
        fallback = tfidf_scores(self.interest, items, taste)
        if self.llm is None:
            yield fallback
            return
        for start in range(0, len(items), self.batch):
            batch = items[start : start + self.batch]
            scores = await self._llm_batch(self.llm, batch, taste)
            yield {i.key: _with_liked(scores.get(i.key), fallback[i.key]) for i in batch}

    async def _llm_batch(self, llm: LlmClient, batch: Sequence[Item], taste: Taste | None) -> dict[str, Score]:
        try:
            completion = await llm.complete(rank_messages(self.interest, batch, taste))
        except PaperdigestError as err:  # ranking must not stop the round: TF-IDF takes over
            log.warning("ranking %d candidate(s) by LLM failed, using TF-IDF: %s", len(batch), err)
            return {}
        if self.on_usage:
            self.on_usage(completion)
        scores = parse_scores(completion.text, batch, f"llm:{completion.model}")
        if len(scores) < len(batch):
            log.warning("the ranking LLM scored %d of %d candidate(s); TF-IDF for the rest", len(scores), len(batch))
        return scores


def _with_liked(score: Score | None, fallback: Score) -> Score:
    """The LLM's score with the liked post TF-IDF found it close to; TF-IDF's where the LLM gave none."""
    if score is None:
        return Score(fallback.score, f"LLM не оценила; {fallback.reason}", fallback.ranker, fallback.liked)
    return Score(score.score, score.reason, score.ranker, fallback.liked)
