"""Real arXiv PDFs and real broken files from ../shared/corpus (not part of the repo).

Each file must give its expected outcome quickly: sections with an introduction and a
references heading for the papers, a clear error or a bounded result for the bad files.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from paperdigest.errors import PdfEncrypted, PdfNoText
from summarizer.extract import PdfExtractor
from summarizer.sections import find_references, split_sections

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
PAPERS = sorted((CORPUS / "papers").glob("*.pdf"))
TIME_LIMIT_S = 20

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(
        not CORPUS.is_dir(),
        reason=f"no corpus at {CORPUS} (it lives beside the checkout)",
    ),
]


@pytest.fixture(scope="module")
def extractor():
    with PdfExtractor(timeout_s=TIME_LIMIT_S) as ex:
        yield ex


def timed(extractor: PdfExtractor, path: Path):
    start = time.monotonic()
    result = extractor.extract(path)
    assert time.monotonic() - start < TIME_LIMIT_S
    return result


@pytest.mark.parametrize("path", PAPERS, ids=[p.name for p in PAPERS])
def test_paper_has_sections(extractor, path):
    sections = split_sections(timed(extractor, path).pages)
    kinds = [s.kind for s in sections]
    assert len(sections) >= 4
    assert "introduction" in kinds
    assert "abstract" in kinds or (kinds[0] == "front" and len(sections[0].text.split()) > 100)
    refs = find_references(sections)
    assert refs is not None and refs.title.lower() in ("references", "bibliography")
    assert kinds.index("introduction") < kinds.index("references")


def test_password_protected(extractor):
    with pytest.raises(PdfEncrypted, match="password.pdf"):
        timed(extractor, CORPUS / "bad" / "password.pdf")


def test_copy_protected_with_empty_password_extracts(extractor):
    result = timed(extractor, CORPUS / "bad" / "copy-protected.pdf")
    assert result.pages_read == 2
    assert "LayoutParser" in result.pages[0]


def test_long_manual_is_truncated_fast(extractor):
    start = time.monotonic()
    result = extractor.extract(CORPUS / "bad" / "DA-619p.pdf")
    assert time.monotonic() - start < 5
    assert (result.page_count, result.pages_read, result.truncated) == (
        619,
        extractor.max_pages,
        True,
    )


def test_empty_pages_are_empty(extractor):
    result = timed(extractor, CORPUS / "bad" / "layout-parser-paper-with-empty-pages.pdf")
    assert [bool(page.strip()) for page in result.pages] == [True, False, False, True]


def test_image_only_has_no_text(extractor):
    with pytest.raises(PdfNoText, match="image-only-no-text-layer.pdf"):
        timed(extractor, CORPUS / "bad" / "image-only-no-text-layer.pdf")
