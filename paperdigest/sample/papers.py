"""The demo papers: arXiv metadata plus a condensed, paper-like body we wrote ourselves.

Each `papers/<arxiv id>.json` holds the real arXiv metadata (CC0) and a retelling of the
paper in its own voice — sections, references, appendix — with the real mechanism and
numbers. The offline demo lays them out as PDFs (pdfmake.py), serves and reviews them
without network access.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from paperdigest.records import PaperMeta, Section

PAPERS_DIR = Path(__file__).parent / "papers"

_HEADING = re.compile(r"^(?P<number>[A-Z]|\d+(?:\.\d+)*)\s+(?P<name>.+)$")
_KIND_WORDS = (  # first match wins, looked up in the lower-cased heading
    ("introduction", "introduction"),
    ("related", "related"),
    ("background", "background"),
    ("limitation", "limitations"),
    ("conclusion", "conclusion"),
    ("discussion", "discussion"),
    ("experiment", "experiments"),
    ("evaluation", "experiments"),
    ("result", "results"),
    ("analysis", "results"),
    ("method", "method"),
    ("model", "method"),
    ("training", "method"),
    ("internalization", "method"),
    ("acknowledg", "acknowledgments"),
    ("reference", "references"),
)


@dataclass(frozen=True)
class DemoPaper:
    meta: PaperMeta
    sections: list[tuple[str, str]]  # (heading as printed, text with blank lines between paragraphs)
    references: list[str]
    appendix: list[tuple[str, str]]

    def to_sections(self) -> list[Section]:
        """The paper as `Section`s, as a section cutter would find them in its PDF."""
        parts = [Section("Abstract", "abstract", self.meta.abstract)]
        kind = "other"
        for heading, text in self.sections:
            number, name = _split_heading(heading)
            if number is None or "." not in number or _kind_of(name) != "other":
                kind = _kind_of(name)  # a subsection without its own kind keeps its parent's
            parts.append(Section(heading, kind, text, number))
        parts.append(Section("References", "references", "\n".join(self.references)))
        parts.extend(Section(h, "appendix", t, _split_heading(h)[0]) for h, t in self.appendix)
        return parts


def _split_heading(heading: str) -> tuple[str | None, str]:
    match = _HEADING.match(heading.strip())
    return (match["number"], match["name"]) if match else (None, heading.strip())


def _kind_of(name: str) -> str:
    lowered = name.lower()
    return next((kind for word, kind in _KIND_WORDS if word in lowered), "other")


def _date(value: str) -> datetime | None:
    return datetime.fromisoformat(value).replace(tzinfo=UTC) if value else None


def load_demo_paper(path: Path) -> DemoPaper:
    data = json.loads(path.read_text(encoding="utf-8"))
    meta = PaperMeta(
        arxiv_id=data["arxiv_id"],
        version=data["version"],
        title=data["title"],
        authors=list(data["authors"]),
        abstract=data["abstract"],
        categories=list(data["categories"]),
        primary_category=data["primary_category"],
        comment=data["comment"],
        journal_ref=data["journal_ref"],
        doi=data["doi"],
        published=_date(data["published"]),
        updated=_date(data["updated"]),
        pdf_url=f"https://arxiv.org/pdf/{data['arxiv_id']}v{data['version']}",
    )
    return DemoPaper(
        meta=meta,
        sections=[(heading, text) for heading, text in data["sections"]],
        references=list(data["references"]),
        appendix=[(heading, text) for heading, text in data["appendix"]],
    )


def load_demo_papers() -> list[DemoPaper]:
    """Every demo paper, ordered by arXiv id."""
    return [load_demo_paper(path) for path in sorted(PAPERS_DIR.glob("*.json"))]
