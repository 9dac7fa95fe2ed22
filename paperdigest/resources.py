"""Files the code reads at run time: Jinja templates (LLM prompts, site, Telegram help) and
Alembic migrations. They sit at the top of the checkout (`templates/`, `migrations/`), and
the wheel carries them inside this package (pyproject.toml maps them there), so a plain
install finds them as well as an editable one (tests/app/test_packaging.py)."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _resource_dir(name: str) -> Path:
    shipped = PACKAGE_DIR / name  # an installed wheel
    return shipped if shipped.is_dir() else PACKAGE_DIR.parent / name  # the checkout


TEMPLATES_DIR = _resource_dir("templates")
MIGRATIONS_DIR = _resource_dir("migrations")
