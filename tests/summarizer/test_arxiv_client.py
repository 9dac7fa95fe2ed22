"""The arXiv metadata client and the PDF fetcher against the fake arXiv, edge by edge."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from paperdigest.errors import ArxivUnavailable, BadArxivId, PaperWithdrawn, PdfDownloadError
from summarizer.arxiv_api import ArxivMetadata
from summarizer.ids import ArxivId
from summarizer.pdf_fetch import PdfFetcher
from summarizer.retry import BackoffPolicy, PacingGate

PDF = b"%PDF-1.4\n" + b"x" * 5000 + b"\n%%EOF\n"
FAST = BackoffPolicy(attempts=3, min_delay=0.01, jitter=0.0)


def add(fake, arxiv_id: str = "2412.06769", **kwargs) -> None:
    fake.add_paper(
        arxiv_id,
        title="A  Title\n  Split",
        authors=["A. Author", "B. Author"],
        abstract="Abstract text.",
        **{"versions": {1: PDF, 2: PDF}, **kwargs},
    )


def metadata(fake, **kwargs) -> ArxivMetadata:
    return ArxivMetadata(fake.api_url, PacingGate(0), timeout_s=kwargs.pop("timeout_s", 5), policy=FAST)


async def test_batch_versions_and_old_style_ids(fake_arxiv) -> None:
    add(fake_arxiv)
    add(fake_arxiv, "hep-th/9901001", categories=["hep-th"])
    found = await metadata(fake_arxiv).fetch(
        [ArxivId("2412.06769"), ArxivId("2412.06769", 1), ArxivId("hep-th/9901001"), ArxivId("2501.00001")]
    )
    assert found[ArxivId("2412.06769")].version == 2 and found[ArxivId("2412.06769", 1)].version == 1
    assert found[ArxivId("hep-th/9901001")].primary_category == "hep-th"
    assert ArxivId("2501.00001") not in found  # unknown: simply absent
    assert found[ArxivId("2412.06769")].title == "A Title Split"
    assert len([r for r in fake_arxiv.requests if r.kind == "api"]) == 1


async def test_malformed_id_answered_400_is_a_bad_id(fake_arxiv) -> None:
    with pytest.raises(BadArxivId, match="HTTP 400"):
        await metadata(fake_arxiv).fetch([ArxivId("12345")])  # bypasses our parser on purpose
    assert len(fake_arxiv.requests) == 1  # a 400 is not retried


async def test_retry_after_is_honoured(fake_arxiv) -> None:
    add(fake_arxiv)
    fake_arxiv.fail_next("api", status=429, retry_after=0.4)
    started = time.monotonic()
    await metadata(fake_arxiv).fetch_one(ArxivId("2412.06769"))
    assert time.monotonic() - started >= 0.4


async def test_hanging_api_times_out_then_gives_up(fake_arxiv) -> None:
    add(fake_arxiv)
    fake_arxiv.delay_next("api", 5, times=3)
    client = ArxivMetadata(fake_arxiv.api_url, PacingGate(0), timeout_s=0.3, policy=FAST)
    started = time.monotonic()
    with pytest.raises(ArxivUnavailable, match="did not answer"):
        await client.fetch_one(ArxivId("2412.06769"))
    assert time.monotonic() - started < 3


def fetcher(fake, http: httpx.AsyncClient, tmp_path: Path, **kwargs) -> PdfFetcher:
    return PdfFetcher(http, fake.pdf_url_template, tmp_path / "pdf", PacingGate(0), policy=FAST, **kwargs)


async def test_pdf_is_cached_by_id_and_version(fake_arxiv, tmp_path: Path) -> None:
    add(fake_arxiv)
    async with httpx.AsyncClient() as http:
        first = await fetcher(fake_arxiv, http, tmp_path).fetch(ArxivId("2412.06769"), 2)
        again = await fetcher(fake_arxiv, http, tmp_path).fetch(ArxivId("2412.06769"), 2)
    assert first.path.name == "2412.06769v2.pdf" and first.path.read_bytes() == PDF
    assert again.from_cache and again.sha256 == first.sha256
    assert len(fake_arxiv.requests) == 1
    assert list((tmp_path / "pdf").iterdir()) == [first.path]  # no partial files left


@pytest.mark.parametrize(
    ("serve", "kwargs", "error", "message"),
    [
        (
            lambda f: f.serve_bytes("2412.06769v2", b"<!doctype html><title>Just a moment</title>", "text/html"),
            {},
            PdfDownloadError,
            "did not return a PDF",
        ),
        (lambda f: f.serve_bytes("2412.06769v2", b""), {}, PdfDownloadError, "empty body"),
        (
            lambda f: f.serve_stream("2412.06769v2", b"%PDF" + b"0" * 65532, 200),
            {"max_bytes": 1_000_000},
            PdfDownloadError,
            "larger than",
        ),
        (lambda f: f.fail_next("pdf", status=503, times=5), {}, ArxivUnavailable, "HTTP 503"),
        (lambda f: f.delay_next("pdf", 3, times=5), {"deadline_s": 0.3}, ArxivUnavailable, "did not arrive"),
    ],
)
async def test_pdf_failures_are_clear(fake_arxiv, tmp_path: Path, serve, kwargs, error, message) -> None:
    add(fake_arxiv)
    serve(fake_arxiv)
    async with httpx.AsyncClient() as http:
        with pytest.raises(error, match=message):
            await fetcher(fake_arxiv, http, tmp_path, **kwargs).fetch(ArxivId("2412.06769"), 2)
    assert not (tmp_path / "pdf" / "2412.06769v2.pdf").exists()


async def test_missing_version_is_reported_as_no_pdf(fake_arxiv, tmp_path: Path) -> None:
    add(fake_arxiv)
    async with httpx.AsyncClient() as http:
        with pytest.raises(PaperWithdrawn, match="HTTP 404"):
            await fetcher(fake_arxiv, http, tmp_path).fetch(ArxivId("2412.06769"), 7)
