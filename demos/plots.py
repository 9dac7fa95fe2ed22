"""Three kinds of PNG the demos write: lines, grouped bars, stacked bars.

Figures are built on matplotlib's object API with the Agg canvas, never pyplot, so
nothing global (a backend, an open window) changes when a demo runs inside the bot or a
test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

Series = Mapping[str, tuple[Sequence[float], Sequence[float]]]


def _figure(title: str, xlabel: str, ylabel: str) -> tuple[Figure, object]:
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return fig, ax


def _save(fig: Figure, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path.name


def line_plot(
    path: Path,
    title: str,
    xlabel: str,
    ylabel: str,
    series: Series,
    hline: tuple[float, str] | None = None,
    ylim: tuple[float, float] | None = None,
) -> str:
    fig, ax = _figure(title, xlabel, ylabel)
    for label, (xs, ys) in series.items():
        ax.plot(xs, ys, marker="o" if len(xs) < 40 else None, markersize=3, label=label)
    if hline is not None:
        ax.axhline(hline[0], color="grey", linestyle="--", linewidth=1, label=hline[1])
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.legend(fontsize=8)
    return _save(fig, path)


def bar_plot(
    path: Path,
    title: str,
    ylabel: str,
    groups: Sequence[str],
    bars: Mapping[str, Sequence[float | None]],
    ylim: tuple[float, float] | None = None,
    hline: tuple[float, str] | None = None,
) -> str:
    """Grouped bars: one group per entry of `groups`, one bar per key of `bars`
    (e.g. "this toy" and "paper"); None leaves a gap."""
    fig, ax = _figure(title, "", ylabel)
    width = 0.8 / max(len(bars), 1)
    for i, (label, values) in enumerate(bars.items()):
        xs = [g + i * width for g, v in enumerate(values) if v is not None]
        ax.bar(xs, [v for v in values if v is not None], width=width, label=label)
    ax.set_xticks([g + width * (len(bars) - 1) / 2 for g in range(len(groups))], groups, rotation=20, fontsize=8)
    if hline is not None:
        ax.axhline(hline[0], color="grey", linestyle="--", linewidth=1, label=hline[1])
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.legend(fontsize=8)
    return _save(fig, path)


def stacked_bar(
    path: Path, title: str, xlabel: str, columns: Sequence[str], parts: Mapping[str, Sequence[float]]
) -> str:
    """One bar per column, split into `parts` (fractions that sum to 1 per column)."""
    fig, ax = _figure(title, xlabel, "share of test cases")
    bottoms = [0.0] * len(columns)
    for label, values in parts.items():
        ax.bar(columns, values, bottom=bottoms, label=label)
        bottoms = [b + v for b, v in zip(bottoms, values)]
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _save(fig, path)
