"""A stand-in for arXiv — the export API and the PDF host — on 127.0.0.1, for the offline demo.

`paperdigest demo` serves the bundled papers with it, so the real pipeline (the `arxiv`
client, httpx, the PDF worker) runs over HTTP as it would against arxiv.org. It answers
as arXiv does: Atom 1.0 with the ``arxiv:`` and ``opensearch:`` namespaces, an HTTP 400
feed for a malformed id, an empty feed for an unknown one, a 404 page for a missing PDF::

    with StandInArxiv() as arxiv:
        arxiv.add_paper("2412.06769", title="...", authors=["..."], abstract="...",
                        versions={1: pdf_v1, 2: pdf_v2})
        client.query_url_format = arxiv.api_url + "?{}"
        httpx.get(arxiv.pdf_url_template.format(id="2412.06769v2"))

The feed is written from string templates, not an XML library, so it reads line by line
like the real export API's answer; every value goes through ``_x`` (XML escaping). The
tests' fake (tests/fakes/arxiv.py) extends it with scripted faults, odd bodies and a log.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from fnmatch import fnmatch
from typing import Callable, Iterable, Iterator, Sequence
from urllib.parse import urlencode
from xml.sax.saxutils import escape

from aiohttp import web

from paperdigest.sample.server import LocalServer

NEW_ID = re.compile(r"\d{4}\.\d{4,5}(v\d+)?")
OLD_ID = re.compile(r"[a-z\-]+(\.[A-Z]{2})?/\d{7}(v\d+)?")
WITHDRAWN_COMMENT = "This paper has been withdrawn by the authors."
DEFAULT_PUBLISHED = datetime(2024, 12, 9, 18, 55, 56, tzinfo=timezone.utc)
PLACEHOLDER_PDF = b"%PDF-1.4\n% placeholder written by paperdigest/sample/arxiv.py\n%%EOF\n"
CHUNK = 64 * 1024


# --- papers and ids ---------------------------------------------------------------


@dataclass
class Paper:
    arxiv_id: str
    title: str
    authors: list[str]
    abstract: str
    categories: list[str]
    primary_category: str
    comment: str
    journal_ref: str
    doi: str
    published: datetime
    updated: datetime
    versions: dict[int, bytes]
    withdrawn: bool = False

    @property
    def latest(self) -> int:
        return max(self.versions)

    def version_date(self, version: int) -> datetime:
        """v1 was submitted at ``published``, the latest at ``updated``; others in between."""
        if version == self.latest:
            return self.updated
        share = (version - 1) / (self.latest - 1)
        return self.published + (self.updated - self.published) * share

    def version_comment(self, version: int) -> str:
        if not self.withdrawn:
            return self.comment
        return (self.comment or WITHDRAWN_COMMENT) if version == self.latest else ""

    def has_pdf(self, version: int) -> bool:
        """arXiv keeps earlier versions of a withdrawn paper; the withdrawal has no PDF."""
        return not (self.withdrawn and version == self.latest)


def is_valid_id(arxiv_id: str) -> bool:
    return bool(NEW_ID.fullmatch(arxiv_id) or OLD_ID.fullmatch(arxiv_id))


def split_version(arxiv_id: str) -> tuple[str, int | None]:
    """``"2412.06769v2"`` → ``("2412.06769", 2)``; no version → ``(id, None)``."""
    match = re.fullmatch(r"(.+)v(\d+)", arxiv_id)
    return (match[1], int(match[2])) if match else (arxiv_id, None)


def lookup(papers: dict[str, Paper], arxiv_id: str) -> tuple[Paper, int] | None:
    base, version = split_version(arxiv_id)
    paper = papers.get(base)
    if paper is None:
        return None
    version = version or paper.latest
    return (paper, version) if version in paper.versions else None


# --- search_query -----------------------------------------------------------------

_TOKEN = re.compile(r'(?P<field>\w+):(?P<value>"[^"]*"|[^\s()]+)|(?P<op>ANDNOT|AND|OR)|(?P<paren>[()])')


def term_matches(paper: Paper, field_name: str, value: str) -> bool:
    """One ``field:value`` term; words must all occur, a quoted value as a phrase."""
    value = value.lower()
    if field_name == "cat":
        return any(fnmatch(c.lower(), value) for c in paper.categories)
    texts = {
        "ti": [paper.title],
        "au": paper.authors,
        "abs": [paper.abstract],
        "co": [paper.comment],
        "jr": [paper.journal_ref],
        "all": [paper.title, paper.abstract, paper.comment, *paper.authors],
    }.get(field_name, [])
    text = " ".join(texts).lower()
    if value.startswith('"'):
        return value.strip('"') in text
    words = value.replace("_", " ").split() if field_name == "au" else [value]
    return all(word in text for word in words)


def matches(paper: Paper, query: str) -> bool:
    """Terms joined by AND / OR / ANDNOT, read left to right; parentheses group."""
    tokens = list(_TOKEN.finditer(query))
    result, _ = _evaluate(paper, tokens, 0)
    return bool(result)


def _evaluate(paper: Paper, tokens: list[re.Match], index: int) -> tuple[bool | None, int]:
    """One parenthesised level from ``index``; returns its value and where it ended."""
    result, op = None, "AND"
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if token["op"]:
            op = token["op"]
            continue
        if token["paren"] == ")":
            break
        if token["paren"] == "(":
            hit, index = _evaluate(paper, tokens, index)
        else:
            hit = term_matches(paper, token["field"], token["value"])
        if hit is None:
            continue
        if result is None:
            result = hit
        elif op == "OR":
            result = result or hit
        else:
            result = result and (not hit if op == "ANDNOT" else hit)
    return result, index


_SORT_KEYS: dict[str, Callable[[Paper], datetime]] = {
    "submittedDate": lambda p: p.published,
    "lastUpdatedDate": lambda p: p.updated,
}


def select(
    papers: dict[str, Paper], ids: list[str], query: str, sort_by: str, sort_order: str
) -> list[tuple[Paper, int]]:
    """What arXiv answers: the id_list entries (in that order), filtered by the query."""
    if ids:
        hits = [hit for hit in (lookup(papers, i) for i in ids) if hit]
    else:
        hits = [(p, p.latest) for p in papers.values()] if query else []
    if query:
        hits = [(p, v) for p, v in hits if matches(p, query)]
    if sort_by in _SORT_KEYS:
        key = _SORT_KEYS[sort_by]
        hits.sort(key=lambda hit: key(hit[0]), reverse=sort_order != "ascending")
    return hits


# --- Atom ---------------------------------------------------------------------------

ARXIV_SCHEME = "http://arxiv.org/schemas/atom"
FEED = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" \
xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom">
  <link href="{self_href}" rel="self" type="application/atom+xml"/>
  <title type="html">ArXiv Query: {query}</title>
  <id>http://arxiv.org/api/{feed_id}</id>
  <updated>{updated}</updated>
  <opensearch:totalResults>{total}</opensearch:totalResults>
  <opensearch:startIndex>{start}</opensearch:startIndex>
  <opensearch:itemsPerPage>{per_page}</opensearch:itemsPerPage>
{entries}</feed>
"""


def _x(text: str) -> str:
    return escape(text, {'"': "&quot;"})


def _ts(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_entry(paper: Paper, version: int) -> str:
    vid = f"{paper.arxiv_id}v{version}"
    lines = [
        f"    <id>http://arxiv.org/abs/{vid}</id>",
        f"    <updated>{_ts(paper.version_date(version))}</updated>",
        f"    <published>{_ts(paper.published)}</published>",
        f"    <title>{_x(paper.title)}</title>",
        f"    <summary>{_x(paper.abstract)}</summary>",
    ]
    lines += [f"    <author>\n      <name>{_x(name)}</name>\n    </author>" for name in paper.authors]
    if paper.doi:
        lines.append(f"    <arxiv:doi>{_x(paper.doi)}</arxiv:doi>")
        lines.append(f'    <link title="doi" href="http://dx.doi.org/{_x(paper.doi)}" rel="related"/>')
    if comment := paper.version_comment(version):
        lines.append(f"    <arxiv:comment>{_x(comment)}</arxiv:comment>")
    if paper.journal_ref:
        lines.append(f"    <arxiv:journal_ref>{_x(paper.journal_ref)}</arxiv:journal_ref>")
    lines.append(f'    <link href="http://arxiv.org/abs/{vid}" rel="alternate" type="text/html"/>')
    if paper.has_pdf(version):
        lines.append(f'    <link title="pdf" href="http://arxiv.org/pdf/{vid}" rel="related" type="application/pdf"/>')
    lines.append(f'    <arxiv:primary_category term="{_x(paper.primary_category)}" scheme="{ARXIV_SCHEME}"/>')
    lines += [f'    <category term="{_x(c)}" scheme="{ARXIV_SCHEME}"/>' for c in paper.categories]
    return "  <entry>\n" + "\n".join(lines) + "\n  </entry>\n"


ERROR_ENTRY = """  <entry>
    <id>{anchor}</id>
    <title>Error</title>
    <summary>{message}</summary>
    <updated>{updated}</updated>
    <link href="{anchor}" rel="alternate" type="text/html"/>
    <author>
      <name>arXiv api core</name>
    </author>
  </entry>
"""


def render_error_entry(message: str) -> str:
    anchor = "http://arxiv.org/api/errors#" + message.replace(" ", "_")
    return ERROR_ENTRY.format(anchor=_x(anchor), message=_x(message), updated=_ts(datetime.now(timezone.utc)))


def render_feed(params: dict[str, str], entries: list[str], total: int, start: int, per_page: int) -> str:
    query = urlencode(
        {k: params.get(k, "") for k in ("search_query", "id_list")} | {"start": start, "max_results": per_page}
    )
    digest = base64.urlsafe_b64encode(hashlib.sha1(query.encode()).digest()).decode()[:27]
    now = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    self_href = "http://arxiv.org/api/query?" + query.replace("=", "%3D").replace("&", "%26")
    return FEED.format(
        self_href=_x(self_href),
        query=_x(query.replace("+", " ")),
        feed_id=digest,
        updated=_ts(now),
        total=total,
        start=start,
        per_page=per_page,
        entries="".join(entries),
    )


# --- the server ----------------------------------------------------------------------


@dataclass(frozen=True)
class Body:
    """What /pdf sends: chunks, their total size and the Content-Type."""

    chunks: Callable[[], Iterable[bytes]]
    size: int
    content_type: str = "application/pdf"


def _slices(data: bytes) -> Callable[[], Iterator[bytes]]:
    return lambda: (data[i : i + CHUNK] for i in range(0, len(data), CHUNK))


NOT_FOUND_HTML = """<!DOCTYPE html>
<html><head><title>Not Found | arXiv e-print repository</title></head>
<body><h1>Not Found</h1><p>{}</p></body></html>
"""


class StandInArxiv(LocalServer):
    """arXiv's ``/api/query`` and ``/pdf/{id}`` with the papers added to it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self._papers: dict[str, Paper] = {}

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/query", self._api)
        app.router.add_get("/pdf/{tail:.+}", self._pdf)
        return app

    @property
    def api_url(self) -> str:
        return self.url + "/api/query"

    @property
    def pdf_url_template(self) -> str:
        return self.url + "/pdf/{id}"

    # state

    def add_paper(
        self,
        arxiv_id: str,
        *,
        title: str,
        authors: list[str],
        abstract: str,
        categories: Sequence[str] = ("cs.CL",),
        primary_category: str | None = None,
        comment: str = "",
        journal_ref: str = "",
        doi: str = "",
        published: datetime = DEFAULT_PUBLISHED,
        updated: datetime | None = None,
        versions: dict[int, bytes] | None = None,
        withdrawn: bool = False,
    ) -> Paper:
        """Add (or replace) a paper; ``versions`` maps version number → PDF bytes."""
        if not is_valid_id(arxiv_id) or split_version(arxiv_id)[1] is not None:
            raise ValueError(f"add_paper wants an id without version, got {arxiv_id!r}")
        categories = list(categories)
        paper = Paper(
            arxiv_id,
            title,
            list(authors),
            abstract,
            categories,
            primary_category or categories[0],
            comment,
            journal_ref,
            doi,
            published,
            updated or published,
            dict(versions or {1: PLACEHOLDER_PDF}),
            withdrawn,
        )
        with self._lock:
            self._papers[arxiv_id] = paper
        return paper

    def add_version(
        self,
        arxiv_id: str,
        data: bytes = PLACEHOLDER_PDF,
        *,
        updated: datetime | None = None,
        comment: str | None = None,
    ) -> int:
        """A replacement: the paper gets its next version, submitted at ``updated``."""
        with self._lock:
            paper = self._papers[arxiv_id]
            version = paper.latest + 1
            paper.versions[version] = data
            paper.updated = updated or datetime.now(timezone.utc)
            if comment is not None:
                paper.comment = comment
        return version

    def withdraw(self, arxiv_id: str, *, updated: datetime | None = None, comment: str = WITHDRAWN_COMMENT) -> int:
        """A withdrawal: a new version with no PDF and the authors' comment, as arXiv does it."""
        version = self.add_version(arxiv_id, updated=updated, comment=comment)
        with self._lock:
            self._papers[arxiv_id].withdrawn = True
        return version

    # handlers (the hooks are where the tests' fake adds its faults)

    async def _before(self, kind: str, request: web.Request) -> web.Response | None:
        """An answer to give instead of the real one (None: answer normally)."""
        return None

    def _keep_bytes(self) -> int | None:
        """Drop the connection after this many bytes of a PDF (None: send it whole)."""
        return None

    async def _api(self, request: web.Request) -> web.Response:
        if (fault := await self._before("api", request)) is not None:
            return fault
        params = dict(request.query)
        ids = [i.strip() for i in params.get("id_list", "").split(",") if i.strip()]
        start = int(params.get("start") or 0)
        per_page = int(params.get("max_results") or 10)
        if bad := next((i for i in ids if not is_valid_id(i)), None):
            error = render_error_entry(f"incorrect id format for {bad}")
            return _atom(render_feed(params, [error], 1, 0, 1), status=400)
        with self._lock:
            papers = dict(self._papers)
        hits = select(
            papers,
            ids,
            params.get("search_query", ""),
            params.get("sortBy", "relevance"),
            params.get("sortOrder", "descending"),
        )
        entries = [render_entry(p, v) for p, v in hits[start : start + per_page]]
        return _atom(render_feed(params, entries, len(hits), start, per_page))

    async def _pdf(self, request: web.Request) -> web.StreamResponse:
        if (fault := await self._before("pdf", request)) is not None:
            return fault
        requested = request.match_info["tail"].removesuffix(".pdf")
        body = self._pdf_body(requested)
        if body is None:
            text = NOT_FOUND_HTML.format(_x(f"No PDF for {requested}."))
            return web.Response(status=404, text=text, content_type="text/html")
        return await _send(request, body, self._keep_bytes())

    def _pdf_body(self, requested: str) -> Body | None:
        with self._lock:
            hit = lookup(self._papers, requested)
        if hit is None or not hit[0].has_pdf(hit[1]):
            return None
        data = hit[0].versions[hit[1]]
        return Body(_slices(data), len(data))


def _atom(text: str, status: int = 200) -> web.Response:
    return web.Response(status=status, text=text, content_type="application/atom+xml", charset="utf-8")


async def _send(request: web.Request, body: Body, keep: int | None) -> web.StreamResponse:
    """Stream ``body`` in chunks; with ``keep``, drop the connection after that many bytes."""
    response = web.StreamResponse(headers={"Content-Type": body.content_type})
    response.content_length = body.size
    await response.prepare(request)
    sent = 0
    for chunk in body.chunks():
        if keep is not None and sent + len(chunk) >= keep:
            await response.write(chunk[: keep - sent])
            if request.transport is not None:
                request.transport.close()
            return response
        await response.write(chunk)
        sent += len(chunk)
    await response.write_eof()
    return response
