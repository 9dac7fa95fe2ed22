"""Find the paper's code repository: a GitHub, GitLab or Hugging Face link named in the
abstract, the comment or the body (references excluded — those are other people's code)."""

from __future__ import annotations

import re

from summarizer.paper import PaperMeta, Section

_URL = re.compile(
    r"(?:https?://)?(?:www\.)?(?P<host>github\.com|gitlab\.com|huggingface\.co)/"
    r"(?P<path>[A-Za-z0-9_.\-]+(?:/[A-Za-z0-9_.\-]+){1,3})",
    re.IGNORECASE,
)
_HF_KINDS = {"datasets", "spaces", "models"}
_NOT_REPOS = {"about", "features", "pricing", "login", "join", "orgs", "topics", "sponsors", "docs", "blog", "papers"}
_CODE_CUE = re.compile(r"\b(code|implementation|available|release|open[- ]source|github)\b", re.IGNORECASE)


def normalise(host: str, path: str) -> str | None:
    """`https://host/owner/repo` (Hugging Face: with datasets/spaces prefix), or None for non-repo pages."""
    parts = [p for p in path.split("/") if p]
    host = host.lower()
    if host == "huggingface.co" and parts[0].lower() in _HF_KINDS:
        parts = parts[:3]
        if len(parts) < 3:
            return None
    else:
        parts = parts[:2]
    if len(parts) < 2 or parts[0].lower() in _NOT_REPOS:
        return None
    parts[-1] = re.sub(r"(\.git|[.\-_])+$", "", parts[-1])
    return f"https://{host}/{'/'.join(parts)}" if parts[-1] else None


def _links(text: str) -> list[tuple[int, str]]:
    """(position, link) pairs; a URL broken by a PDF line end is rejoined first."""
    joined = re.sub(r"(?<=[/\-_.])\s*\n\s*", "", text)
    found = []
    for match in _URL.finditer(joined):
        link = normalise(match.group("host"), match.group("path"))
        if link:
            found.append((match.start(), link))
    return found


def find_code_link(meta: PaperMeta, sections: list[Section]) -> str | None:
    """The first repository link of the comment or abstract, else the body's best one near a code cue."""
    for text in (meta.comment, meta.abstract):
        links = _links(text or "")
        if links:
            return links[0][1]
    best: tuple[int, str] | None = None
    for index, section in enumerate(s for s in sections if s.kind != "references"):
        for position, link in _links(section.text):
            window = section.text[max(0, position - 150):position]
            if not _CODE_CUE.search(window):
                continue  # a link without "code"/"available" near it is usually someone else's tool
            score = 1 if index < 3 else 0
            if best is None or score > best[0]:
                best = (score, link)
    return best[1] if best else None
