"""PDF download: streamed through httpx with a `%PDF` check, a size cap, a total deadline,
the shared arXiv pacing gate, retries on transient failures, and an on-disk cache keyed
by id and version (a version's PDF never changes, so a cached file is final)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from paperdigest.errors import ArxivUnavailable, PaperWithdrawn, PdfDownloadError
from summarizer.ids import ArxivId
from summarizer.retry import BackoffPolicy, PacingGate, parse_retry_after, retrying

log = logging.getLogger(__name__)
PDF_MAGIC = b"%PDF"
MAGIC_WINDOW = 1024  # the PDF spec lets a header start within the first KiB
TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class DownloadedPdf:
    path: Path
    size: int
    sha256: str
    from_cache: bool


class PdfFetcher:
    def __init__(
        self,
        http: httpx.AsyncClient,
        url_template: str,
        cache_dir: Path,
        gate: PacingGate,
        *,
        max_bytes: int = 50 * 1024 * 1024,
        deadline_s: float = 120.0,
        policy: BackoffPolicy = BackoffPolicy(),
    ) -> None:
        self._http = http
        self._url_template = url_template
        self._cache_dir = cache_dir
        self._gate = gate
        self._max_bytes = max_bytes
        self._deadline_s = deadline_s
        self._policy = policy

    def cache_path(self, arxiv_id: ArxivId, version: int) -> Path:
        return self._cache_dir / f"{ArxivId(arxiv_id.base, version).filename}.pdf"

    async def fetch(self, arxiv_id: ArxivId, version: int) -> DownloadedPdf:
        path = self.cache_path(arxiv_id, version)
        if path.exists():
            data = path.read_bytes()
            return DownloadedPdf(path, len(data), hashlib.sha256(data).hexdigest(), from_cache=True)
        versioned = ArxivId(arxiv_id.base, version)
        url = self._url_template.format(id=versioned.versioned)
        return await retrying(self._policy, lambda: self._download(url, versioned, path), what=f"PDF of {versioned}")

    async def _download(self, url: str, arxiv_id: ArxivId, path: Path) -> DownloadedPdf:
        async with self._gate.slot():
            started = time.monotonic()
            try:
                async with asyncio.timeout(self._deadline_s):
                    result = await self._stream_to(url, arxiv_id, path)
            except TimeoutError as err:
                raise ArxivUnavailable(f"PDF of {arxiv_id} did not arrive within {self._deadline_s:.0f} s") from err
            except (httpx.TransportError, httpx.StreamError) as err:
                raise ArxivUnavailable(
                    f"PDF of {arxiv_id} broke off mid-download ({type(err).__name__}: {err})"
                ) from err
            log.info("PDF %s: %d bytes in %.2f s", arxiv_id, result.size, time.monotonic() - started)
            return result

    async def _stream_to(self, url: str, arxiv_id: ArxivId, path: Path) -> DownloadedPdf:
        async with self._http.stream("GET", url, follow_redirects=True) as response:
            self._check_response(response, arxiv_id)
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".part{os.getpid()}")
            digest, size, head = hashlib.sha256(), 0, b""
            try:
                with partial.open("wb") as out:
                    async for chunk in response.aiter_bytes():
                        if len(head) < MAGIC_WINDOW and PDF_MAGIC not in head:
                            head += chunk[:MAGIC_WINDOW]
                            _check_magic(head, url, final=False)
                        size += len(chunk)
                        if size > self._max_bytes:
                            raise PdfDownloadError(self._too_big(arxiv_id))
                        digest.update(chunk)
                        out.write(chunk)
                _check_magic(head, url, final=True)
                partial.replace(path)  # atomic: a crash never leaves a half file in the cache
            finally:
                partial.unlink(missing_ok=True)
        return DownloadedPdf(path, size, digest.hexdigest(), from_cache=False)

    def _check_response(self, response: httpx.Response, arxiv_id: ArxivId) -> None:
        if response.status_code in TRANSIENT_STATUS:
            raise ArxivUnavailable(
                f"PDF host answered HTTP {response.status_code} for {arxiv_id}",
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        if response.status_code in (403, 404, 410):
            raise PaperWithdrawn(
                f"arXiv serves no PDF for {arxiv_id} (HTTP {response.status_code}); "
                "the paper may be withdrawn or the version may not exist"
            )
        if response.status_code != 200:
            raise PdfDownloadError(f"PDF host answered HTTP {response.status_code} for {arxiv_id}")
        length = response.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > self._max_bytes:
            raise PdfDownloadError(self._too_big(arxiv_id))

    def _too_big(self, arxiv_id: ArxivId) -> str:
        return (
            f"PDF of {arxiv_id} is larger than the {self._max_bytes / 2**20:.0f} MB cap; "
            "raise PDF_MAX_MB if you trust it"
        )


def _check_magic(head: bytes, url: str, *, final: bool) -> None:
    """Fail as soon as the first KiB (or the whole body, if shorter) has no `%PDF`."""
    if PDF_MAGIC in head[:MAGIC_WINDOW] or (len(head) < MAGIC_WINDOW and not final):
        return
    if not head:
        raise PdfDownloadError(f"{url} returned an empty body")
    raise PdfDownloadError(f"{url} did not return a PDF (it starts with {head[:16]!r}); check ARXIV_PDF_URL")
