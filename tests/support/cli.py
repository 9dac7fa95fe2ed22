"""The environment `paperdigest` commands get in the CLI tests: the test settings' database,
data directory and fake arXiv, no delays."""

from __future__ import annotations

from paperdigest.settings import Settings


def env_for(settings: Settings) -> dict[str, str]:
    return {
        "DATABASE_URL": settings.DATABASE_URL,
        "DATA_DIR": str(settings.DATA_DIR),
        "ARXIV_API_URL": settings.ARXIV_API_URL,
        "ARXIV_PDF_URL": settings.ARXIV_PDF_URL,
        "ARXIV_DELAY_S": "0",
        "RETRY_BASE_S": "0.05",
    }
