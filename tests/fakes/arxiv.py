"""The tests' arXiv: the offline demo's stand-in (paperdigest/sample/arxiv.py) plus what a
test needs to meet what arXiv really sends besides the happy path: 429/503 with
Retry-After, a delayed answer, a PDF that stops half-way, an HTML page or an endless
stream where the PDF should be, and a log of every request. The real ``arxiv`` package and
httpx are pointed at it::

    with FakeArxiv() as fake:
        fake.add_paper("2412.06769", title="...", authors=["..."], abstract="...")
        fake.fail_next("api", 503, times=2, retry_after=1)

The server machinery (event loop thread, scripted faults, request log) is
``tests/fakes/_server.FakeServer``, shared with the other fakes.
"""

from __future__ import annotations

import asyncio
import http
import time
from dataclasses import dataclass
from itertools import repeat

from aiohttp import web

from paperdigest.sample.arxiv import PLACEHOLDER_PDF, Body, StandInArxiv, _slices, lookup  # noqa: F401 (tests use PLACEHOLDER_PDF)
from tests.fakes._server import FakeServer

KINDS = ("api", "pdf")


@dataclass(frozen=True)
class RecordedRequest:
    kind: str
    path: str
    query: dict[str, str]
    at: float


@dataclass(frozen=True)
class Fault:
    status: int
    retry_after: float | None = None


FAULT_TEXT = {429: "Rate exceeded.\n", 503: "Service Unavailable: arXiv is busy, retry later.\n"}


class FakeArxiv(StandInArxiv, FakeServer):
    """The stand-in's ``/api/query`` and ``/pdf/{id}``, with faults and bodies scripted by the test."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self._bodies: dict[str, Body] = {}

    def serve_bytes(self, arxiv_id: str, data: bytes, content_type: str = "application/pdf") -> None:
        """Make ``/pdf/<arxiv_id>`` answer ``data`` (e.g. an HTML page) instead of the paper."""
        with self._lock:
            self._bodies[arxiv_id] = Body(_slices(data), len(data), content_type)

    def serve_stream(self, arxiv_id: str, chunk: bytes, count: int, content_type: str = "application/pdf") -> None:
        """Make ``/pdf/<arxiv_id>`` stream ``chunk`` ``count`` times, never held in memory whole."""
        with self._lock:
            self._bodies[arxiv_id] = Body(lambda: repeat(chunk, count), len(chunk) * count, content_type)

    def api_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.kind == "api"]

    def reset(self) -> None:
        """Forget papers, served bodies, scripted faults and the request log."""
        with self._lock:
            self._papers.clear()
            self._bodies.clear()
        self.clear_scripts()
        self.clear_requests()

    # faults

    def fail_next(self, kind: str, status: int = 503, times: int = 1, retry_after: float | None = None) -> None:
        self.script(("fail", _kind(kind)), Fault(status, retry_after), times)

    def delay_next(self, kind: str, seconds: float, times: int = 1) -> None:
        self.script(("delay", _kind(kind)), seconds, times)

    def truncate_next(self, kind: str, keep_bytes: int, times: int = 1) -> None:
        """Announce the full Content-Length, then drop the connection after ``keep_bytes``."""
        if kind != "pdf":
            raise ValueError(f"only 'pdf' responses can be truncated, not {kind!r}")
        self.script(("truncate", kind), keep_bytes, times)

    # hooks of the stand-in

    async def _before(self, kind: str, request: web.Request) -> web.Response | None:
        """Log the request, sleep if a delay is scripted, answer a scripted fault."""
        self.record(RecordedRequest(kind, request.path, dict(request.query), time.monotonic()))
        if (seconds := self.take(("delay", kind))) is not None:
            await asyncio.sleep(seconds)
        fault = self.take(("fail", kind))
        if fault is None:
            return None
        headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
        text = FAULT_TEXT.get(fault.status, http.HTTPStatus(fault.status).phrase + "\n")
        return web.Response(status=fault.status, text=text, headers=headers)

    def _keep_bytes(self) -> int | None:
        return self.take(("truncate", "pdf"))

    def _pdf_body(self, requested: str) -> Body | None:
        with self._lock:
            hit = lookup(self._papers, requested)
            versioned = f"{hit[0].arxiv_id}v{hit[1]}" if hit else requested
            body = self._bodies.get(requested) or self._bodies.get(versioned)
        return body if body is not None else super()._pdf_body(requested)


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    return kind
