"""Plain records passed between pipeline steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class PaperMeta:
    """What arXiv's API says about one version of a paper."""

    arxiv_id: str  # without version: "2412.06769", "hep-th/9901001"
    version: int  # the latest version arXiv reports (or the one asked for)
    title: str
    authors: list[str]
    abstract: str
    categories: list[str] = field(default_factory=list)
    primary_category: str = ""
    comment: str = ""
    journal_ref: str = ""
    doi: str = ""
    published: datetime | None = None
    updated: datetime | None = None
    pdf_url: str | None = None  # None: arXiv lists no PDF (withdrawn)

    @property
    def versioned_id(self) -> str:
        return f"{self.arxiv_id}v{self.version}"

    @property
    def abs_url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}"


@dataclass(frozen=True)
class Section:
    """One part of a paper's text, as cut by `summarizer.sections`."""

    title: str  # the heading as printed ("3.1 Continuous thoughts"); "" before the first heading
    kind: str  # one of SECTION_KINDS
    text: str
    number: str | None = None  # "3.1", "A", or None for unnumbered headings


SECTION_KINDS = (
    "front",  # title, authors, affiliations: text before the first heading
    "abstract",
    "introduction",
    "related",
    "background",
    "method",
    "experiments",
    "results",
    "discussion",
    "limitations",
    "conclusion",
    "acknowledgments",
    "references",
    "appendix",
    "other",
)
