"""The LLM prompts are Jinja templates in templates/prompts/, so an operator can
edit them.

The prompt version is a hash of the template sources: an edited prompt gets a new version
automatically, and every stored review says which version wrote it.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from paperdigest.records import PaperMeta, Section
from paperdigest.resources import TEMPLATES_DIR
from summarizer.review_format import format_authors

PROMPTS_DIR = TEMPLATES_DIR / "prompts"
TEMPLATES = ("system.j2", "review.j2", "retry.j2")
PAPER_CLOSE = "</paper>"


@lru_cache(maxsize=4)
def _environment(directory: Path) -> Environment:
    # Plain text for an LLM, not HTML: autoescape off; StrictUndefined catches typos in edited templates.
    return Environment(
        loader=FileSystemLoader(directory), undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
    )


def prompt_version(directory: Path = PROMPTS_DIR) -> str:
    digest = hashlib.sha256()
    for name in TEMPLATES:
        digest.update((directory / name).read_bytes())
    return digest.hexdigest()[:12]


def _data(text: str) -> str:
    """Paper text cannot close the <paper> block early."""
    return text.replace(PAPER_CLOSE, "</ paper>").replace("<paper>", "< paper>")


def review_messages(
    meta: PaperMeta,
    sections: list[Section],
    *,
    code_url: str | None,
    notes: list[str],
    min_chars: int = 2500,
    max_chars: int = 6000,
    directory: Path = PROMPTS_DIR,
) -> list[dict[str, str]]:
    env = _environment(directory)
    system = env.get_template("system.j2").render(
        arxiv_id=meta.arxiv_id, code_url=code_url, min_chars=min_chars, max_chars=max_chars
    )
    safe_sections = [Section(_data(s.title), s.kind, _data(s.text), s.number) for s in sections]
    # The abstract goes once. The paper's own abstract section, when it was cut and sent, is
    # kept: it is the text under review, it went through the budget, and it can say more than
    # arXiv's (capped at 1,920 characters). arXiv's abstract heads the message only when no
    # abstract section came (the cutter found none), so the model always has one.
    header_abstract = None if any(s.kind == "abstract" for s in sections) else meta.abstract
    user = env.get_template("review.j2").render(
        meta=meta,
        authors=format_authors(meta.authors),
        code_url=code_url,
        notes=notes,
        sections=safe_sections,
        abstract=header_abstract,
    )
    return [{"role": "system", "content": system.strip()}, {"role": "user", "content": user.strip()}]


def retry_messages(
    previous: list[dict[str, str]], answer: str, problems: list[str], directory: Path = PROMPTS_DIR
) -> list[dict[str, str]]:
    follow_up = _environment(directory).get_template("retry.j2").render(problems=problems)
    return [*previous, {"role": "assistant", "content": answer}, {"role": "user", "content": follow_up.strip()}]
