"""The Coconut demo end to end: train each method on the ProsQA-like task, evaluate it next
to the paper's table, run the latent-search analysis on the Coconut model, and write
results.json and plots.

Data: a pool of graph structures from the training seed (re-labelled, re-shuffled every
time one is drawn); test questions are generated from another seed, so test graphs are
never trained on and nothing is tuned on them.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import torch

from demos import coconut, paper, prosqa
from demos import coconut_analysis as analysis
from demos.model import ModelConfig, TinyGPT, count_parameters
from demos.plots import bar_plot, line_plot, stacked_bar
from demos.results import rounded, write_results
from demos.training import Optim, Stopwatch, machine_info

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CoconutConfig:
    graphs: prosqa.GraphConfig = prosqa.GraphConfig()
    n_layers: int = 4
    d_model: int = 128
    n_heads: int = 4
    seed: int = 0
    optim: Optim = Optim()
    curriculum: coconut.Curriculum = coconut.Curriculum(stage_steps=800)
    steps: int = 5000  # per method
    methods: tuple[str, ...] = coconut.METHODS
    pool_size: int = 10000
    test_size: int = 500
    quick: bool = False


# The full run (issue 13): 6–8-node graphs, one token per edge (EdgeTokenGPT), 2 layers
# d=128, 2,000 steps per method. Chosen on validation questions with `demos.diagnose`
# (docs/demos.md, "Why the models did not learn"): in the `u v |` format CoT stayed near
# chance at this size; with edge tokens CoT reached 0.95 and Coconut 0.99 on validation.
SMALL_GRAPHS = prosqa.GraphConfig(
    min_nodes=6, max_nodes=8, min_hops=1, max_hops=3, max_edges=12, label_pool=10, edge_tokens=True
)
FULL = CoconutConfig(
    graphs=SMALL_GRAPHS,
    n_layers=2,
    d_model=128,
    curriculum=coconut.Curriculum(max_thoughts=3, stage_steps=300),
    steps=2000,
    pool_size=5000,
    test_size=1000,
)
# --quick: the same task, a smaller model and budget, every method and analysis, a few minutes on 2 cores.
QUICK = CoconutConfig(
    graphs=SMALL_GRAPHS,
    n_layers=2,
    d_model=64,
    curriculum=coconut.Curriculum(max_thoughts=3, stage_steps=120),
    steps=600,
    pool_size=1500,
    test_size=300,
    quick=True,
)


def new_model(config: CoconutConfig, vocab, layout: coconut.Layout) -> TinyGPT:
    torch.manual_seed(config.seed)
    model_config = ModelConfig(
        len(vocab), layout.prefix + layout.suffix, config.n_layers, config.d_model, config.n_heads
    )
    return coconut.make_model(model_config, vocab, config.graphs.edge_tokens)


def run_coconut(config: CoconutConfig, out_dir: Path) -> dict:
    started, total = datetime.now(timezone.utc), Stopwatch()
    K = config.curriculum.max_thoughts
    vocab = coconut.make_vocab(config.graphs.label_pool, config.graphs.edge_tokens)
    layout = coconut.Layout.for_task(config.graphs, K)
    pool_rng, test_rng = random.Random(f"{config.seed}-pool"), random.Random(f"{config.seed}-test")
    pool = [prosqa.make_problem(pool_rng, config.graphs) for _ in range(config.pool_size)]
    test = [prosqa.make_problem(test_rng, config.graphs) for _ in range(config.test_size)]

    methods, models, losses = _train_all(config, pool, test, vocab, layout)

    results = {
        "demo": "coconut",
        "arxiv_id": paper.COCONUT["arxiv_id"],
        "quick": config.quick,
        "seed": config.seed,
        "config": dataclasses.asdict(config),
        "machine": machine_info(),
        "started_at": started.isoformat(),
        "task": "ProsQA-like DAG reachability",
        "parameters": count_parameters(models[config.methods[0]]),
        "test_stats": _test_stats(test),
        "chance": {"accuracy": 0.5},
        "methods": methods,
        "losses": losses,
        "paper": paper.COCONUT,
    }
    if "coconut" in models:
        results["analysis"] = _analysis(models["coconut"], vocab, layout, test, K)
    if "cot" in models:
        results |= _cot_paths(models["cot"], vocab, layout, test, results)
    results["plots"] = coconut_plots(results, out_dir)
    results["wall_time_s"], results["cpu_time_s"] = total.read().values()
    write_results(out_dir, results)
    return results


def _train_all(config: CoconutConfig, pool: list, test: list, vocab, layout) -> tuple[dict, dict, dict]:
    """Each method from the same initial weights, its own data stream, the same steps."""
    methods, models, losses = {}, {}, {}
    for method in config.methods:
        watch = Stopwatch()
        model = new_model(config, vocab, layout)
        trained = coconut.train_method(
            model,
            method,
            config.optim,
            config.curriculum,
            config.steps,
            random.Random(f"{config.seed}-{method}"),
            pool,
            vocab,
            layout,
            config.graphs.label_pool,
        )
        k = config.curriculum.max_thoughts if method in coconut.LATENT_METHODS + ("pause_as_thought",) else 0
        scores = coconut.evaluate(model, vocab, layout, test, method, k)
        methods[method] = {
            **{n: rounded(v) for n, v in scores.items()},
            "thoughts": k,
            "train_steps": config.steps,
            "optimizer_resets": trained["optimizer_resets"],
            **watch.read("train_"),
        }
        models[method], losses[method] = model, trained["losses"]
        log.info("coconut demo: %s accuracy %.3f", method, scores["accuracy"])
    return methods, models, losses


def _cot_paths(model: TinyGPT, vocab, layout, test: list[prosqa.Problem], results: dict) -> dict:
    """CoT's six-way path classes and, with the k sweep, the seed's claim that Coconut
    forced to write its chain (k=0) beats CoT and hallucinates less."""
    outputs = coconut.generate(model, vocab, layout, test, "cot", 0)
    classes = [prosqa.classify_path(p, o, 0) for p, o in zip(test, outputs)]
    out: dict = {"cot_path_classes": {c: rounded(classes.count(c) / len(classes)) for c in prosqa.PATH_CLASSES}}
    if "analysis" in results:
        k0 = results["analysis"]["k_sweep"][0]
        out["k0_vs_cot"] = {
            "coconut_k0": {
                "accuracy": rounded(k0["accuracy"]),
                "hallucination": rounded(k0["classes"]["hallucination"]),
            },
            "cot": {
                "accuracy": results["methods"]["cot"]["accuracy"],
                "hallucination": out["cot_path_classes"]["hallucination"],
            },
        }
    return out


def _test_stats(test: list[prosqa.Problem]) -> dict:
    hops = [len(p.path) - 1 for p in test]
    return {
        "questions": len(test),
        "mean_nodes": rounded(sum(p.n for p in test) / len(test), 2),
        "mean_edges": rounded(sum(len(p.edges) for p in test) / len(test), 2),
        "mean_hops": rounded(sum(hops) / len(hops), 2),
        "hops": {str(h): hops.count(h) for h in sorted(set(hops))},
    }


def _analysis(model: TinyGPT, vocab, layout, test: list[prosqa.Problem], K: int) -> dict:
    sweep = analysis.k_sweep(model, vocab, layout, test, K)
    out: dict = {"k_sweep": sweep, "height_definition": "shortest distance from the node to any leaf"}
    for k in (1, 2):
        per_question = analysis.frontier_values(model, vocab, layout, test, k)
        out[f"thought{k}"] = {
            "summary": analysis.summarize_values(per_question),
            "top_curves": analysis.top_k_cumulative(per_question),
            "value_by_height": analysis.value_by_height(per_question),
            "example": per_question[0] if per_question else [],
        }
    return out


def coconut_plots(results: dict, out_dir: Path) -> list[str]:
    methods = results["methods"]
    reference = results["paper"]["prosqa"]
    groups = list(methods)
    names = [
        bar_plot(
            out_dir / "coconut_accuracy.png",
            "ProsQA-like accuracy: this toy vs the paper (GPT-2, ProsQA)",
            "accuracy",
            groups,
            {
                "this toy": [methods[m]["accuracy"] for m in groups],
                "paper": [reference.get(m, {}).get("accuracy", 0) / 100 for m in groups],
            },
            ylim=(0, 1.02),
            hline=(results["chance"]["accuracy"], "chance"),
        )
    ]
    losses = {m: ([50 * i for i in range(len(v))], v) for m, v in results["losses"].items()}
    names.append(line_plot(out_dir / "coconut_loss.png", "training loss", "step", "loss", losses))
    if "analysis" not in results:
        return names
    sweep = results["analysis"]["k_sweep"]
    columns = [f"k={row['k']}" for row in sweep]
    parts = {c: [row["classes"][c] for row in sweep] for c in prosqa.PATH_CLASSES}
    if "cot_path_classes" in results:
        columns.append("CoT")
        parts = {c: parts[c] + [results["cot_path_classes"][c]] for c in prosqa.PATH_CLASSES}
    names.append(
        stacked_bar(
            out_dir / "coconut_k_sweep.png",
            "Coconut with k thoughts, rest in language",
            "thoughts before <eot>",
            columns,
            parts,
        )
    )
    for k in (1, 2):
        curves = results["analysis"][f"thought{k}"]["top_curves"]
        series = {name: ([i / max(len(v) - 1, 1) for i in range(len(v))], v) for name, v in curves.items()}
        names.append(
            line_plot(
                out_dir / f"coconut_topk_thought{k}.png",
                f"cumulative value of top-1/2/3 frontier nodes after thought {k}",
                "test questions (sorted)",
                "cumulative value",
                series,
                ylim=(0, 1.02),
            )
        )
    names.append(_height_plot(results["analysis"], out_dir))
    return names


def _height_plot(result: dict, out_dir: Path) -> str:
    series = {}
    for k in (1, 2):
        rows = result[f"thought{k}"]["value_by_height"]
        for kind in ("correct", "incorrect"):
            points = [(r["height"], r[f"{kind}_mean"]) for r in rows if r[f"{kind}_mean"] is not None]
            series[f"thought {k}, {kind} nodes"] = ([h for h, _ in points], [v for _, v in points])
    return line_plot(
        out_dir / "coconut_value_height.png",
        "mean frontier value vs node height (shortest to a leaf)",
        "height",
        "mean value",
        series,
        ylim=(0, 1.02),
    )
