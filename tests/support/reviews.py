"""A bare stored review row for tests that need one in the database (its paper row added by the
test): `stored_review(session, "2412.06769", markdown=..., id=1)`. Every column a review must
have gets a plain value; any of them, and any other column, can be given."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from paperdigest.models import Review


def stored_review(session: Session, arxiv_id: str, *, version: int = 1, **fields: Any) -> Review:
    """A passed LLM review of `arxiv_id` vN, added and flushed (its id set)."""
    defaults: dict[str, Any] = dict(
        markdown="# A paper", body="", reviewer="llm", model="m", prompt_version="p", validation="passed"
    )
    review = Review(arxiv_id=arxiv_id, version=version, **(defaults | fields))
    session.add(review)
    session.flush()
    return review
