"""`paperdigest demo` end to end, offline: the bundled papers through the real pipeline over HTTP."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from paperdigest.cli import app


def test_demo_reviews_the_bundled_papers_offline(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--no-serve"], env={"OPENAI_API_KEY": "sk-must-not-be-used"})
    assert result.exit_code == 0, result.output
    for arxiv_id in ("2412.06769", "2405.14838", "1706.03762"):
        assert f"{arxiv_id} — offline, draft" in result.stdout
        assert list((tmp_path / "data" / "demo" / "posts").glob(f"{arxiv_id}v*.txt")), arxiv_id
    assert "Черновик без LLM" in result.stdout and "sk-must-not-be-used" not in result.stdout


def test_the_shipped_sample_pdfs_hold_their_papers_text() -> None:
    """The demo's PDFs are built files (made from the JSON by `make sample-pdfs`): they must
    not drift from the JSON a paper's text is edited in."""
    import pypdfium2

    from paperdigest.sample.papers import load_demo_papers
    from tests.support.pdfmake import to_latin1

    papers = load_demo_papers()
    assert len(papers) == 3
    for paper in papers:
        document = pypdfium2.PdfDocument(paper.pdf_path.read_bytes())
        text = " ".join(" ".join(page.get_textpage().get_text_range().split()) for page in document)
        document.close()
        for heading, body in [(paper.meta.title, ""), *paper.sections, *paper.appendix]:
            assert " ".join(to_latin1(heading).split()) in text, (paper.meta.arxiv_id, heading)
        last_words = " ".join(to_latin1(paper.sections[-1][1]).split()[-6:])
        assert last_words in text, (paper.meta.arxiv_id, "run `make sample-pdfs` after editing the JSON")
