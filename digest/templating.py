"""The Jinja2 environment of the site: autoescape, StrictUndefined, and a few Russian filters."""

from __future__ import annotations

import html
import re
from datetime import datetime
from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from digest import paths
from digest.markdown import render_inline
from paperdigest import resources

TEMPLATES_DIR = resources.TEMPLATES_DIR / "site"

MONTHS_GENITIVE = (
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
)
MONTHS_NOMINATIVE = (
    "январь",
    "февраль",
    "март",
    "апрель",
    "май",
    "июнь",
    "июль",
    "август",
    "сентябрь",
    "октябрь",
    "ноябрь",
    "декабрь",
)

# Characters that can start Markdown or math; a TL;DR without them is plain text, and
# escaping it gives what markdown-it would (most TL;DRs: it saves most of a full build).
_MARKUP_CHARS = re.compile(r"[\\`*_\[\]!<>$~#|&\n]|^\s*[-+\d]|^ {4}")


def ru_date(value: datetime | None) -> str:
    if value is None:
        return "—"
    return f"{value.day} {MONTHS_GENITIVE[value.month - 1]} {value.year}"


def ru_month(month: str) -> str:
    """'2024-12' → 'декабрь 2024'."""
    year, number = month.split("-")
    return f"{MONTHS_NOMINATIVE[int(number) - 1]} {year}"


def iso(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def thousands(value: int) -> str:
    return f"{value:,}".replace(",", "\u202f")  # a narrow no-break space, as Russian typesetting does


@lru_cache(maxsize=32768)
def inline_markdown(text: str) -> Markup:
    if not _MARKUP_CHARS.search(text):
        return Markup(html.escape(text, quote=False))
    return Markup(render_inline(text))


def web_url(value: str | None) -> str | None:
    """The URL if it is http(s), else None: a `javascript:` code link must never become an href."""
    if value and value.strip().lower().startswith(("https://", "http://")):
        return value.strip()
    return None


def reviews_word(count: int) -> str:
    """Russian plural: 1 рецензия, 2 рецензии, 5 рецензий."""
    if count % 10 == 1 and count % 100 != 11:
        return "рецензия"
    if 2 <= count % 10 <= 4 and not 12 <= count % 100 <= 14:
        return "рецензии"
    return "рецензий"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        ru_date=ru_date,
        ru_month=ru_month,
        iso=iso,
        thousands=thousands,
        inline_markdown=inline_markdown,
        reviews_word=reviews_word,
        web_url=web_url,
    )
    env.globals.update(
        category_path=paths.category_path, month_path=paths.month_path, abs_url=paths.abs_url, pdf_url=paths.pdf_url
    )
    return env


def render(template: str, **context: object) -> str:
    return environment().get_template(template).render(**context)
