"""Checks a review must pass before it is published (review-style.md).

Pure functions: each check returns English problem strings (the retry prompt quotes them
to the LLM, the database stores them, admins read them). The worst failure such a tool can
have is an invented result, so every number the review quotes must occur in the paper text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import urlparse

from summarizer.review_format import ReviewBody

MIN_CYRILLIC_SHARE = 0.5
ALLOWED_HOSTS = ("arxiv.org", "doi.org")
SMALL_INTEGER = 10  # "2 модели", "в 3 раза": too common to check, too small to mislead

_URL = re.compile(r"(?:https?://|www\.)[^\s)\]>\"'«»]+", re.IGNORECASE)
# A bare host name (no scheme) counts as a link when its last label is a top-level domain
# people use for links. The whole dotted name is matched, so "arxiv.org.evil.example" is read
# as the host it is, not as arxiv.org. Module paths such as torch.nn or np.array do not end in
# one of these and are left alone.
_TLDS = ("com|org|net|edu|gov|io|ai|ru|su|ua|by|kz|co|uk|us|de|fr|cn|jp|in|eu|me|cc|tv|ly|gg|dev|app|info|"
         "biz|xyz|top|site|online|tech|club|pro|link|click|live|news|blog|page|store|shop|space|website|"
         "cloud|digital|example|test|invalid|local|onion|to|sh|so|gl|gd|is|vc")
_BARE_DOMAIN = re.compile(rf"(?<![\w.@-])(?:[a-z0-9-]+\.)+(?:{_TLDS})(?![\w-])(?!\.[a-z0-9])(?:/[^\s)\]>\"'«»]*)?",
                          re.IGNORECASE)
_MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$", re.DOTALL)
_CODE = re.compile(r"`[^`]*`")
# A number as people write it: 97.0, 97,0 (Russian), 33,511 or 33 511 (thousands), 1e-3.
_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:[ \u00a0\u202f\u2009]\d{3})+|\d+(?:[.,]\d+)*)(?:[eE][-−]?\d+)?(?![\w])")
_ARXIV_LIKE = re.compile(r"\b\d{4}\.\d{4,5}(?:v\d+)?\b")


@dataclass(frozen=True)
class Validation:
    problems: list[str]

    @property
    def passed(self) -> bool:
        return not self.problems


def validate_review(body: ReviewBody, *, paper_text: str, code_url: str | None, finish_reason: str | None,
                    require_russian: bool = True) -> Validation:
    text = _full_text(body)
    problems = []
    if finish_reason == "length":
        problems.append("the answer was cut off at the output token limit (finish_reason=length); write it shorter")
    problems += check_sections(body)
    if require_russian:
        problems += check_russian(text)
    problems += check_links(text, code_url)
    problems += check_numbers(text, paper_text)
    return Validation(problems)


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
    prose = _CODE.sub(" ", _MATH.sub(" ", _URL.sub(" ", text)))
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
    if any(host == h or host.endswith("." + h) for h in ALLOWED_HOSTS):
        return True
    if code_url:
        code = urlparse(code_url)
        parsed = urlparse(candidate)
        return host == (code.hostname or "").lower() and parsed.path.rstrip("/").lower().startswith(
            code.path.rstrip("/").lower())
    return False


def find_links(text: str) -> list[str]:
    found = [m.group(0).rstrip(".,;:!?") for m in _URL.finditer(text)]
    without_urls = _URL.sub(" ", _MATH.sub(" ", text))
    found += [m.group(0).rstrip(".,;:!?") for m in _BARE_DOMAIN.finditer(without_urls)]
    return found


def check_links(text: str, code_url: str | None) -> list[str]:
    foreign = sorted({link for link in find_links(text) if not _allowed(link, code_url)})
    if foreign:
        allowed = "arxiv.org, doi.org" + (f", {code_url}" if code_url else "")
        return [f"links to other sites are not allowed ({', '.join(foreign)}); allowed: {allowed}"]
    return []


def _readings(raw: str) -> set[Decimal]:
    """The values a written number can mean: '33,511' is 33511 in English and 33.511 in Russian."""
    raw = raw.replace("\u2212", "-")
    compact = re.sub(r"[ \u00a0\u202f\u2009]", "", raw)
    options = {compact.replace(",", ""), compact.replace(",", ".")} if "," in compact else {compact}
    values = set()
    for option in options:
        if option.count(".") > 1:
            continue
        try:
            values.add(Decimal(option))
        except InvalidOperation:
            continue
    return values


def paper_numbers(paper_text: str) -> set[Decimal]:
    values: set[Decimal] = set()
    for match in _NUMBER.finditer(_ARXIV_LIKE.sub(" ", paper_text)):
        for value in _readings(match.group(0)):
            values.update({value, value * 100, value / 100})  # 0.945 is also 94.5%
    return values


def _matches(value: Decimal, known: set[Decimal]) -> bool:
    if value in known:
        return True
    exponent = value.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    quantum = Decimal(1).scaleb(-places)
    # The review may round what the paper prints more precisely (97.03 → 97.0), never the reverse.
    return any(k.quantize(quantum) == value for k in known if abs(k - value) < 1)


def check_numbers(text: str, paper_text: str) -> list[str]:
    known = paper_numbers(paper_text)
    prose = _URL.sub(" ", _ARXIV_LIKE.sub(" ", _MATH.sub(" ", text)))
    invented = []
    for match in _NUMBER.finditer(prose):
        readings = _readings(match.group(0))
        if not readings or all(abs(v) <= SMALL_INTEGER and v == v.to_integral_value() for v in readings):
            continue
        if not any(_matches(v, known) for v in readings):
            invented.append(match.group(0))
    if invented:
        unique = list(dict.fromkeys(invented))
        return [f"numbers not found in the paper text: {', '.join(unique[:12])}; quote only numbers the paper gives"]
    return []


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
