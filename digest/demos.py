"""Local demos on the site: for papers with a reproduction in `demos/` (Coconut, iCoT).

`demos.registry` says which papers have a demo and finds the results of the last run
(`DATA_DIR/demos/<name>/results.json`, else the copy published with the code). Until a
results file exists there is no demo section and no demo page. With one, the paper page
gets a "Локальное демо" section and the site a page `demos/<name>/index.html` (the address
the review header links to), both showing the run's numbers, its plots and how to rerun it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from demos.findings import Finding, findings_for, paper_values
from demos.registry import DEMOS, find_results

# Top-level facts worth a line, with Russian labels; everything else stays in results.json.
FACTS = (
    ("task", "задача"),
    ("parameters", "параметров в модели"),
    ("speedup", "ускорение без CoT, раз"),
    ("seed", "seed"),
    ("wall_time_s", "время прогона, с"),
)
_PLOT_NAME = re.compile(r"^[A-Za-z0-9_.-]+\.png$")
MAX_METRICS = 4  # with the paper's column, what fits a phone-width table


@dataclass(frozen=True)
class DemoView:
    name: str
    arxiv_id: str
    summary: str
    command: str
    quick: bool
    facts: tuple[tuple[str, str], ...]
    metrics: tuple[str, ...]  # the columns of the methods table
    methods: tuple[tuple[str, tuple[str, ...]], ...]  # (method, its value per metric, the paper's last)
    findings: tuple[Finding, ...]  # the papers' claims, reproduced or not
    plots: tuple[tuple[str, Path], ...]  # (path in the site, PNG file)
    stamp: str  # changes when the results or the plots change

    @property
    def page_path(self) -> str:
        return f"demos/{self.name}/index.html"


def number(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _methods(results: dict) -> tuple[tuple[str, ...], tuple[tuple[str, tuple[str, ...]], ...]]:
    methods = {k: v for k, v in (results.get("methods") or {}).items() if isinstance(v, dict)}
    metrics: list[str] = []
    for values in methods.values():
        metrics += [k for k, v in values.items() if isinstance(v, (int, float)) and k not in metrics]
    metrics = metrics[:MAX_METRICS]
    paper = paper_values(results)
    rows = tuple(
        (name, (*(number(values.get(m, "—")) for m in metrics), paper.get(name, "—")))
        for name, values in methods.items()
    )
    return (*metrics, "статья"), rows


def _plots(name: str, folder: Path, results: dict) -> tuple[tuple[str, Path], ...]:
    names = [p for p in results.get("plots") or () if isinstance(p, str) and _PLOT_NAME.match(p)]
    return tuple((f"demos/{name}/{p}", folder / p) for p in names if (folder / p).is_file())


def _stamp(results: dict, plots: tuple[tuple[str, Path], ...]) -> str:
    digest = hashlib.sha1(json.dumps(results, sort_keys=True, default=str).encode())
    for _path, file in plots:
        digest.update(file.read_bytes())
    return digest.hexdigest()


def find_demos(data_dir: Path) -> dict[str, DemoView]:
    """The demos that have results, keyed by arXiv id."""
    found: dict[str, DemoView] = {}
    for demo in DEMOS:
        located = find_results(demo, Path(data_dir))
        if located is None:
            continue
        folder, results = located
        metrics, methods = _methods(results)
        plots = _plots(demo.name, folder, results)
        facts = tuple(
            (label, number(results[key])) for key, label in FACTS if isinstance(results.get(key), (str, int, float))
        )
        found[demo.arxiv_id] = DemoView(
            demo.name,
            demo.arxiv_id,
            demo.summary,
            demo.command,
            bool(results.get("quick")),
            facts,
            metrics,
            methods,
            tuple(findings_for(results)),
            plots,
            _stamp(results, plots),
        )
    return found
