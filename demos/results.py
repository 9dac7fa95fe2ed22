"""Writing a run's results.json: the same envelope for every demo.

Fields every file has: demo, arxiv_id, quick, seed, config, machine, started_at,
wall_time_s, paper (their numbers), plots (PNG names next to the file), and the
demo-specific measurements. Readers (the site, the bot) use `demos.registry.load_results`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

RESULTS_FILE = "results.json"


def _finite(value: object) -> object:
    """JSON has no inf/nan: write them as strings so the file stays standard JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def write_results(out_dir: Path, results: dict) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / RESULTS_FILE
    path.write_text(json.dumps(_finite(results), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def rounded(value: float, digits: int = 4) -> float:
    return round(float(value), digits)
