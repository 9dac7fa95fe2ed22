"""Stepwise Internalization schedules, measured from a saved explicit-CoT checkpoint.

    python -m demos.diagnose icot-cot --layers 2 --d-model 64 --steps 3000 --save cot.pt
    python -m demos.icot_diagnose --load cot.pt --layers 2 --d-model 64 --segments 4x500,20x150 --lr 1e-3

runs `demos.icot.internalize` — the demo's own SI loop: keep_position, smoothing λ=4, a
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
from demos.removal import Removal
from demos.training import Optim


def parse_segments(text: str) -> tuple[tuple[int, int], ...]:
    """`4x500,20x150` -> ((4, 500), (20, 150)): 4 tokens 500 steps apart, then 20 150 apart."""
    segments = []
    for part in text.split(","):
        tokens, per = part.lower().split("x")
        segments.append((int(tokens), int(per)))
    return tuple(segments)


def main(argv: Sequence[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(prog="python -m demos.icot_diagnose", description=__doc__.split("\n\n")[0])
    parser.add_argument("--load", required=True, help="explicit-CoT state dict (demos.diagnose icot-cot --save)")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--d-model", type=int, default=64)
    parser.add_argument("--segments", required=True, help="e.g. 4x500,20x150 (tokens x steps per token)")
    parser.add_argument("--lr", type=float, default=1e-3)
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
    config = icot_run.IcotConfig(
        n_layers=args.layers, d_model=args.d_model, seed=args.seed, val_size=args.val_size, si_lr=args.lr
    )
    _, val, held_out = icot_run.splits(config)
    model = icot_run.new_model(config)
    model.load_state_dict(torch.load(args.load))
    removal = Removal(
        keep_position=True,
        segments=parse_segments(args.segments),
        smoothing_lambda=args.lam,
        reset_optimizer=not args.no_reset,
    )
    optim = dataclasses.replace(Optim(), lr=args.lr)
    started = time.time()
    run = icot.internalize(model, optim, removal, random.Random(f"{args.seed}-si"), 3, held_out, args.final, val)
    for point in run["curve"]:
        print(json.dumps(point), flush=True)
    print(json.dumps({"steps": run["steps"], "wall_s": round(time.time() - started)}), flush=True)
    if args.save:
        torch.save(model.state_dict(), args.save)
    return run["curve"]


if __name__ == "__main__":
    main()
