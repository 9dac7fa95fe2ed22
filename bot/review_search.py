"""Search over titles, authors and review text, in Russian and English.

A Russian word changes its ending with case and number ("рассуждение", "рассуждения",
"рассуждений"), so each query word is cut to a stem: it matches any word that starts with
it. The stem keeps the first len-2 letters of long words (at least 4), which covers the
common endings without a morphology library. The latest review of each paper (not one an admin dropped) is scanned in
Python, streamed from the database in chunks (bench/memory.py: loading all 10,000 reviews at
once cost the bot 240 MB); the site has its own full index.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.store import not_dropped
from paperdigest.models import Paper, Review

_WORD = re.compile(r"\w+", re.UNICODE)


def stems(query: str) -> list[str]:
    words = [w.casefold() for w in _WORD.findall(query)]
    return [w if len(w) <= 5 else w[: max(4, len(w) - 2)] for w in words if len(w) >= 2]


def matches(document: str, query_stems: list[str]) -> bool:
    words = set(_WORD.findall(document.casefold()))
    return all(any(word.startswith(stem) for word in words) for stem in query_stems)


def search_reviews(session: Session, query: str, *, limit: int = 10) -> list[tuple[str, str]]:
    """(title, arxiv id) of the newest reviews whose paper or review text matches every query word.
    A review an admin dropped is not searched: each paper's newest other review is."""
    query_stems = stems(query)
    if not query_stems:
        return []
    newest = select(func.max(Review.id).label("review_id")).where(not_dropped()).group_by(Review.arxiv_id).subquery()
    rows = session.execute(
        select(Paper.title, Paper.arxiv_id, Paper.authors, Paper.abstract, Review.body)
        .join(Review, Review.arxiv_id == Paper.arxiv_id)
        .join(newest, Review.id == newest.c.review_id)
        .order_by(Review.created_at.desc())
        .execution_options(yield_per=200)
    )
    found = []
    for title, arxiv_id, authors, abstract, body in rows:
        if matches(" ".join([title, " ".join(authors or []), abstract or "", body]), query_stems):
            found.append((title, arxiv_id))
            if len(found) >= limit:
                break
    return found
