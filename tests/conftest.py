"""Shared fixtures: a clean environment, settings pointing at temp dirs and local fakes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from paperdigest.settings import Settings

pytest_plugins = [
    "tests.fakes.plugin",
    "tests.fakes.telegram_plugin",
    "tests.support.site",
    "tests.support.fixtures",
    "tests.support.postgres",
]  # database_url: each backend, a real PostgreSQL server

# Every variable of the configuration contract and the pipeline: a developer's real
# token or key in the environment must never reach a test (httpx's clean_environ).
SETTING_NAMES = tuple(Settings.model_fields)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (*SETTING_NAMES, "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env from the checkout
    # the demo results committed under demos/published/ would otherwise change every page
    # and header of the Coconut and iCoT papers; tests that want them put their own there
    monkeypatch.setattr("demos.registry.PUBLISHED_DIR", tmp_path / "no-published-demos")


def backend_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database the `settings` of a test use: a SQLite file, or with
    PAPERDIGEST_TEST_BACKEND=postgresql (`make test-postgres`) a fresh database on the real
    PostgreSQL test server, so the whole suite runs on either backend."""
    if os.environ.get("PAPERDIGEST_TEST_BACKEND", "sqlite") == "postgresql":
        return request.getfixturevalue("postgres_database")
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def settings(tmp_path: Path, fake_arxiv, request: pytest.FixtureRequest) -> Settings:
    return Settings(
        _env_file=None,
        DATABASE_URL=backend_database_url(request, tmp_path),
        DATA_DIR=tmp_path / "data",
        SITE_DIR=tmp_path / "site",
        ARXIV_API_URL=fake_arxiv.api_url,
        ARXIV_PDF_URL=fake_arxiv.pdf_url_template,
        ARXIV_DELAY_S=0.0,
        ARXIV_RETRIES=3,
        RETRY_BASE_S=0.05,
        EXTRACT_TIMEOUT_S=30.0,
    )
