"""Where things live on the digest site: one definition for the site builder, posts and feeds."""

from __future__ import annotations


def paper_slug(arxiv_id: str) -> str:
    """Old-style ids carry a slash (hep-th/9901001): not a path separator on the site."""
    return arxiv_id.replace("/", "_")


def paper_path(arxiv_id: str) -> str:
    return f"papers/{paper_slug(arxiv_id)}/"


def paper_url(site_url: str, arxiv_id: str) -> str:
    return f"{site_url.rstrip('/')}/{paper_path(arxiv_id)}"
