"""The removal schedule of Stepwise Internalization, as pure functions (no torch).

s(t) = ⌊Δ·t/T⌋ CoT tokens are removed after t steps, T steps per "epoch"; with removal
smoothing each example removes s + o tokens, P(o) = (1 − e^−λ)·e^−λo (truncated at 100
offsets, the rest of the mass on the last, as in the authors' compute_lambda_distribution;
λ=4 gives o=0 about 98% of the time).

`segments` replaces the constant rate with a piecewise one: ((n, k), …) removes the next n
tokens k steps apart, then the next segment's; past the last segment its k goes on. Our toy
needs many more steps for the first tokens than Δ/T gives them and fewer later (measured in
docs/demos.md), which one rate cannot express.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from demos.multiplication import Example


@dataclass(frozen=True)
class Removal:
    """How an SI run removes CoT tokens; the ablations change one field each."""

    delta: int = 8  # Δ: tokens removed per epoch
    steps_per_epoch: int = 600  # T
    smoothing_lambda: float = 4.0  # math.inf: no smoothing
    side: str = "left"  # "right": the paper's ablation
    reset_optimizer: bool = True
    # The authors' --keep_position: tokens after the removed ones keep their position ids,
    # so removing a token does not shift everything the model learned to do at each position.
    # Left side only: from the right, where the gap falls is unknown when generating.
    keep_position: bool = False
    # ((tokens, steps per token), …): when given, replaces Δ and T (see the module docstring).
    segments: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        if self.side not in ("left", "right") or self.delta < 1 or self.steps_per_epoch < 1:
            raise ValueError(f"bad removal schedule {self}: side is left or right, delta and T at least 1")
        if any(n < 1 or k < 1 for n, k in self.segments):
            raise ValueError(f"bad removal segments {self.segments}: tokens and steps per token at least 1")
        if self.keep_position and self.side != "left":
            raise ValueError("keep_position works with left-side removal only")


def removal_count(step: int, removal: Removal) -> int:
    """s(t) = ⌊Δ·t/T⌋, or with segments the number of tokens whose removal step has come."""
    if not removal.segments:
        return removal.delta * step // removal.steps_per_epoch
    removed = 0
    for tokens, per in removal.segments:
        if step < tokens * per:
            return removed + step // per
        removed, step = removed + tokens, step - tokens * per
    return removed + step // removal.segments[-1][1]


def steps_to_remove(removal: Removal, count: int) -> int:
    """The first step at which `count` tokens are removed."""
    if not removal.segments:
        return math.ceil(count * removal.steps_per_epoch / removal.delta)
    steps = 0
    for tokens, per in removal.segments:
        take = min(tokens, count)
        steps, count = steps + take * per, count - take
        if not count:
            return steps
    return steps + count * removal.segments[-1][1]


def faster(removal: Removal, factor: int) -> dict:
    """The field changes that remove tokens `factor` times as fast (the "large Δ" ablation)."""
    if not removal.segments:
        return {"delta": removal.delta * factor}
    return {"segments": tuple((n, max(1, k // factor)) for n, k in removal.segments)}


def smoothing_distribution(lam: float, truncate: int = 100) -> list[float]:
    """P(o) = (1 − e^−λ)·e^−λo for o < truncate, the leftover mass on the last offset."""
    if math.isinf(lam):
        return [1.0] + [0.0] * (truncate - 1)
    probs = [(1 - math.exp(-lam)) * math.exp(-lam * o) for o in range(truncate)]
    probs[-1] += 1 - sum(probs)
    return probs


def sample_offsets(rng: random.Random, probs: Sequence[float], count: int) -> list[int]:
    return rng.choices(range(len(probs)), weights=probs, k=count)


def kept_positions(example: Example, count: int, side: str) -> list[int]:
    """The original position of every token `remove_cot` keeps."""
    count = min(count, len(example.cot))
    prompt, cot = len(example.prompt), len(example.cot)
    removed = range(prompt, prompt + count) if side == "left" else range(prompt + cot - count, prompt + cot)
    return [i for i in range(prompt + cot + len(example.answer)) if i not in removed]


def remove_cot(example: Example, count: int, side: str) -> list[str]:
    """The training sequence with `count` CoT tokens deleted from `side`."""
    count = min(count, len(example.cot))
    cot = example.cot[count:] if side == "left" else example.cot[: len(example.cot) - count]
    return example.prompt + cot + example.answer
