"""Which arXiv papers have a local demo, and where a demo's results are.

Used by the site and the bot, which must work without torch: this module imports only
the standard library. Results are looked for first where a local run writes them
(`DATA_DIR/demos/<name>/`), then in the copy committed with the code
(`demos/published/<name>/`, written by the full runs), so the site shows results on a
machine that never ran torch. A local `--quick` run never hides published full results.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from demos.results import RESULTS_FILE

PUBLISHED_DIR = Path(__file__).parent / "published"


@dataclass(frozen=True)
class Demo:
    name: str
    arxiv_id: str
    title: str
    summary: str  # one Russian sentence for the review header and the site

    @property
    def command(self) -> str:
        return f"paperdigest demos run {self.name}"

    @property
    def quick_command(self) -> str:
        return f"{self.command} --quick"

    def results_dir(self, data_dir: Path) -> Path:
        """Where `paperdigest demos run <name>` writes by default."""
        return Path(data_dir) / "demos" / self.name

    @property
    def published_dir(self) -> Path:
        return PUBLISHED_DIR / self.name


DEMOS = (
    Demo(
        "coconut",
        "2412.06769",
        "Training Large Language Models to Reason in a Continuous Latent Space",
        "Coconut в миниатюре: непрерывные «мысли» на задаче поиска пути в графе (ProsQA), "
        "сравнение с CoT, No-CoT и pause-токенами, анализ латентного поиска.",
    ),
    Demo(
        "icot",
        "2405.14838",
        "From Explicit CoT to Implicit CoT: Learning to Internalize CoT Step by Step",
        "iCoT в миниатюре: умножение 3×3 с постепенным удалением токенов цепочки рассуждений, "
        "кривая точности, скорость и абляции устойчивости.",
    ),
)

_VERSION = re.compile(r"v\d+$")


def _normalize(arxiv_id: str) -> str:
    text = arxiv_id.strip()
    text = text.removeprefix("arXiv:").removeprefix("arxiv:")
    return _VERSION.sub("", text)


def demo_for(arxiv_id: str) -> Demo | None:
    """The demo of a paper, if any; accepts versioned ids (`2412.06769v2`) and `arXiv:`."""
    wanted = _normalize(arxiv_id)
    return next((demo for demo in DEMOS if demo.arxiv_id == wanted), None)


def demo_named(name: str) -> Demo | None:
    return next((demo for demo in DEMOS if demo.name == name), None)


def find_results(demo: Demo, data_dir: Path) -> tuple[Path, dict] | None:
    """The directory and contents of the results to show: a local run, unless it was a
    --quick run and a full one is published. Unreadable or invalid files are skipped (a
    half-written file must not break the site)."""
    found = []
    for directory in (demo.results_dir(data_dir), demo.published_dir):
        try:
            results = json.loads((directory / RESULTS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(results, dict):
            found.append((directory, results))
    full = [item for item in found if not item[1].get("quick")]
    return (full or found or [None])[0]


def results_location(demo: Demo, data_dir: Path) -> Path | None:
    """The directory holding the results.json (and PNGs) that `load_results` reads."""
    found = find_results(demo, data_dir)
    return found[0] if found else None


def load_results(demo: Demo, data_dir: Path) -> dict | None:
    """The demo's results, or None when no run has written any."""
    found = find_results(demo, data_dir)
    return found[1] if found else None


def demo_url(site_url: str, data_dir: Path, arxiv_id: str) -> str | None:
    """The demo page of a paper with a local reproduction whose results exist (else no page to link)."""
    demo = demo_for(arxiv_id)
    if demo is None or find_results(demo, data_dir) is None:
        return None
    return f"{site_url.rstrip('/')}/demos/{demo.name}/"
