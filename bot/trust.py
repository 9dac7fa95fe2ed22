"""What a Telegram reader is told about a review's numbers: the header's count and the warning.

    for_telegram(review, header, to_requester=…)
                                           the Markdown the relay renders: the header built from
                                           the paper's row (`paper_header`), as the site builds
                                           its own, then the review's notes and body, with
                                           «Проверено по тексту статьи: N из M чисел» as the
                                           header's last line (every review with a grounding
                                           record), and for a requester of a review that failed
                                           the check, the warning quoted under the header (unless the pipeline's
                                           notes in the Markdown carry it already).

A failed review reaches the channel only once an admin approves it (`/approve`); until then
it goes only to those who asked, warned. The warning names only the suspect numbers
(`Grounding.warning_ru`); a failed review without a grounding record (stored before the
check) gets a general one. The pipeline's own failure note in the Markdown («Рецензия не прошла
автоматическую проверку: …» — in English problems for reviews stored before the number check)
is cut here: in Telegram the warning takes its place for requesters, and a post an admin
approved carries the count line only. Pure: the relay does the I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.post_edit import with_note
from demos.registry import demo_url
from paperdigest import repo
from paperdigest.models import Paper, Review
from paperdigest.records import PaperMeta
from summarizer.grounding import Grounding, may_post_automatically
from summarizer.review_format import compose_review

GENERIC_WARNING = "⚠️ Рецензия не прошла автоматическую проверку: прочтите её критически, числа сверьте со статьёй."
_FAILURE_NOTE = "> Рецензия не прошла автоматическую проверку"  # the pipeline's note, old (English) or new


@dataclass(frozen=True)
class PaperHeader:
    """What the review's header shows, read from the paper's row when the review is shown."""

    meta: PaperMeta
    code_url: str | None = None
    demo_url: str | None = None


def paper_header(paper: Paper, version: int, *, site_url: str, data_dir: Path) -> PaperHeader:
    return PaperHeader(repo.paper_meta(paper, version), paper.code_url, demo_url(site_url, data_dir, paper.arxiv_id))


def grounding_of(review: Review) -> Grounding | None:
    return Grounding.from_json(review.grounding)


def warning(review: Review) -> str | None:
    """The requester's warning, or None when the review may be posted as it is."""
    if may_post_automatically(review.validation, review.moderation):
        return None
    grounding = grounding_of(review)
    if grounding is not None and grounding.suspects:
        return grounding.warning_ru()
    return GENERIC_WARNING


def suspect_numbers(review: Review) -> list[str]:
    grounding = grounding_of(review)
    return list(dict.fromkeys(n.plain for n in grounding.suspects)) if grounding else []


def review_markdown(review: Review, header: PaperHeader | None) -> str:
    """The review as Telegram shows it, failure note cut; from the stored Markdown only for a
    review without a body (none are stored so now) or a paper without a row."""
    if header is None or not review.body:
        return without_failure_note(review.markdown)
    notes = [note for note in review.notes or [] if not f"> {note}".startswith(_FAILURE_NOTE)]
    return compose_review(header.meta, review.body, code_url=header.code_url, demo_url=header.demo_url, notes=notes)


def for_telegram(review: Review, header: PaperHeader | None = None, *, to_requester: bool) -> str:
    markdown = review_markdown(review, header)
    grounding = grounding_of(review)
    if grounding is not None and grounding.checked:
        markdown = with_header_line(markdown, grounding.header_line())
    note = warning(review) if to_requester else None
    if note and not _says_already(markdown, note):
        markdown = with_note(markdown, note)
    return markdown


def _says_already(markdown: str, note: str) -> bool:
    """The pipeline's notes (in the Markdown, for every reader) may carry the warning already."""
    text = " ".join(markdown.split())
    return " ".join(note.split()) in text


def with_header_line(markdown: str, line: str) -> str:
    """`line` as the last line of the header (the paragraph of authors and links under the title)."""
    parts = markdown.split("\n\n", 2)
    if len(parts) < 2 or not parts[0].startswith("# "):
        return f"{line}\n\n{markdown}"
    parts[1] = f"{parts[1].rstrip()}  \n{line}"
    return "\n\n".join(parts)


def without_failure_note(markdown: str) -> str:
    if _FAILURE_NOTE not in markdown:
        return markdown
    kept = [line for line in markdown.split("\n") if not line.startswith(_FAILURE_NOTE)]
    return "\n".join(kept).replace("\n\n\n\n", "\n\n")
