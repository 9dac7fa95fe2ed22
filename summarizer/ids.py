"""arXiv identifiers: every form a person pastes, parsed before any network call.

Accepted: 2412.06769, 2412.06769v2, arXiv:2412.06769, https://arxiv.org/abs/2412.06769,
…/pdf/2412.06769v1, …/pdf/2412.06769.pdf, http://export.arxiv.org/abs/…, old-style
hep-th/9901001 and math.GT/0309136v2 (known archives only), with surrounding spaces or
<angle brackets>.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from paperdigest.errors import BadArxivId

ACCEPTED_FORMS = (
    "2412.06769, 2412.06769v2, arXiv:2412.06769, https://arxiv.org/abs/2412.06769, "
    "https://arxiv.org/pdf/2412.06769v1, hep-th/9901001, math.GT/0309136v2"
)
MAX_INPUT_CHARS = 300

# The archives of old-style ids: those arXiv numbered before the April 2007 switch to
# YYMM.NNNNN, from ARCHIVES in arXiv's own taxonomy (arxiv-base, arxiv/taxonomy/
# definitions.py), i.e. every archive with a start date before 2007-04 except the internal
# "test". econ, eess, q-fin and stat began in 2007 or later and so have new-style ids only.
# Anything else before the slash ("foo/9901001") is refused here, not asked of arXiv.
OLD_ARCHIVES = (
    "acc-phys",
    "adap-org",
    "alg-geom",
    "ao-sci",
    "astro-ph",
    "atom-ph",
    "bayes-an",
    "chao-dyn",
    "chem-ph",
    "cmp-lg",
    "comp-gas",
    "cond-mat",
    "cs",
    "dg-ga",
    "funct-an",
    "gr-qc",
    "hep-ex",
    "hep-lat",
    "hep-ph",
    "hep-th",
    "math",
    "math-ph",
    "mtrl-th",
    "nlin",
    "nucl-ex",
    "nucl-th",
    "patt-sol",
    "physics",
    "plasm-ph",
    "q-alg",
    "q-bio",
    "quant-ph",
    "solv-int",
    "supr-con",
)

# New style (2007+): YYMM.NNNN (to 2014) or YYMM.NNNNN (2015+), month 01-12.
_NEW = r"(?P<new>(?P<yy>\d{2})(?P<mm>\d{2})\.(?P<num>\d{4,5}))"
# Old style (to 2007): archive[.SUBJ]/YYMMNNN.
_OLD = r"(?P<old>(?P<archive>[a-z]+(?:-[a-z]+)*)(?:\.(?P<subj>[A-Z]{2}))?/(?P<oldnum>\d{7}))"
_ID = rf"(?:{_NEW}|{_OLD})(?:v(?P<version>[1-9]\d{{0,3}}))?"
_URL_PREFIX = (
    r"(?:https?://)?(?:www\.|export\.)?arxiv\.org/"
    r"(?:abs|pdf|html|format)/"
)
_PATTERN = re.compile(rf"^(?:arxiv:\s*|{_URL_PREFIX})?{_ID}(?:\.pdf)?/?(?:[?#].*)?$", re.IGNORECASE | re.ASCII)
# re.IGNORECASE accepts "ARXIV:" and "HTTPS://"; old-style archive names are lowercase
# and subject classes uppercase, so their case is re-checked in parse_arxiv_id.


@dataclass(frozen=True, order=True)
class ArxivId:
    base: str  # "2412.06769" or "hep-th/9901001"
    version: int | None = None

    def __str__(self) -> str:
        return self.versioned if self.version else self.base

    @property
    def versioned(self) -> str:
        return f"{self.base}v{self.version}" if self.version else self.base

    @property
    def is_old_style(self) -> bool:
        return "/" in self.base

    @property
    def filename(self) -> str:
        """A file-system-safe stem: old-style ids contain a slash."""
        return str(self).replace("/", "_")


def _bad(text: str, reason: str, user_message: str | None = None) -> BadArxivId:
    shown = text if len(text) <= 60 else text[:57] + "..."
    error = BadArxivId(f"{shown!r} is not an arXiv identifier ({reason}). Accepted forms: {ACCEPTED_FORMS}.")
    if user_message:  # the class's generic Russian sentence, unless this case has a more precise one
        error.user_message = user_message
    return error


def _unknown_archive(text: str, archive: str) -> BadArxivId:
    archive = archive if len(archive) <= 30 else archive[:27] + "..."
    reason = (
        f"{archive!r} is not an arXiv archive: old-style ids, used until March 2007, begin with one of "
        f"{', '.join(OLD_ARCHIVES)}; check the part before the slash, or use the new-style number"
    )
    russian = (
        f"«{archive}» — не архив arXiv: в старых номерах (до 2007 года) перед косой чертой стоит "
        "название архива, например hep-th/9901001 или math.GT/0309136. Проверьте номер или пришлите "
        "новый, вида 2412.06769."
    )
    return _bad(text, reason, russian)


def parse_arxiv_id(text: str) -> ArxivId:
    """Parse one identifier or link; raise BadArxivId saying which forms are accepted."""
    if len(text) > MAX_INPUT_CHARS:
        raise _bad(text, f"longer than {MAX_INPUT_CHARS} characters")
    # NFKC turns full-width digits and letters (pasted from CJK layouts) into ASCII.
    cleaned = unicodedata.normalize("NFKC", text).strip().strip("<>").strip()
    if not cleaned:
        raise _bad(text, "empty")
    match = _PATTERN.match(cleaned)
    if not match:
        raise _bad(cleaned, "unrecognised form")
    if match.group("new"):
        month = int(match.group("mm"))
        if not 1 <= month <= 12:
            raise _bad(cleaned, f"month {month:02d} does not exist")
        year, digits = int(match.group("yy")), len(match.group("num"))
        if (year, month) < (7, 4):
            raise _bad(cleaned, "new-style ids start in April 2007 (0704.xxxx)")
        if digits != (5 if year >= 15 else 4):
            raise _bad(cleaned, "ids have four digits after the dot until 2014 and five since 2015")
        base = match.group("new")
    else:
        archive, subj = match.group("archive"), match.group("subj")
        if archive != archive.lower() or (subj and subj != subj.upper()):
            raise _bad(cleaned, "old-style ids look like hep-th/9901001 or math.GT/0309136")
        if archive not in OLD_ARCHIVES:
            raise _unknown_archive(cleaned, archive)
        base = f"{archive}.{subj}/{match.group('oldnum')}" if subj else f"{archive}/{match.group('oldnum')}"
    version = match.group("version")
    return ArxivId(base=base, version=int(version) if version else None)


def find_arxiv_ids(text: str) -> list[ArxivId]:
    """Every distinct identifier in free text (for a message with several ids or links)."""
    found: list[ArxivId] = []
    for token in re.split(r"[\s,;]+", text):
        try:
            arxiv_id = parse_arxiv_id(token)
        except BadArxivId:
            continue
        if arxiv_id not in found:
            found.append(arxiv_id)
    return found
