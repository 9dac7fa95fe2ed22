"""Where each page lives in the site, and how one page links to another.

Internal links are relative and name `index.html` explicitly, so the site works from any
static host, from a sub-folder, and opened straight from disk (`file://`, where a link to
a folder would show a directory listing). Feeds and the sitemap use absolute URLs under
SITE_URL, with the pretty folder form.
"""

from __future__ import annotations

# The paper permalinks are shared with the bot's posts: one definition, in paperdigest.links.
from paperdigest.links import paper_path, paper_slug, slug  # noqa: F401


def category_dir(category: str) -> str:
    return f"categories/{slug(category)}"


def category_path(category: str, page: int | None = None) -> str:
    if page is None:
        return f"{category_dir(category)}/index.html"
    return f"{category_dir(category)}/page/{page}/index.html"


def index_path(page: int | None = None) -> str:
    return "index.html" if page is None else f"page/{page}/index.html"


def month_path(month: str) -> str:
    return f"archive/{month}/index.html"


def root_of(path: str) -> str:
    """The relative prefix from a page back to the site root: "" or "../../"."""
    return "../" * path.count("/")


def pretty_url(site_url: str, path: str) -> str:
    """The absolute URL of a page for feeds and the sitemap: folder form, no index.html."""
    base = site_url.rstrip("/") + "/"
    if path == "index.html":
        return base
    if path.endswith("/index.html"):
        return base + path[: -len("index.html")]
    return base + path


def abs_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/abs/{arxiv_id}"


def pdf_url(arxiv_id: str, version: int) -> str:
    return f"https://arxiv.org/pdf/{arxiv_id}v{version}"
