"""PdfExtractor against PDFs made here: normal, encrypted, broken, huge and hostile ones."""

from __future__ import annotations

import io
import os
import random
import threading
import time
import zipfile

import pytest
from fpdf import FPDF
from hypothesis import given
from hypothesis import strategies as st

from paperdigest.errors import PdfCorrupt, PdfEncrypted, PdfExtractionFailed, PdfNoText
from paperdigest.sample import pdfmake
from summarizer.extract import ExtractedText, PdfExtractor
from tests.support.pdfs import LINE, bomb_stream, pdf_of_pages, text_stream


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        line = next(x for x in status if x.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def extractor():
    with PdfExtractor(timeout_s=20) as ex:
        yield ex


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory):
    """name → path of the test PDFs, made once for the module."""
    folder = tmp_path_factory.mktemp("pdfs")
    paper = pdfmake.sample_paper_pdf()

    def encrypted(user_password: str | None) -> bytes:
        pdf = pdfmake.build_paper_pdf(
            pdfmake.SAMPLE_TITLE,
            pdfmake.SAMPLE_AUTHORS,
            pdfmake.SAMPLE_SECTIONS,
            abstract=pdfmake.SAMPLE_ABSTRACT,
        )
        pdf.set_encryption(owner_password="owner-secret", user_password=user_password)
        return bytes(pdf.output())

    shapes = FPDF()
    shapes.add_page()
    for i in range(20):
        shapes.rect(10 + 5 * i, 10 + 7 * i, 40, 20, style="F" if i % 2 else "D")
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("paper.txt", LINE * 100)
    files = {
        "paper.pdf": paper,
        "password.pdf": encrypted("reader-secret"),
        "empty-password.pdf": encrypted(None),
        "shapes-only.pdf": bytes(shapes.output()),
        "truncated.pdf": paper[: len(paper) // 2],
        "zip.pdf": zipped.getvalue(),
        "random.pdf": random.Random(7).randbytes(50_000),
        "empty.pdf": b"",
        "5000-pages.pdf": pdf_of_pages([text_stream(f"{LINE} Page {n}.") for n in range(5000)]),
        "bomb.pdf": pdf_of_pages([bomb_stream(500), text_stream(LINE)]),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {name: folder / name for name in files}


# --- outcomes ---------------------------------------------------------------------------


def test_normal_paper(extractor, pdfs):
    result = extractor.extract(pdfs["paper.pdf"])
    assert isinstance(result, ExtractedText)
    assert result.page_count == result.pages_read == len(result.pages) >= 1
    assert not result.truncated
    text = "\n".join(result.pages)
    assert pdfmake.SAMPLE_TITLE in " ".join(text.split())  # the title wraps onto two lines
    assert "\n1 Introduction\n" in text and "\nReferences\n" in text
    assert not any(c in text for c in "\r\x00\ufffe")


def test_same_input_gives_same_bytes():
    assert pdfmake.sample_paper_pdf() == pdfmake.sample_paper_pdf()


def test_any_text_can_be_written():
    nasty = "—–“”‘’…αβγΩ≤≥∑√∞→中文😀\x00\x07\ufffe e\u0301 ﬁ"
    data = pdfmake.write_paper_pdf(
        nasty,
        [nasty],
        [(f"1 {nasty}", nasty)],
        abstract=nasty,
        references=[nasty],
        appendix=[(f"A {nasty}", nasty)],
    )
    assert data.startswith(b"%PDF")


@pytest.mark.parametrize(
    ("entry", "printed"),
    [
        ("A. Author. Title.", "[1] A. Author. Title."),
        ("[7] B. Author.", "[7] B. Author."),
    ],
)
def test_references_are_numbered_once(extractor, tmp_path, entry, printed):
    path = tmp_path / "refs.pdf"
    path.write_bytes(pdfmake.write_paper_pdf("T", ["A"], [("1 Introduction", LINE * 3)], references=[entry]))
    assert printed in extractor.extract(path).pages[-1].splitlines()


@given(st.text())
def test_to_latin1_always_encodes(text):
    pdfmake.to_latin1(text).encode("latin-1")


def test_user_password_is_encrypted(extractor, pdfs):
    with pytest.raises(PdfEncrypted, match="password.pdf.*password"):
        extractor.extract(pdfs["password.pdf"])


def test_empty_user_password_opens(extractor, pdfs):
    result = extractor.extract(pdfs["empty-password.pdf"])
    assert "Introduction" in "\n".join(result.pages)


def test_no_text_layer(extractor, pdfs):
    with pytest.raises(PdfNoText, match="shapes-only.pdf.*OCR"):
        extractor.extract(pdfs["shapes-only.pdf"])


@pytest.mark.parametrize("name", ["zip.pdf", "random.pdf", "empty.pdf"])
def test_not_a_pdf_is_corrupt(extractor, pdfs, name):
    with pytest.raises(PdfCorrupt, match=name):
        extractor.extract(pdfs[name])


def test_truncated_pdf_fails_cleanly_or_reads_partly(extractor, pdfs):
    try:
        result = extractor.extract(pdfs["truncated.pdf"])
    except (PdfCorrupt, PdfNoText):
        return
    assert result.pages_read <= result.page_count


def test_missing_file(extractor, tmp_path):
    with pytest.raises(FileNotFoundError):
        extractor.extract(tmp_path / "nowhere.pdf")


def test_only_max_pages_are_read(extractor, pdfs):
    start = time.monotonic()
    result = extractor.extract(pdfs["5000-pages.pdf"])
    assert time.monotonic() - start < 5
    assert (result.page_count, result.pages_read, result.truncated) == (5000, 80, True)
    assert result.pages[79].endswith("Page 79.")


def test_decompression_bomb_is_contained(pdfs):
    before = rss_mb()
    with PdfExtractor(memory_mb=512, timeout_s=15) as extractor:
        try:
            result = extractor.extract(pdfs["bomb.pdf"])
        except PdfExtractionFailed as err:
            assert "bomb.pdf" in str(err)
        else:  # pdfium gave up on the stream by itself: the result must be small
            assert sum(map(len, result.pages)) < 10_000
        assert rss_mb() - before < 100
        assert extractor.extract(pdfs["paper.pdf"]).pages_read >= 1


def test_timeout_kills_the_worker_and_the_next_call_works(pdfs):
    with PdfExtractor(max_pages=5000, timeout_s=20) as extractor:
        extractor.extract(pdfs["paper.pdf"])  # warm
        first_pid = extractor.worker_pid
        extractor.timeout_s = 0.05
        with pytest.raises(PdfExtractionFailed, match=r"5000-pages.pdf took longer than 0.05 s"):
            extractor.extract(pdfs["5000-pages.pdf"])
        extractor.timeout_s = 20
        assert extractor.extract(pdfs["paper.pdf"]).pages_read >= 1
        assert extractor.worker_pid != first_pid


def test_worker_killed_mid_way(pdfs):
    with PdfExtractor(max_pages=5000, timeout_s=20) as extractor:
        extractor.extract(pdfs["paper.pdf"])
        worker = extractor._worker
        send = worker.send

        def send_then_kill(message):  # the request is in flight when the worker dies: no timing race
            send(message)
            os.kill(extractor.worker_pid, 9)

        worker.send = send_then_kill
        with pytest.raises(
            PdfExtractionFailed,
            match=r"5000-pages.pdf crashed the worker \(signal SIGKILL\)",
        ):
            extractor.extract(pdfs["5000-pages.pdf"])
        assert extractor.extract(pdfs["paper.pdf"]).pages_read >= 1


def test_too_much_text_is_refused(pdfs):
    with PdfExtractor(max_text_mb=0) as extractor:
        with pytest.raises(
            PdfExtractionFailed,
            match=r"paper.pdf produced 0 MB of text, over the 0 MB limit",
        ):
            extractor.extract(pdfs["paper.pdf"])
        extractor.max_text_mb = 1
        assert extractor.extract(pdfs["paper.pdf"]).pages_read >= 1


def test_idle_worker_death_is_invisible(extractor, pdfs):
    extractor.extract(pdfs["paper.pdf"])
    os.kill(extractor.worker_pid, 9)
    time.sleep(0.1)
    assert extractor.extract(pdfs["paper.pdf"]).pages_read >= 1


def test_threads_share_one_extractor(extractor, pdfs):
    expected = extractor.extract(pdfs["paper.pdf"]).pages
    results: list[list[str]] = []

    def work():
        for _ in range(3):
            results.append(extractor.extract(pdfs["paper.pdf"]).pages)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 12


def test_close_stops_the_worker(pdfs):
    extractor = PdfExtractor()
    extractor.extract(pdfs["paper.pdf"])
    pid = extractor.worker_pid
    extractor.close()
    assert extractor.worker_pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_start_runs_the_worker_before_the_first_pdf() -> None:
    with PdfExtractor() as extractor:
        assert extractor.worker_pid is None
        extractor.start()
        first = extractor.worker_pid
        assert first is not None
        extractor.start()  # already running: the same worker
        assert extractor.worker_pid == first
