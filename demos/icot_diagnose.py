"""Stepwise Internalization schedules, measured from a saved explicit-CoT checkpoint.

    python -m demos.icot_diagnose cot --steps 3000 --every 500 --save cot.pt      # explicit CoT
    python -m demos.icot_diagnose nocot --steps 8000 --every 1000                 # No-CoT baseline
    python -m demos.icot_diagnose si --load cot.pt --segments 4x500,20x150 --lr 1e-3

(2 layers, d=64 unless --layers/--d-model; 3×3 unless --digits/--b-digits, e.g. 3 and 2
for 3×2). `cot`/`nocot` train with `icot.train_fixed` (the demo's data stream and warmup)
and print validation accuracy every `--every` steps. `si` runs `demos.icot.internalize` — the demo's own SI loop: keep_position, smoothing λ=4, a
fresh AdamW per removed token, 20-step warmup after each reset — with the given piecewise
schedule and prints the validation point (exact match, answer digits) each time one more
token goes, then after `--final` steps with none left. Validation pairs and the held-out
set are the demo's (`icot_run.splits`); the training stream is the demo's SI seed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import random
import time
from collections.abc import Sequence

import torch

from demos import icot, icot_run
from demos import multiplication as mult
from demos.removal import Removal
from demos.training import Optim, make_optimizer, masked_lm_loss, set_lr, train_step


def parse_segments(text: str) -> tuple[tuple[int, int], ...]:
    """`4x500,20x150` -> ((4, 500), (20, 150)): 4 tokens 500 steps apart, then 20 150 apart."""
    segments = []
    for part in text.split(","):
        tokens, per = part.lower().split("x")
        segments.append((int(tokens), int(per)))
    return tuple(segments)


def main(argv: Sequence[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(prog="python -m demos.icot_diagnose", description=__doc__.split("\n\n")[0])
    parser.add_argument("phase", choices=["cot", "nocot", "si"])
    parser.add_argument("--load", default="", help="si: explicit-CoT state dict (cot --save)")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--d-model", type=int, default=64)
    parser.add_argument("--digits", type=int, default=3)
    parser.add_argument("--b-digits", type=int, default=None)
    parser.add_argument("--steps", type=int, default=3000, help="cot/nocot: training steps")
    parser.add_argument("--every", type=int, default=500, help="cot/nocot: validate every this many steps")
    parser.add_argument("--segments", default="24x250", help="si: e.g. 4x500,20x150 (tokens x steps per token)")
    parser.add_argument("--lr", type=float, default=None, help="cot/nocot: 2e-3; si: 1e-3")
    parser.add_argument("--final", type=int, default=0, help="steps once every CoT token is gone")
    parser.add_argument("--lambda", dest="lam", type=float, default=4.0, help="removal smoothing; inf: none")
    parser.add_argument("--no-reset", action="store_true")
    parser.add_argument("--val-size", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--save", default="")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    lr = args.lr or (1e-3 if args.phase == "si" else 2e-3)
    config = icot_run.IcotConfig(
        digits=args.digits,
        b_digits=args.b_digits,
        n_layers=args.layers,
        d_model=args.d_model,
        seed=args.seed,
        val_size=args.val_size,
    )
    digits = icot_run.shape(config)
    _, val, held_out = icot_run.splits(config)
    model = icot_run.new_model(config)
    if args.phase != "si":
        return _train_fixed(args, model, config, dataclasses.replace(Optim(), lr=lr), val, held_out)
    model.load_state_dict(torch.load(args.load))
    removal = Removal(
        keep_position=True,
        segments=parse_segments(args.segments),
        smoothing_lambda=args.lam,
        reset_optimizer=not args.no_reset,
    )
    optim = dataclasses.replace(Optim(), lr=lr)
    started = time.time()
    run = icot.internalize(model, optim, removal, random.Random(f"{args.seed}-si"), digits, held_out, args.final, val)
    for point in run["curve"]:
        print(json.dumps(point), flush=True)
    print(json.dumps({"steps": run["steps"], "wall_s": round(time.time() - started)}), flush=True)
    if args.save:
        torch.save(model.state_dict(), args.save)
    return run["curve"]


def _train_fixed(args, model, config, optim: Optim, val, held_out) -> list[dict]:
    """Explicit CoT (nothing removed) or No-CoT (everything removed), validated as it goes:
    the steps of `icot.train_fixed` (one AdamW, warmup at the start), with its batches."""
    digits = icot_run.shape(config)
    removed = 0 if args.phase == "cot" else mult.cot_length(digits)
    rng, rows, started = random.Random(f"{args.seed}-{args.phase}"), [], time.time()
    optimizer = make_optimizer(model, optim.lr, optim.weight_decay)
    for step in range(args.steps + 1):
        if step % args.every == 0 or step == args.steps:
            row = {"step": step, **icot.evaluate(model, val, digits, removed), "wall_s": round(time.time() - started)}
            print(json.dumps(row), flush=True)
            rows.append(row)
        if step == args.steps:
            break
        set_lr(optimizer, optim.lr, step, optim.warmup)
        tokens, mask, _ = icot.make_batch(
            icot.training_examples(rng, digits, optim.batch_size, held_out), [removed] * optim.batch_size, "left"
        )
        train_step(optimizer, masked_lm_loss(model(tokens), tokens, mask), model.parameters(), optim.clip)
    if args.save:
        torch.save(model.state_dict(), args.save)
    return rows


if __name__ == "__main__":
    main()
