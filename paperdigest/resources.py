"""Files the code reads at run time, shipped inside the package so a plain (non-editable)
install finds them: Jinja templates (LLM prompts, site, Telegram help) and Alembic migrations."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"
