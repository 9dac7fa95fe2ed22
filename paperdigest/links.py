"""Where things live on the digest site: one definition for the site builder, posts and feeds."""

from __future__ import annotations

import hashlib
import re

# arXiv category names ("cs.CL", "hep-th", "math.GT") and ids ("2412.06769", "hep-th/9901001")
# fit this; anything else (a test's hostile metadata) gets a hashed, still unique, name.
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$")


def slug(text: str) -> str:
    """A file-system- and URL-safe name; injective over the texts it meets."""
    if _SAFE.match(text) and ".." not in text:
        return text
    cleaned = re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip(".-")[:60] or "x"
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]
    return f"{cleaned}-{digest}"


def paper_slug(arxiv_id: str) -> str:
    # Old-style ids carry a slash; "_" never occurs in an arXiv id, so the mapping stays one-to-one.
    return slug(arxiv_id.replace("/", "_"))


def paper_path(arxiv_id: str) -> str:
    # One file per paper, not a folder with index.html: on the 2-core build machine creating a
    # folder costs as much as writing the page, and there are 10,000 of them (bench/site.py).
    return f"papers/{paper_slug(arxiv_id)}.html"


def paper_url(site_url: str, arxiv_id: str) -> str:
    return f"{site_url.rstrip('/')}/{paper_path(arxiv_id)}"
