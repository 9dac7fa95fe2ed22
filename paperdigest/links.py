"""Where things live on the digest site: one definition for the site builder, posts and feeds."""

from __future__ import annotations

from pathlib import Path

from demos.registry import demo_for, find_results


def paper_slug(arxiv_id: str) -> str:
    """Old-style ids carry a slash (hep-th/9901001): not a path separator on the site."""
    return arxiv_id.replace("/", "_")


def paper_path(arxiv_id: str) -> str:
    return f"papers/{paper_slug(arxiv_id)}/"


def paper_url(site_url: str, arxiv_id: str) -> str:
    return f"{site_url.rstrip('/')}/{paper_path(arxiv_id)}"


def demo_url(site_url: str, data_dir: Path, arxiv_id: str) -> str | None:
    """The demo page of a paper with a local reproduction whose results exist (else no page to link)."""
    demo = demo_for(arxiv_id)
    if demo is None or find_results(demo, data_dir) is None:
        return None
    return f"{site_url.rstrip('/')}/demos/{demo.name}/"
