"""Search over titles, authors and review text, in Russian and English.

A Russian word changes its ending with case and number ("рассуждение", "рассуждения",
"рассуждений"), so each query word is cut to a stem: it matches any word that starts with
it. The stem keeps the first len-2 letters of long words (at least 4), which covers the
common endings without a morphology library. Scanning the latest review of each paper in
Python is fast enough for tens of thousands of papers; the site has its own full index.
"""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from bot import store

_WORD = re.compile(r"\w+", re.UNICODE)


def stems(query: str) -> list[str]:
    words = [w.casefold() for w in _WORD.findall(query)]
    return [w if len(w) <= 5 else w[:max(4, len(w) - 2)] for w in words if len(w) >= 2]


def matches(document: str, query_stems: list[str]) -> bool:
    words = set(_WORD.findall(document.casefold()))
    return all(any(word.startswith(stem) for word in words) for stem in query_stems)


def search_reviews(session: Session, query: str, *, limit: int = 10) -> list[tuple[str, str]]:
    """(title, arxiv id) of the newest reviews whose paper or review text matches every query word."""
    query_stems = stems(query)
    if not query_stems:
        return []
    found = []
    for review, paper in store.latest_reviews(session, limit=100_000):
        document = " ".join([paper.title, " ".join(paper.authors), paper.abstract, review.markdown])
        if matches(document, query_stems):
            found.append((paper.title, paper.arxiv_id))
            if len(found) >= limit:
                break
    return found
