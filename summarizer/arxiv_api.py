"""arXiv metadata through the `arxiv` package, made safe for a long-running service.

The package is blocking and sets no timeout, and it paces and retries on its own.
Here one shared `arxiv.Client` runs in a worker thread with a timeout (its session
also gets a socket timeout, so a hung request does not leave a thread behind forever),
its own pacing and retries are switched off, and every request passes our shared
`PacingGate` and `BackoffPolicy` instead — one owner of each.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time

import arxiv
import requests

from paperdigest.errors import ArxivUnavailable, BadArxivId, PaperNotFound
from paperdigest.records import PaperMeta
from summarizer.ids import ArxivId, parse_arxiv_id
from summarizer.retry import BackoffPolicy, PacingGate, parse_retry_after, retrying

log = logging.getLogger(__name__)
WITHDRAWN = re.compile(r"\bwithdrawn\b", re.IGNORECASE)
MAX_IDS_PER_QUERY = 100


class _TimeoutSession(requests.Session):
    """A requests session with a default timeout that remembers the last Retry-After."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self.timeout_s = timeout_s
        self.last_retry_after: float | None = None

    def request(self, *args, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", self.timeout_s)
        response = super().request(*args, **kwargs)
        self.last_retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return response


def to_meta(result: arxiv.Result) -> PaperMeta:
    arxiv_id = parse_arxiv_id(result.entry_id)
    comment = result.comment or ""
    pdf_url = result.pdf_url
    if WITHDRAWN.search(comment):
        pdf_url = None
    return PaperMeta(
        arxiv_id=arxiv_id.base,
        version=arxiv_id.version or 1,
        title=" ".join(result.title.split()),
        authors=[a.name for a in result.authors],
        abstract=" ".join(result.summary.split()),
        categories=list(result.categories),
        primary_category=result.primary_category or "",
        comment=comment,
        journal_ref=result.journal_ref or "",
        doi=result.doi or "",
        published=result.published,
        updated=result.updated,
        pdf_url=pdf_url,
    )


class ArxivMetadata:
    """Fetches metadata for batches of ids: one `id_list` query per 100 ids."""

    def __init__(
        self, api_url: str, gate: PacingGate, *, timeout_s: float = 30.0, policy: BackoffPolicy = BackoffPolicy()
    ) -> None:
        self._session = _TimeoutSession(timeout_s)
        self._client = arxiv.Client(page_size=MAX_IDS_PER_QUERY, delay_seconds=0, num_retries=0)
        self._client.query_url_format = api_url + "?{}"
        # The package exposes no way to pass a session; this private attribute is its only one.
        self._client._session = self._session
        self.gate = gate  # shared with every other arXiv request (PDFs, the watcher's listings)
        self._timeout_s = timeout_s
        self._policy = policy

    async def fetch(self, ids: list[ArxivId]) -> dict[ArxivId, PaperMeta]:
        """Metadata for each id arXiv knows; unknown ids are missing from the result."""
        found: dict[ArxivId, PaperMeta] = {}
        for start in range(0, len(ids), MAX_IDS_PER_QUERY):
            batch = ids[start : start + MAX_IDS_PER_QUERY]
            results = await retrying(
                self._policy, lambda b=batch: self._query(b), what=f"arXiv metadata for {len(batch)} id(s)"
            )
            found.update(_match(batch, results))
        return found

    async def fetch_one(self, arxiv_id: ArxivId) -> PaperMeta:
        found = await self.fetch([arxiv_id])
        if arxiv_id not in found:
            raise PaperNotFound(f"arXiv has no paper {arxiv_id}: check the number at https://arxiv.org/abs/{arxiv_id}")
        return found[arxiv_id]

    async def _query(self, ids: list[ArxivId]) -> list[PaperMeta]:
        search = arxiv.Search(id_list=[str(i) for i in ids], max_results=len(ids))
        async with self.gate.slot():
            started = time.monotonic()
            try:
                results = await asyncio.wait_for(asyncio.to_thread(self._run, search), self._timeout_s)
            except (asyncio.TimeoutError, requests.Timeout, requests.ConnectionError) as err:
                raise ArxivUnavailable(
                    f"arXiv API did not answer in {self._timeout_s:.0f} s ({type(err).__name__})"
                ) from err
            except arxiv.HTTPError as err:
                raise self._http_error(err, ids) from err
            log.info(
                "arXiv API: %d id(s) -> %d result(s) in %.2f s", len(ids), len(results), time.monotonic() - started
            )
            return results

    def _run(self, search: arxiv.Search) -> list[PaperMeta]:
        return [to_meta(r) for r in self._client.results(search)]

    def _http_error(self, err: arxiv.HTTPError, ids: list[ArxivId]) -> Exception:
        if err.status == 400:
            return BadArxivId(f"arXiv rejected the id list {', '.join(map(str, ids))} as malformed (HTTP 400)")
        if err.status in (429, 500, 502, 503, 504):
            return ArxivUnavailable(
                f"arXiv API answered HTTP {err.status}; try again later", retry_after=self._session.last_retry_after
            )
        return ArxivUnavailable(f"arXiv API answered HTTP {err.status}")


def _match(ids: list[ArxivId], results: list[PaperMeta]) -> dict[ArxivId, PaperMeta]:
    """Pair each asked id with its result: versioned ids match their version, bare ids the latest."""
    by_base: dict[str, PaperMeta] = {}
    for meta in results:  # a batch may hold v1 and the latest of one paper: bare ids get the latest
        if meta.arxiv_id not in by_base or meta.version > by_base[meta.arxiv_id].version:
            by_base[meta.arxiv_id] = meta
    by_version = {(meta.arxiv_id, meta.version): meta for meta in results}
    matched = {}
    for arxiv_id in ids:
        meta = by_version.get((arxiv_id.base, arxiv_id.version)) if arxiv_id.version else by_base.get(arxiv_id.base)
        if meta is not None:
            matched[arxiv_id] = meta
    return matched
