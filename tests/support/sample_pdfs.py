"""Writes the offline demo's PDFs (paperdigest/sample/papers/<id>.pdf) from their JSON.

The demo ships them as built files, so the product needs no PDF library at run time; run
`make sample-pdfs` after editing a paper's JSON (tests/test_sample.py checks they agree).
"""

from __future__ import annotations

from paperdigest.sample.papers import PAPERS_DIR, DemoPaper, load_demo_papers
from tests.support.pdfmake import write_paper_pdf


def sample_pdf(paper: DemoPaper) -> bytes:
    return write_paper_pdf(
        paper.meta.title,
        paper.meta.authors,
        paper.sections,
        abstract=paper.meta.abstract,
        references=paper.references,
        appendix=paper.appendix,
    )


def main() -> None:
    for paper in load_demo_papers():
        path = PAPERS_DIR / f"{paper.meta.arxiv_id}.pdf"
        path.write_bytes(sample_pdf(paper))
        print(f"{path}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
