"""The removal schedule of Stepwise Internalization, as pure functions (no torch).

s(t) = ⌊Δ·t/T⌋ CoT tokens are removed after t steps, T steps per "epoch"; with removal
smoothing each example removes s + o tokens, P(o) = (1 − e^−λ)·e^−λo (truncated at 100
offsets, the rest of the mass on the last, as in the authors' compute_lambda_distribution;
λ=4 gives o=0 about 98% of the time).
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

    def __post_init__(self) -> None:
        if self.side not in ("left", "right") or self.delta < 1 or self.steps_per_epoch < 1:
            raise ValueError(f"bad removal schedule {self}: side is left or right, delta and T at least 1")
        if self.keep_position and self.side != "left":
            raise ValueError("keep_position works with left-side removal only")


def removal_count(step: int, removal: Removal) -> int:
    """s(t) = ⌊Δ·t/T⌋."""
    return removal.delta * step // removal.steps_per_epoch


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
