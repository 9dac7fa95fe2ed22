"""sitemap.xml: every HTML page under its absolute SITE_URL address, paper pages with a lastmod."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from xml.sax.saxutils import escape

from digest import paths

HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'


def sitemap_xml(site_url: str, pages: Iterable[tuple[str, datetime | None]]) -> bytes:
    """`pages`: (path in the site, last change or None); 404.html is never listed."""
    lines = [HEADER]
    for path, changed in pages:
        if path == "404.html":
            continue
        lastmod = f"<lastmod>{changed.date().isoformat()}</lastmod>" if changed else ""
        lines.append(f"<url><loc>{escape(paths.pretty_url(site_url, path))}</loc>{lastmod}</url>\n")
    lines.append("</urlset>\n")
    return "".join(lines).encode("utf-8")
