"""Checks a review must pass before it is published (review-style.md).

Pure functions: each check returns English problem strings (the retry prompt quotes them
to the LLM, the database stores them, admins read them), and a Russian note for readers.
The worst failure such a tool can have is an invented result, so every number the review
quotes is attributed to the place the paper says it (`summarizer.attribute`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlparse

from summarizer.attribute import attribute
from summarizer.evidence import Evidence
from summarizer.grounding import ABSENT, MISMATCH, WRONG_ARITHMETIC, Grounding
from summarizer.review_format import REFERENCE_HOSTS, ReviewBody
from summarizer.review_numbers import CODE, MATH

MIN_CYRILLIC_SHARE = 0.5

_URL = re.compile(r"(?:https?://|www\.)[^\s)\]>\"'«»]+", re.IGNORECASE)
# A bare host name (no scheme) counts as a link when its last label is a top-level domain
# people use for links. The whole dotted name is matched, so "arxiv.org.evil.example" is read
# as the host it is, not as arxiv.org. Module paths such as torch.nn or np.array do not end in
# one of these and are left alone.
_TLDS = (
    "com|org|net|edu|gov|io|ai|ru|su|ua|by|kz|co|uk|us|de|fr|cn|jp|in|eu|me|cc|tv|ly|gg|dev|app|info|"
    "biz|xyz|top|site|online|tech|club|pro|link|click|live|news|blog|page|store|shop|space|website|"
    "cloud|digital|example|test|invalid|local|onion|to|sh|so|gl|gd|is|vc"
)
_BARE_DOMAIN = re.compile(
    rf"(?<![\w.@-])(?:[a-z0-9-]+\.)+(?:{_TLDS})(?![\w-])(?!\.[a-z0-9])(?:/[^\s)\]>\"'«»]*)?", re.IGNORECASE
)


@dataclass(frozen=True)
class Validation:
    problems: list[str]  # English: for the retry prompt, the database and admins
    grounding: Grounding | None = None
    reader_reasons: list[str] = field(default_factory=list)  # Russian, short: why it failed, for readers

    @property
    def passed(self) -> bool:
        return not self.problems


def validate_review(
    body: ReviewBody,
    *,
    evidence: Evidence,
    code_url: str | None,
    finish_reason: str | None,
    require_russian: bool = True,
) -> Validation:
    text = _full_text(body)
    problems, notes = [], []
    if finish_reason == "length":
        problems.append("the answer was cut off at the output token limit (finish_reason=length); write it shorter")
        notes.append("ответ модели оборван на лимите длины")
    structure = check_sections(body)
    if structure:
        problems += structure
        notes.append("не хватает обязательных разделов")
    if require_russian and (language := check_russian(text)):
        problems += language
        notes.append("текст написан не по-русски")
    if links := check_links(text, code_url):
        problems += links
        notes.append("в тексте были посторонние ссылки (удалены)")
    numbers, grounding = check_numbers(body.to_markdown(), evidence)
    problems += numbers
    if grounding.suspects:
        named = ", ".join(dict.fromkeys(n.plain for n in grounding.suspects))
        notes.append(f"не подтверждены текстом статьи числа: {named}")
    return Validation(problems, grounding, notes)


def _full_text(body: ReviewBody) -> str:
    return "\n\n".join([body.tldr, *body.sections.values()])


def check_sections(body: ReviewBody) -> list[str]:
    problems = []
    if not body.tldr.strip():
        problems.append("the TL;DR line is missing (start with '**TL;DR:** ...')")
    missing = body.missing_sections()
    if missing:
        problems.append("sections missing or empty: " + ", ".join(f"'## {t}'" for t in missing))
    return problems


def cyrillic_share(text: str) -> float:
    prose = CODE.sub(" ", MATH.sub(" ", _URL.sub(" ", text)))
    letters = [c for c in prose if c.isalpha()]
    if not letters:
        return 0.0
    return sum("\u0400" <= c <= "\u04ff" for c in letters) / len(letters)


def check_russian(text: str) -> list[str]:
    share = cyrillic_share(text)
    if share < MIN_CYRILLIC_SHARE:
        return [f"the review must be Russian prose: only {share:.0%} of its letters are Cyrillic"]
    return []


def _allowed(url: str, code_url: str | None) -> bool:
    candidate = url if "://" in url else "https://" + url
    host = (urlparse(candidate).hostname or "").lower()
    if any(host == h or host.endswith("." + h) for h in REFERENCE_HOSTS):
        return True
    if code_url:
        code = urlparse(code_url)
        parsed = urlparse(candidate)
        return host == (code.hostname or "").lower() and parsed.path.rstrip("/").lower().startswith(
            code.path.rstrip("/").lower()
        )
    return False


def find_links(text: str) -> list[str]:
    found = [m.group(0).rstrip(".,;:!?") for m in _URL.finditer(text)]
    without_urls = _URL.sub(" ", MATH.sub(" ", text))
    found += [m.group(0).rstrip(".,;:!?") for m in _BARE_DOMAIN.finditer(without_urls)]
    return found


def check_links(text: str, code_url: str | None) -> list[str]:
    foreign = sorted({link for link in find_links(text) if not _allowed(link, code_url)})
    if foreign:
        allowed = "arxiv.org, doi.org" + (f", {code_url}" if code_url else "")
        return [f"links to other sites are not allowed ({', '.join(foreign)}); allowed: {allowed}"]
    return []


def check_numbers(review: str, evidence: Evidence) -> tuple[list[str], Grounding]:
    """Every number attributed to the paper; a problem (for the retry prompt) names each suspect one."""
    grounding = attribute(review, evidence)
    problems = [
        f"{_WHY[n.status]}: {n.text} in «{_shorten(n.sentence)}»" + (f" ({n.detail})" if n.detail else "")
        for n in grounding.suspects
    ]
    if problems:
        problems.append(
            "quote each result with its model and benchmark named in the same sentence; "
            "a derived number only with both paper values stated next to it; otherwise say it in words"
        )
    return problems, grounding


_WHY = {
    ABSENT: "number not in the paper",
    MISMATCH: "number given for the wrong claim",
    WRONG_ARITHMETIC: "wrong arithmetic",
}


def _shorten(sentence: str, limit: int = 220) -> str:
    return sentence if len(sentence) <= limit else sentence[: limit - 1] + "…"


LINK_REMOVED = "[ссылка удалена]"
_MD_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)[^)]*\)")


def strip_foreign_links(text: str, code_url: str | None) -> str:
    """Remove every link outside the allowlist, so nothing foreign is ever published."""

    def markdown_link(match: re.Match[str]) -> str:
        return match.group(0) if _allowed(match.group(2), code_url) else f"{match.group(1)} {LINK_REMOVED}"

    text = _MD_LINK.sub(markdown_link, text)
    for link in sorted(set(find_links(text)), key=len, reverse=True):
        if not _allowed(link, code_url):
            text = text.replace(link, LINK_REMOVED)
    return text
