"""The review document: a TL;DR and five Russian sections, plus the header built from metadata.

The LLM (or the offline reviewer) writes only the body; the header — title, authors,
links — comes from arXiv metadata, so it cannot be invented. Everything both readers of a
stored review (the bot's renderers, the site) must agree on lives here: the header labels,
the hosts a review may link to, and the one scan that finds code and formulas in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from paperdigest.records import PaperMeta

SECTION_TITLES = (
    "Суть",
    "Метод",
    "Эксперименты и результаты",
    "Ограничения",
    "Почему это важно",
)
TLDR_LABEL = "TL;DR"
MAX_HEADER_AUTHORS = 8
PAPER_LABEL, CODE_LABEL, DEMO_LABEL = HEADER_LABELS = ("Статья", "Код", "Демо")
# Where a review may link: the paper itself, and its code (codelinks.py finds it on these hosts).
REFERENCE_HOSTS = ("arxiv.org", "doi.org")
CODE_HOSTS = ("github.com", "gitlab.com", "huggingface.co")
LINK_HOSTS = REFERENCE_HOSTS + CODE_HOSTS

# Code and formulas in a review's Markdown. Fenced blocks are cut out first (`prose_pieces`);
# in the rest, one scan finds inline code (kept as is, so `$` inside code is not math),
# escaped dollars and the four math forms. Every alternative starts with ` \ or $, which
# lets the regex engine jump between candidates instead of trying each position. Inline
# `$…$`: no space just inside the dollars and no digit right after the closing one, so
# "from $5 to $10" stays text.
FENCE = re.compile(r"^[ \t]*(```+|~~~+)[^\n]*\n.*?(?:^[ \t]*\1[ \t]*$|\Z)", re.DOTALL | re.MULTILINE)
MATH_OR_CODE = re.compile(
    r"(?P<code>(?P<run>`+).+?(?<!`)(?P=run)(?!`))"
    r"|(?P<escaped>\\\$)"
    r"|\\\[(?P<bracket>.+?)\\\]"
    r"|\\\((?P<paren>.+?)\\\)"
    r"|\$\$(?P<display>.+?)\$\$"
    r"|\$(?<![\\\w$]\$)(?P<inline>[^\s$](?:[^$\n]*?[^\s\\$])?)\$(?![\d$])",
    re.DOTALL,
)
MATH_FORMS = (("display", True), ("bracket", True), ("paren", False), ("inline", False))  # group, is display

_HEADING = re.compile(r"^#{1,3}\s*\**\s*(?P<title>[^#*\n]+?)\s*\**\s*:?\s*$", re.MULTILINE)
_TLDR = re.compile(r"^\s*\**\s*TL;?DR\s*\**\s*[:.—–-]?\s*\**\s*", re.IGNORECASE)


def prose_pieces(markdown: str) -> list[tuple[int, str, bool]]:
    """The text cut at fenced code blocks: (offset, piece, is a fence), in order."""
    pieces, last = [], 0
    for fence in FENCE.finditer(markdown) if ("```" in markdown or "~~~" in markdown) else ():
        pieces += [(last, markdown[last : fence.start()], False), (fence.start(), fence.group(0), True)]
        last = fence.end()
    pieces.append((last, markdown[last:], False))
    return pieces


@dataclass
class ReviewBody:
    """What a reviewer writes: the TL;DR and the text of each section, keyed by SECTION_TITLES."""

    tldr: str
    sections: dict[str, str] = field(default_factory=dict)

    def missing_sections(self) -> list[str]:
        return [t for t in SECTION_TITLES if not self.sections.get(t, "").strip()]

    def to_markdown(self) -> str:
        parts = [f"**{TLDR_LABEL}:** {self.tldr.strip()}"]
        for title in SECTION_TITLES:
            parts.append(f"## {title}\n\n{self.sections.get(title, '').strip()}")
        return "\n\n".join(parts) + "\n"


def _canonical_title(raw: str) -> str | None:
    cleaned = raw.strip().strip(".:").lower()
    for title in SECTION_TITLES:
        if cleaned == title.lower() or cleaned.startswith(title.lower()):
            return title
    if cleaned.startswith("почему") or cleaned.startswith("мнение"):
        return SECTION_TITLES[4]
    if cleaned.startswith("эксперимент") or cleaned.startswith("результат"):
        return SECTION_TITLES[2]
    return None


def parse_body(markdown: str) -> ReviewBody:
    """Read a reviewer's Markdown back into a ReviewBody; unknown headings stay inside the section above."""
    matches = list(_HEADING.finditer(markdown))
    preamble_end = matches[0].start() if matches else len(markdown)
    preamble = markdown[:preamble_end].strip()
    tldr = _TLDR.sub("", preamble, count=1).strip() if preamble else ""
    sections: dict[str, str] = {}
    current: str | None = None
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(markdown)
        chunk = markdown[match.end() : end].strip()
        title = _canonical_title(match.group("title"))
        if title is None:
            if current is not None:  # a sub-heading of the section above
                sections[current] = f"{sections[current]}\n\n{match.group(0).strip()}\n\n{chunk}".strip()
            continue
        current = title
        sections[title] = f"{sections.get(title, '')}\n\n{chunk}".strip()
    return ReviewBody(tldr=tldr, sections=sections)


def format_authors(authors: list[str]) -> str:
    if len(authors) > MAX_HEADER_AUTHORS:
        return ", ".join(authors[:MAX_HEADER_AUTHORS]) + " et al."
    return ", ".join(authors)


def header_lines(meta: PaperMeta, code_url: str | None, demo_url: str | None) -> list[str]:
    """The review header of review-style.md, as plain lines (renderers add markup)."""
    lines = [meta.title, format_authors(meta.authors), f"{PAPER_LABEL}: {meta.abs_url}"]
    if code_url:
        lines.append(f"{CODE_LABEL}: {code_url}")
    if demo_url:
        lines.append(f"{DEMO_LABEL}: {demo_url}")
    return lines


def render_review(
    meta: PaperMeta,
    body: ReviewBody,
    code_url: str | None = None,
    demo_url: str | None = None,
    notes: list[str] | None = None,
) -> str:
    """The full review as Markdown: header, notes (e.g. shortened sections), body."""
    return compose_review(meta, body.to_markdown(), code_url=code_url, demo_url=demo_url, notes=notes)


def compose_review(
    meta: PaperMeta,
    body_markdown: str,
    *,
    code_url: str | None = None,
    demo_url: str | None = None,
    notes: list[str] | None = None,
) -> str:
    """The full review from its parts: the header from the paper's metadata, the notes, the
    stored body (`Review.body`). Readers compose it when they show a review, so links that
    depend on where the site lives (the demo page) are never baked into what is stored."""
    title, authors, *links = header_lines(meta, code_url, demo_url)
    parts = [f"# {title}", authors + "  \n" + "  \n".join(links)]
    if notes:
        parts.append("\n".join(f"> {note}" for note in notes))
    parts.append(body_markdown)
    return "\n\n".join(parts)
