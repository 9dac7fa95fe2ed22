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


def test_the_demo_pdfs_hold_their_papers_text() -> None:
    """The demo lays each bundled paper out as a PDF from its JSON: the PDF must read back as it."""
    import pypdfium2

    from paperdigest.sample.papers import load_demo_papers
    from paperdigest.sample.pdfmake import to_latin1
    from paperdigest.sample.run import paper_pdf

    papers = load_demo_papers()
    assert len(papers) == 3
    for paper in papers:
        document = pypdfium2.PdfDocument(paper_pdf(paper))
        text = " ".join(" ".join(page.get_textpage().get_text_range().split()) for page in document)
        document.close()
        for heading, body in [(paper.meta.title, ""), *paper.sections, *paper.appendix]:
            assert " ".join(to_latin1(heading).split()) in text, (paper.meta.arxiv_id, heading)
        last_words = " ".join(to_latin1(paper.sections[-1][1]).split()[-6:])
        assert last_words in text, paper.meta.arxiv_id


def test_the_demo_without_fpdf2_says_how_to_install_it(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['fpdf'] = None\n"
        "from typer.testing import CliRunner\nfrom paperdigest.cli import app\n"
        "r = CliRunner().invoke(app, ['demo', '--no-serve'])\nprint(r.exit_code, r.output)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.stdout.startswith("1 "), done.stdout + done.stderr
    assert "pip install 'paperdigest[sample]'" in done.stdout and "Traceback" not in done.stdout
