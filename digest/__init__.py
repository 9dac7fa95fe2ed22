"""The static digest site: `build_site(settings)` writes it to SITE_DIR, `serve_site(settings, port)` serves it."""

from digest.build import BuildReport, build_site
from digest.serve import serve_site

__all__ = ["BuildReport", "build_site", "serve_site"]
