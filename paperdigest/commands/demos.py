"""`paperdigest demos …`: list the demos and run one. Thin: parse, call the library, print.

Mounted by the main CLI (`app.add_typer(demos_app, name="demos")`). torch and matplotlib
are an optional extra, imported only when a demo runs, so `paperdigest --help` and the
bot work without them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from demos.findings import NOT_REPRODUCED, REPRODUCED, UNCLEAR, findings_for
from demos.registry import DEMOS, demo_named, find_results, results_location

demos_app = typer.Typer(
    help="Small local reproductions of Coconut and iCoT that the reviews link to.", no_args_is_help=True
)


def _default_data_dir() -> Path:
    # Read at call time, through the one settings class, never at import.
    from paperdigest.settings import Settings

    return Settings().DATA_DIR


@demos_app.command("list")
def list_demos() -> None:
    """Show the demos, their papers, and where their results are."""
    data_dir = _default_data_dir()
    for demo in DEMOS:
        where = results_location(demo, data_dir)
        typer.echo(f"{demo.name:8} arXiv {demo.arxiv_id}  {demo.title}")
        typer.echo(f"{'':8} results: {where / 'results.json' if where else 'none yet'}; run: {demo.command} [--quick]")


@demos_app.command("show")
def show(name: Annotated[str, typer.Argument(help="Demo name: coconut or icot.")]) -> None:
    """Print a demo's last results and which of the paper's claims they reproduce."""
    demo = demo_named(name)
    if demo is None:
        raise typer.BadParameter(f"unknown demo {name!r}; choose one of: {', '.join(d.name for d in DEMOS)}")
    located = find_results(demo, _default_data_dir())
    if located is None:
        typer.echo(f"error: no results for {demo.name} yet; run: {demo.command}", err=True)
        raise typer.Exit(1)
    folder, results = located
    typer.echo(f"results: {folder / 'results.json'}")
    for line in summary_lines(results):
        typer.echo(line)


@demos_app.command("run")
def run(
    name: Annotated[str, typer.Argument(help="Demo name: coconut or icot.")],
    quick: Annotated[bool, typer.Option("--quick", help="Small settings: a few minutes on 2 cores (CI).")] = False,
    out: Annotated[Path | None, typer.Option(help="Output directory (default: DATA_DIR/demos/<name>).")] = None,
    seed: Annotated[int, typer.Option(help="Seed for weights and data; same seed, same results.")] = 0,
    digits: Annotated[
        int | None, typer.Option(help="icot only: digits per factor (default: 3; 4 is the paper's smallest case).")
    ] = None,
    threads: Annotated[
        int,
        typer.Option(
            help="torch CPU threads; 0 keeps torch's default. On a busy "
            "machine 1 is often faster than 2 for these tiny models."
        ),
    ] = 0,
) -> None:
    """Train the demo's models, write results.json and PNG plots, print a summary."""
    demo = demo_named(name)
    if demo is None:
        raise typer.BadParameter(f"unknown demo {name!r}; choose one of: {', '.join(d.name for d in DEMOS)}")
    try:
        runner = _load_runner(demo.name)
    except ImportError as err:
        typer.echo(
            f"error: the demos need torch and matplotlib ({err.name} is missing); "
            "install the extra: pip install -e '.[demos]'",
            err=True,
        )
        raise typer.Exit(1) from None
    if threads > 0:
        import torch

        torch.set_num_threads(threads)
    variant = demo.name if digits in (None, 3) else f"{demo.name}-{digits}x{digits}"
    out_dir = out if out is not None else _default_data_dir() / "demos" / variant
    try:
        results = runner(quick, seed, digits, out_dir)
    except ValueError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    for line in summary_lines(results):
        typer.echo(line)
    typer.echo(f"wrote {out_dir / 'results.json'} and {len(results['plots'])} plots")


def _load_runner(name: str):
    """The function running a demo; imports torch only now."""
    if name == "icot":
        from demos import icot_run

        def run_icot(quick: bool, seed: int, digits: int | None, out_dir: Path) -> dict:
            base = icot_run.QUICK if quick else (icot_run.FULL_4X4 if digits == 4 else icot_run.FULL)
            return icot_run.run_icot(dataclasses.replace(base, seed=seed, digits=digits or base.digits), out_dir)

        return run_icot
    from demos import coconut_run

    def run_coconut(quick: bool, seed: int, digits: int | None, out_dir: Path) -> dict:
        base = coconut_run.QUICK if quick else coconut_run.FULL
        return coconut_run.run_coconut(dataclasses.replace(base, seed=seed), out_dir)

    return run_coconut


def summary_lines(results: dict) -> list[str]:
    lines = [
        f"{results['demo']} ({'quick' if results['quick'] else 'full'}, seed {results['seed']}): "
        f"{results['wall_time_s']} s wall, {results['cpu_time_s']} s CPU"
    ]
    for method, scores in results["methods"].items():
        if "examples_per_s" in scores:
            extra = f", {scores['examples_per_s']:.0f} ex/s"
        else:
            extra = f", {scores['tokens']:.1f} tokens"
        lines.append(f"  {method:18} accuracy {scores['accuracy']:.3f}{extra}")
    for name, scores in results.get("ablations", {}).items():
        lines.append(f"  ablation {name:9} accuracy {scores['accuracy']:.3f}")
    for finding in findings_for(results):  # the claims are in Russian, as on the site
        lines.append(
            f"  [{VERDICTS[finding.verdict]}] {finding.claim} — paper: {finding.paper}; this run: {finding.ours}"
        )
    return lines


VERDICTS = {REPRODUCED: "reproduced", NOT_REPRODUCED: "not reproduced", UNCLEAR: "within noise"}
