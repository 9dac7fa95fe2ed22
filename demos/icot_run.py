"""The iCoT demo end to end: explicit CoT → Stepwise Internalization → No-CoT with the
same number of steps → stability ablations → speed → results.json and plots.

Data: training problems are drawn fresh every step from the seed; validation (for the
accuracy-vs-removed curve) and test (for the final table) pairs come from other seeds and
are excluded from training, so nothing is tuned on the test split.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import torch

from demos import icot, paper
from demos import multiplication as mult
from demos.model import ModelConfig, TinyGPT, count_parameters
from demos.plots import bar_plot, line_plot
from demos.removal import Removal, faster, steps_to_remove
from demos.results import rounded, write_results
from demos.training import Optim, Stopwatch, machine_info

log = logging.getLogger(__name__)

# Each ablation changes one thing of the main schedule (the paper's 7×7 ablations); the
# changes depend on the schedule only for "large Δ" (twice as fast, Δ or segments).
ABLATIONS = {
    "no_reset": lambda removal: {"reset_optimizer": False},
    "no_smoothing": lambda removal: {"smoothing_lambda": float("inf")},
    "right_side": lambda removal: {"side": "right", "keep_position": False},  # keep_position: left side only
    "large_delta": lambda removal: faster(removal, 2),
}


@dataclass(frozen=True)
class IcotConfig:
    digits: int = 3
    b_digits: int | None = None  # the second factor's digits (None: digits, n×n); 2 with 3: 3×2
    n_layers: int = 4
    d_model: int = 128
    n_heads: int = 4
    seed: int = 0
    optim: Optim = Optim()
    si_lr: float | None = None  # the SI phase's lr (None: optim.lr); lower recovers better (docs/demos.md)
    # Δ=8: one more token every ~112 steps. keep_position: the first full run without it
    # collapsed at the first removed token (0.97 -> 0.00: every later token moved one place).
    removal: Removal = Removal(steps_per_epoch=900, keep_position=True)
    cot_steps: int = 4000  # explicit CoT training before removal starts (pilot: ~3000 to learn 3×3)
    final_steps: int = 1000  # training once every CoT token is gone
    # Explicit CoT's training steps in all; None: as many as iCoT's (CoT phase + SI), so the
    # three methods get the same compute. The steps past cot_steps continue the CoT
    # checkpoint SI starts from, at SI's lr, with nothing removed.
    explicit_cot_steps: int | None = None
    ablations: tuple[str, ...] = ("no_reset", "no_smoothing", "right_side", "large_delta")
    val_size: int = 200
    test_size: int = 500
    speed_examples: int = 100
    quick: bool = False


# The full run: 3×2 (a CoT of 10 tokens), 2 layers d=64, and a removal schedule that gives
# each token the steps it needed on validation (docs/demos.md, "iCoT, second round", #11):
# the carry digits (tokens 2, 3, 7, 8, 9) 2,000–3,000 steps, the others 500–1,000. 3×3
# with 24 tokens and 4 layers collapsed (0.008) and needs ≥25,000 SI steps per SI run.
CARRY_SCHEDULE = (
    (1, 500),
    (1, 1000),
    (1, 2500),
    (1, 2000),
    (1, 1000),
    (1, 500),
    (1, 500),
    (1, 2000),
    (1, 3000),
    (1, 2000),
)
FULL = IcotConfig(
    b_digits=2,
    n_layers=2,
    d_model=64,
    si_lr=1e-3,
    removal=Removal(keep_position=True, segments=CARRY_SCHEDULE),
    cot_steps=2000,
    final_steps=6000,  # 3,000 left iCoT at 0.865 on validation, 6,000 at 0.95
    test_size=1000,
)
# --quick: the same pipeline at a scale that finishes in a few minutes on 2 cores. It
# checks the machinery and that digits beat chance; exact match at this scale is ~0.
QUICK = IcotConfig(
    b_digits=2,
    n_layers=2,
    d_model=64,
    si_lr=1e-3,
    cot_steps=600,
    final_steps=150,
    removal=Removal(keep_position=True, segments=((1, 50), (9, 60))),
    ablations=("no_reset", "right_side"),
    val_size=100,
    test_size=200,
    speed_examples=30,
    quick=True,
)
# 4×4 (the paper's smallest case), if time allows: 46 CoT tokens, so fewer ablations.
FULL_4X4 = IcotConfig(
    digits=4,
    removal=Removal(steps_per_epoch=900, keep_position=True),
    cot_steps=6000,
    final_steps=2000,
    ablations=("no_reset", "no_smoothing"),
)


def method_steps(config: IcotConfig) -> dict[str, int]:
    """Training steps each method gets under this config (the same for all three unless
    explicit_cot_steps says otherwise)."""
    icot_steps = config.cot_steps + steps_to_remove(config.removal, mult.cot_length(shape(config))) + config.final_steps
    explicit = icot_steps if config.explicit_cot_steps is None else config.explicit_cot_steps
    return {"explicit_cot": explicit, "icot": icot_steps, "no_cot": icot_steps}


def shape(config: IcotConfig) -> tuple[int, int]:
    """(a digits, b digits) of the task."""
    return config.digits, config.b_digits or config.digits


def new_model(config: IcotConfig) -> TinyGPT:
    torch.manual_seed(config.seed)
    cot_len = mult.cot_length(shape(config))
    width = mult.answer_width(shape(config))
    max_len = width + 2 + cot_len + width + 2
    return TinyGPT(ModelConfig(len(icot.VOCAB), max_len, config.n_layers, config.d_model, config.n_heads))


def splits(config: IcotConfig) -> tuple[list, list, set]:
    """Test and validation pairs from their own seeds; both are held out of training."""
    test = mult.sample_pairs(random.Random(f"{config.seed}-test"), shape(config), config.test_size)
    val = mult.sample_pairs(random.Random(f"{config.seed}-val"), shape(config), config.val_size, set(test))
    return test, val, set(test) | set(val)


def run_icot(config: IcotConfig, out_dir: Path) -> dict:
    started, total = datetime.now(timezone.utc), Stopwatch()
    test, val, held_out = splits(config)
    digits = shape(config)
    cot_len = mult.cot_length(digits)
    model = new_model(config)
    log.info("iCoT %dx%d: %d parameters, CoT of %d tokens", *digits, count_parameters(model), cot_len)

    watch = Stopwatch()
    cot_losses = icot.train_fixed(
        model, config.optim, random.Random(f"{config.seed}-cot"), digits, held_out, config.cot_steps, removed=0
    )
    cot_state = {k: v.clone() for k, v in model.state_dict().items()}
    cot_times = watch.read("train_")

    watch = Stopwatch()
    si = _internalize(model, config, config.removal, held_out, val)
    implicit = _method(
        model,
        test,
        config,
        removed=cot_len,
        steps=config.cot_steps + si["steps"],  # the CoT phase it starts from counts as its compute too
        times=watch.read("train_"),
        keep_position=config.removal.keep_position,
    )
    implicit["si_steps"] = si["steps"]

    explicit, more_cot_losses = _explicit_cot(config, cot_state, cot_times, held_out, test)

    watch = Stopwatch()
    baseline = new_model(config)
    no_cot_steps = config.cot_steps + si["steps"]
    no_cot_losses = icot.train_fixed(
        baseline,
        config.optim,
        random.Random(f"{config.seed}-nocot"),
        digits,
        held_out,
        no_cot_steps,
        removed=cot_len,
    )
    no_cot = _method(baseline, test, config, removed=cot_len, steps=no_cot_steps, times=watch.read("train_"))

    ablations = {}
    for name in config.ablations:
        model.load_state_dict(cot_state)
        watch = Stopwatch()
        change = ABLATIONS[name](config.removal)
        removal = dataclasses.replace(config.removal, **change)
        run = _internalize(model, config, removal, held_out, val)
        final = icot.evaluate(model, test, digits, cot_len, keep_position=removal.keep_position)
        ablations[name] = {
            "change": change,
            **_rounded(final),
            "curve": run["curve"],
            "train_steps": run["steps"],
            **watch.read("train_"),
        }

    methods = {"explicit_cot": explicit, "icot": implicit, "no_cot": no_cot}
    results = {
        "demo": "icot",
        "arxiv_id": paper.ICOT["arxiv_id"],
        "quick": config.quick,
        "seed": config.seed,
        "config": dataclasses.asdict(config),
        "machine": machine_info(),
        "started_at": started.isoformat(),
        "task": f"{digits[0]}x{digits[1]} multiplication",
        "cot_tokens": cot_len,
        "parameters": count_parameters(model),
        "chance": {
            "accuracy": 0.0,
            "digit_accuracy": rounded(mult.majority_digit_baseline(random.Random(f"{config.seed}-chance"), digits)),
        },
        "methods": methods,
        "curve": si["curve"],
        "optimizer_resets": si["optimizer_resets"],
        "ablations": ablations,
        "losses": {"explicit_cot": cot_losses + more_cot_losses, "icot": si["losses"], "no_cot": no_cot_losses},
        "speedup": rounded(implicit["examples_per_s"] / explicit["examples_per_s"], 2),
        "paper": paper.ICOT,
    }
    results["plots"] = icot_plots(results, out_dir)
    results["wall_time_s"], results["cpu_time_s"] = total.read().values()
    write_results(out_dir, results)
    return results


def _explicit_cot(config: IcotConfig, cot_state: dict, cot_times: dict, held_out: set, test: list) -> tuple[dict, list]:
    """Explicit CoT trained on from the checkpoint SI starts from, up to its share of steps."""
    model = new_model(config)
    model.load_state_dict(cot_state)
    total = method_steps(config)["explicit_cot"]
    watch = Stopwatch()
    optim = config.optim if config.si_lr is None else dataclasses.replace(config.optim, lr=config.si_lr)
    rng = random.Random(f"{config.seed}-cot-more")
    more = total - config.cot_steps
    losses = icot.train_fixed(model, optim, rng, shape(config), held_out, more, removed=0) if more > 0 else []
    times = {k: round(v + cot_times[k], 1) for k, v in watch.read("train_").items()}
    method = _method(model, test, config, removed=0, steps=max(total, config.cot_steps), times=times)
    return {**method, "at_cot_steps": config.cot_steps}, losses


def _internalize(model: TinyGPT, config: IcotConfig, removal: Removal, held_out: set, val: list) -> dict:
    # Every SI run (main and ablations) sees the same data stream, so only the change differs.
    rng = random.Random(f"{config.seed}-si")
    optim = config.optim if config.si_lr is None else dataclasses.replace(config.optim, lr=config.si_lr)
    return icot.internalize(model, optim, removal, rng, shape(config), held_out, config.final_steps, val)


def _method(
    model: TinyGPT, test: list, config: IcotConfig, removed: int, steps: int, times: dict, keep_position: bool = False
) -> dict:
    scores = icot.evaluate(model, test, shape(config), removed, keep_position=keep_position)
    speed = icot.inference_speed(model, test[: config.speed_examples], shape(config), removed, keep_position)
    return {**_rounded(scores), **_rounded(speed), "train_steps": steps, **times}


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {k: rounded(v) for k, v in values.items()}


def icot_plots(results: dict, out_dir: Path) -> list[str]:
    curves = {"SI (left, reset, λ=4)": results["curve"]}
    curves |= {f"ablation: {name}": a["curve"] for name, a in results["ablations"].items()}
    series = {label: ([p["removed"] for p in c], [p["accuracy"] for p in c]) for label, c in curves.items()}
    digit_series = {label: ([p["removed"] for p in c], [p["digit_accuracy"] for p in c]) for label, c in curves.items()}
    task = results["task"]
    names = [
        line_plot(
            out_dir / "icot_removal_curve.png",
            f"{task}: accuracy vs CoT tokens removed (validation)",
            "CoT tokens removed",
            "exact-match accuracy",
            series,
            ylim=(0, 1.02),
        ),
        line_plot(
            out_dir / "icot_removal_curve_digits.png",
            f"{task}: answer-digit accuracy vs tokens removed",
            "CoT tokens removed",
            "answer digits right",
            digit_series,
            hline=(results["chance"]["digit_accuracy"], "majority-digit baseline"),
            ylim=(0, 1.02),
        ),
    ]
    methods = results["methods"]
    groups = ["explicit CoT", "iCoT (no CoT tokens)", "No-CoT"] + [f"ablation: {n}" for n in results["ablations"]]
    toy = [methods["explicit_cot"]["accuracy"], methods["icot"]["accuracy"], methods["no_cot"]["accuracy"]]
    toy += [a["accuracy"] for a in results["ablations"].values()]
    names.append(
        bar_plot(
            out_dir / "icot_accuracy.png",
            f"{task}: test accuracy (paper: 4x4 iCoT 1.00, No-CoT fails)",
            "exact-match accuracy",
            groups,
            {"this toy": toy},
            ylim=(0, 1.02),
        )
    )
    losses = {k: ([50 * i for i in range(len(v))], v) for k, v in results["losses"].items()}
    names.append(line_plot(out_dir / "icot_loss.png", f"{task}: training loss", "step (of each phase)", "loss", losses))
    return names
