"""arXiv listings for the watcher: a category's newest submissions, page by page.

Each page is one API request through the same `PacingGate` and `BackoffPolicy` as every
other arXiv request (the gate is the pipeline's, shared). The `arxiv` package would page
on its own inside one blocking call; here every page is its own call, so the gate sees
each request and a page can stop the paging as soon as it reaches known submissions.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime

import arxiv
import requests

from paperdigest.errors import ArxivUnavailable, ConfigError
from paperdigest.records import PaperMeta
from summarizer.arxiv_api import ArxivMetadata, to_meta
from summarizer.retry import BackoffPolicy, PacingGate, retrying

log = logging.getLogger(__name__)


def category_query(category: str, extra: str = "") -> str:
    """`cat:cs.CL`, narrowed by WATCH_QUERY when set (arXiv search syntax)."""
    return f"cat:{category} AND ({extra.strip()})" if extra.strip() else f"cat:{category}"


class ArxivListing(ArxivMetadata):
    """Search pages sorted by submission date, newest first (the id-list `fetch` still works)."""

    def __init__(
        self,
        api_url: str,
        gate: PacingGate,
        *,
        page_size: int = 200,
        timeout_s: float = 30.0,
        policy: BackoffPolicy = BackoffPolicy(),
    ) -> None:
        super().__init__(api_url, gate, timeout_s=timeout_s, policy=policy)
        self.page_size = page_size
        self._client.page_size = page_size

    async def newer_than(self, query: str, since: datetime, *, max_pages: int) -> tuple[list[PaperMeta], bool]:
        """Listings submitted at or after `since`; False when max_pages ran out before reaching it."""
        found: list[PaperMeta] = []
        for number in range(max_pages):
            page = await self.page(query, number * self.page_size)
            found += [m for m in page if m.published is None or m.published >= since]
            reached = any(m.published is not None and m.published < since for m in page)
            if reached or len(page) < self.page_size:
                return found, True
        log.warning(
            "arXiv listing %r: %d page(s) did not reach %s; older new papers are skipped",
            query,
            max_pages,
            since.isoformat(),
        )
        return found, False

    async def page(self, query: str, start: int) -> list[PaperMeta]:
        search = arxiv.Search(
            query=query,
            max_results=start + self.page_size,
            sort_by=arxiv.SortCriterion.SubmittedDate,
            sort_order=arxiv.SortOrder.Descending,
        )
        return await retrying(
            self._policy, lambda: self._page_once(search, start), what=f"arXiv listing {query!r} from {start}"
        )

    async def _page_once(self, search: arxiv.Search, start: int) -> list[PaperMeta]:
        async with self.gate.slot():
            started = time.monotonic()
            try:
                results = await asyncio.wait_for(asyncio.to_thread(self._run_page, search, start), self._timeout_s)
            except (asyncio.TimeoutError, requests.Timeout, requests.ConnectionError) as err:
                raise ArxivUnavailable(
                    f"arXiv API did not answer in {self._timeout_s:.0f} s ({type(err).__name__})"
                ) from err
            except arxiv.HTTPError as err:
                if err.status == 400:
                    raise ConfigError(
                        f"arXiv rejected the query {search.query!r} (HTTP 400); check WATCH_CATEGORIES and WATCH_QUERY"
                    ) from err
                raise self._http_error(err, []) from err
            log.info(
                "arXiv API: listing %r from %d -> %d result(s) in %.2f s",
                search.query,
                start,
                len(results),
                time.monotonic() - started,
            )
            return results

    def _run_page(self, search: arxiv.Search, start: int) -> list[PaperMeta]:
        # max_results = start + page size: the package stops after this one page.
        return [to_meta(r) for r in self._client.results(search, offset=start)]
