"""Find the paper's code repository: a GitHub, GitLab or Hugging Face link named in the
abstract, the comment or the body (references excluded — those are other people's code)."""

from __future__ import annotations

import re

from paperdigest.records import PaperMeta, Section
from summarizer.review_format import CODE_HOSTS

_HOSTS = "|".join(re.escape(host) for host in CODE_HOSTS)
_URL = re.compile(
    rf"(?:https?://)?(?:www\.)?(?P<host>{_HOSTS})/"
    r"(?P<path>[A-Za-z0-9_.\-]+(?:/[A-Za-z0-9_.\-]+){1,3})",
    re.IGNORECASE,
)
# PDF extraction breaks a URL at a line end after / - _ . ("https://github.com/\nowner/repo",
# "https://github.\ncom/…"). A full stop at a line end is usually the sentence's, though
# ("…/MiniMax-M1.\nAIME 2024"), so after "." only a line going on in lower case is joined;
# a blank line (a new paragraph) is never joined.
_LINE_BREAK = re.compile(r"(?<=[/\-_])[ \t]*\n(?![ \t]*\n)[ \t]*|(?<=\.)[ \t]*\n[ \t]*(?=[a-z])")
# Where the section cutter has already turned that line end into a space, or the layout put
# one there, the gap sits inside the host ("https://github. com/google-research/tapas") or
# right after it ("https://github.com/ tensorflow/tensor2tensor"). Neither "github." nor a
# host with a bare slash is ever a whole repository link, so both gaps are closed.
_GAP_IN_HOST = re.compile(r"\b(github|gitlab|huggingface)\.[ \t]+(com|co)/", re.IGNORECASE)
_GAP_AFTER_HOST = re.compile(rf"\b({_HOSTS})/[ \t]+(?=[A-Za-z0-9])", re.IGNORECASE)
_TRAILING_MARKER = re.compile(r"\.?\d{1,2}$")
_HF_KINDS = {"datasets", "spaces", "models"}
_NOT_REPOS = {"about", "features", "pricing", "login", "join", "orgs", "topics", "sponsors", "docs", "blog", "papers"}
# Not \b at the start: a footnote's text begins with its number glued on ("1Code has been released at").
_CODE_CUE = re.compile(r"(?<![a-z])(code|implementation|available|release[ds]?|open[- ]source|github)\b", re.IGNORECASE)


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


def _links(text: str) -> list[tuple[str, str]]:
    """(the 150 characters before it, link) pairs, once broken URLs are rejoined."""
    joined = _LINE_BREAK.sub("", text)
    joined = _GAP_AFTER_HOST.sub(r"\1/", _GAP_IN_HOST.sub(r"\1.\2/", joined))
    found = []
    for match in _URL.finditer(joined):
        link = normalise(match.group("host"), match.group("path"))
        if link:
            found.append((joined[max(0, match.start() - 150) : match.start()], link))
    return found


def without_footnote_marker(link: str, elsewhere: set[str]) -> str:
    """`link` less a footnote number glued to its end, when the paper shows that is what it is.

    Extracted text runs a superscript marker into the URL before it: `…/understand-r1-zero1`
    for `…/understand-r1-zero` with footnote 1 (`.1` when the mark follows the sentence's full
    stop). A digit alone proves nothing — `…/llama2` and `…/gpt2` are real names — so the
    digits (one or two, as footnote numbers are) go only when the same link without them
    appears elsewhere in the paper: in the abstract, the comment, another sentence, or the
    footnote itself, whose text starts with its number glued before the URL ("1https://…",
    which the URL pattern already reads without the 1). Were `x/y` and `x/y2` both real and
    both named, this would pick `x/y`; that costs less than a link to a repository that
    does not exist.
    """
    owner_repo, _, name = link.rpartition("/")
    marker = _TRAILING_MARKER.search(name)
    if marker is None:
        return link
    for cut in range(len(name) - 1, marker.start() - 1, -1):  # fewest digits first: "y12" → "y1", then "y"
        stem = name[:cut].rstrip(".-_")
        if stem and f"{owner_repo}/{stem}" in elsewhere:
            return f"{owner_repo}/{stem}"
    return link


def find_code_link(meta: PaperMeta, sections: list[Section]) -> str | None:
    """The first repository link of the comment or abstract, else the body's best one near a code cue."""
    everywhere = {
        link for text in [meta.comment, meta.abstract, *(s.text for s in sections)] for _, link in _links(text or "")
    }
    for text in (meta.comment, meta.abstract):
        links = _links(text or "")
        if links:
            return without_footnote_marker(links[0][1], everywhere)
    best: tuple[int, str] | None = None
    for index, section in enumerate(s for s in sections if s.kind != "references"):
        for window, link in _links(section.text):
            if not _CODE_CUE.search(window):
                continue  # a link without "code"/"available" near it is usually someone else's tool
            score = 1 if index < 3 else 0
            if best is None or score > best[0]:
                best = (score, link)
    return without_footnote_marker(best[1], everywhere) if best else None
