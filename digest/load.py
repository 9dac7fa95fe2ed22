"""What the site shows, read from the database: one `Entry` per paper with its latest review.

The review bodies and number checks (the large columns) are not read here: a build reads
only those of the pages it has to render (`load_texts`, and `load_check_lines` for the cards of
the list pages it renders), so an incremental build of a large site stays cheap. Everything a page shows except those is in the Entry, and `Entry.stamp`
names the state of a paper and its review in a few characters, for the build's page keys.

A review an admin dropped (`Review.moderation == "dropped"`) is never published: the paper
shows its latest review that was not dropped, and a paper with no other review is left out.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

from sqlalchemy import LargeBinary, Text, cast, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from digest import paths
from paperdigest.models import Paper, Review
from summarizer.grounding import Grounding
from summarizer.review_format import format_authors
from summarizer.validate import strip_foreign_links

log = logging.getLogger(__name__)

BODY_QUERY_CHUNK = 500  # ids per IN (...) clause, below SQLite's variable limit
DROPPED = "dropped"  # Review.moderation of a failed review an admin refused


@dataclass(eq=False)  # not frozen: a frozen dataclass's __init__ costs 3× more, 10,000 times a build
class Entry:
    arxiv_id: str
    title: str
    authors_json: str | list  # decoded on first use: most builds render few pages
    abstract: str
    categories: tuple[str, ...]
    published: datetime | None
    updated: datetime | None
    latest_version: int
    withdrawn: bool
    code_url: str | None
    paper_changed: datetime
    review_id: int
    version: int
    tldr: str
    reviewer: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    notes_json: str | list
    validation: str
    problems_json: str | list
    reviewed_at: datetime
    first_reviewed_at: datetime
    body_chars: int
    moderation: str | None = None  # "waiting", "approved" (failed reviews), None
    grounding_chars: int = 0  # the stored size of the number check's record; 0 without one

    @cached_property
    def authors(self) -> tuple[str, ...]:
        return _strings(self.authors_json)

    @cached_property
    def notes(self) -> tuple[str, ...]:
        return _strings(self.notes_json)

    @cached_property
    def problems(self) -> tuple[str, ...]:
        # Published on the paper page: a problem quoting a foreign link must not carry it there.
        return tuple(strip_foreign_links(problem, self.code_url) for problem in _strings(self.problems_json))

    @cached_property
    def path(self) -> str:
        return paths.paper_path(self.arxiv_id)

    @property
    def authors_line(self) -> str:
        return format_authors(list(self.authors))

    @property
    def month(self) -> str:
        """The archive month: when the paper first appeared on the site."""
        return self.first_reviewed_at.strftime("%Y-%m")

    @property
    def newer_version(self) -> bool:
        return self.latest_version > self.version

    @cached_property
    def stamp(self) -> str:
        # Reviews are append-only (a new review is a new row), so the review id and the size of
        # its body name its text, the size of its check record the record; an admin's decision
        # changes `moderation` in place. The paper row's updated_at moves with any metadata change.
        return (
            f"{self.review_id}:{self.body_chars}:{self.grounding_chars}:{self.moderation}:"
            f"{self.paper_changed.isoformat()}:{self.latest_version}:{int(self.withdrawn)}"
        )


def _strings(value: str | list | None) -> tuple[str, ...]:
    # JSON columns are read as text (decoding 40,000 of them per build costs more than the build).
    items = json.loads(value) if isinstance(value, str) else value
    return tuple(str(item) for item in items or ())


def _time(value: datetime | str | None) -> datetime | None:
    """Datetime columns are read as text on SQLite (SQLAlchemy's parser is slow); stored times are UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _latest_reviews():  # -> a subquery: each paper's newest published review and its first review time
    ranked = (
        select(
            Review.id.label("review_id"),
            Review.arxiv_id,
            func.row_number()
            .over(partition_by=Review.arxiv_id, order_by=(Review.created_at.desc(), Review.id.desc()))
            .label("rank"),
            func.min(Review.created_at).over(partition_by=Review.arxiv_id).label("first_reviewed_at"),
        )
        .where(or_(Review.moderation.is_(None), Review.moderation != DROPPED))
        .subquery()
    )
    return select(ranked.c.review_id, ranked.c.first_reviewed_at).where(ranked.c.rank == 1).subquery()


def _stored_size(session: Session, column):  # -> a SQL expression
    # SQLite's length() of text counts characters, reading all 10,000 bodies; of a blob it is the
    # stored size, about five times cheaper. Any size works: it only has to change with the text.
    if session.get_bind().dialect.name == "sqlite":
        return func.length(cast(column, LargeBinary))
    return func.octet_length(cast(column, Text))


def load_entries(session: Session) -> list[Entry]:
    """Every reviewed paper with its latest review, in the site's order: newest paper first.

    A paper keeps its place (the time of its first review) when it is reviewed again, so a
    re-review rewrites the one list page that shows it instead of shifting every page.
    """
    latest = _latest_reviews()
    raw = [
        type_coerce(column, Text)
        for column in (
            Paper.authors,
            Paper.categories,
            Paper.published,
            Paper.updated,
            Paper.updated_at,
            Review.notes,
            Review.problems,
            Review.created_at,
        )
    ]
    query = (
        select(
            Paper.arxiv_id,
            Paper.title,
            raw[0],
            Paper.abstract,
            raw[1],
            raw[2],
            raw[3],
            Paper.latest_version,
            Paper.withdrawn,
            Paper.code_url,
            raw[4],
            Review.id,
            Review.version,
            Review.tldr,
            Review.reviewer,
            Review.model,
            Review.prompt_tokens,
            Review.completion_tokens,
            raw[5],
            Review.validation,
            raw[6],
            raw[7],
            latest.c.first_reviewed_at,
            _stored_size(session, Review.body),
            Review.moderation,
            _stored_size(session, Review.grounding),
        )
        .join(latest, latest.c.review_id == Review.id)
        .join(Paper, Paper.arxiv_id == Review.arxiv_id)
    )
    # Core execution: the ORM's row machinery would cost more than the query.
    entries = [_entry(row) for row in session.connection().execute(query)]
    entries.sort(key=lambda e: (e.first_reviewed_at, e.arxiv_id), reverse=True)
    return entries


def _entry(row) -> Entry:  # type: ignore[no-untyped-def]
    (
        arxiv_id,
        title,
        authors,
        abstract,
        categories,
        published,
        updated,
        latest_version,
        withdrawn,
        code_url,
        paper_changed,
        review_id,
        version,
        tldr,
        reviewer,
        model,
        prompt_tokens,
        completion_tokens,
        notes,
        validation,
        problems,
        reviewed_at,
        first_reviewed_at,
        body_chars,
        moderation,
        grounding_chars,
    ) = row
    return Entry(
        arxiv_id=arxiv_id,
        title=title,
        authors_json=authors,
        abstract=abstract or "",
        categories=tuple(dict.fromkeys(_strings(categories))),
        published=_time(published),
        updated=_time(updated),
        latest_version=latest_version or 1,
        withdrawn=bool(withdrawn),
        code_url=code_url,
        paper_changed=_time(paper_changed),
        review_id=review_id,
        version=version,
        tldr=tldr or "",
        reviewer=reviewer,
        model=model,
        prompt_tokens=prompt_tokens or 0,
        completion_tokens=completion_tokens or 0,
        notes_json=notes,
        validation=validation,
        problems_json=problems,
        reviewed_at=_time(reviewed_at),
        first_reviewed_at=_time(first_reviewed_at),
        body_chars=body_chars or 0,
        moderation=moderation,
        grounding_chars=grounding_chars or 0,
    )


@dataclass(frozen=True)
class ReviewText:
    body: str  # the TL;DR and sections, Markdown
    grounding: Grounding | None  # where each number comes from; None before the check


def load_texts(session: Session, review_ids: Iterable[int]) -> dict[int, ReviewText]:
    """The review bodies and their number checks, for the given reviews."""
    ids = sorted(set(review_ids))
    texts: dict[int, ReviewText] = {}
    for start in range(0, len(ids), BODY_QUERY_CHUNK):
        chunk = ids[start : start + BODY_QUERY_CHUNK]
        query = select(Review.id, Review.body, Review.grounding).where(Review.id.in_(chunk))
        for review_id, body, grounding in session.execute(query):
            texts[review_id] = ReviewText(body, _grounding(review_id, grounding))
    return texts


def load_check_lines(session: Session, review_ids: Iterable[int]) -> dict[int, str]:
    """The number check's line for the lists' cards («Проверено по тексту статьи: 23 из 23 чисел»),
    for those of the given reviews whose record has numbers: only the records are read."""
    ids = sorted(set(review_ids))
    lines: dict[int, str] = {}
    for start in range(0, len(ids), BODY_QUERY_CHUNK):
        query = select(Review.id, Review.grounding).where(Review.id.in_(ids[start : start + BODY_QUERY_CHUNK]))
        for review_id, record in session.execute(query):
            grounding = _grounding(review_id, record)
            if grounding is not None and grounding.checked:
                lines[review_id] = grounding.header_line()
    return lines


def _grounding(review_id: int, record: dict | None) -> Grounding | None:
    # A record this code cannot read (written by a newer version, edited by hand) must not stop
    # the build: that page shows the review as it did before the check.
    try:
        return Grounding.from_json(record)
    except (TypeError, ValueError, AttributeError, KeyError) as err:
        log.warning("review %d: number check record unreadable (%r); its page shows no sources", review_id, err)
        return None
