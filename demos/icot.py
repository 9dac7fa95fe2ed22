"""Stepwise Internalization (iCoT, Deng et al., arXiv 2405.14838) on multiplication.

Train a model on `a * b || CoT #### answer`; then, while training goes on, delete CoT
tokens from the left on a schedule until none is left, so the model learns to do in its
layers what the deleted tokens did:

- schedule: s(t) = ⌊Δ·t/T⌋ tokens removed after t steps (`demos.removal`);
- optimizer reset: a fresh AdamW every time s grows (until all CoT is gone);
- removal smoothing: each example removes s + o tokens, P(o) ∝ exp(−λo);
- gradient clipping at 1.0.

Deviation, on purpose: after each reset the learning rate warms up again over a few
steps. The paper trains GPT-2 at lr 5e-5, where a fresh Adam's first ±lr steps are
harmless; our from-scratch toy needs lr ≈ 2e-3 (the pilot), and forty-times-larger sign
steps after every reset would test the lr, not the method. `reset_warmup=0` turns it off.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence

import torch

from demos import multiplication as mult
from demos.model import TinyGPT
from demos.removal import (
    Removal,
    kept_positions,
    removal_count,
    remove_cot,
    sample_offsets,
    smoothing_distribution,
    steps_to_remove,
)
from demos.training import Optim, greedy_decode, make_optimizer, masked_lm_loss, pad_right, set_lr, train_step
from demos.vocab import Vocab

VOCAB = Vocab(mult.SYMBOLS)
log = logging.getLogger(__name__)


def make_batch(
    examples: Sequence[mult.Example], counts: Sequence[int], side: str, keep_position: bool = False
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Token ids (right-padded), the loss mask — the loss covers what follows the prompt
    (remaining CoT, `####`, answer, `<eos>`), never the question or padding — and, with
    keep_position, the original position ids of the kept tokens (else None: 0, 1, 2, …)."""
    rows, masks, positions = [], [], []
    for example, count in zip(examples, counts):
        tokens = remove_cot(example, count, side)
        rows.append(VOCAB.encode(tokens))
        masks.append([0] * len(example.prompt) + [1] * (len(tokens) - len(example.prompt)))
        positions.append(kept_positions(example, count, side))
    pad = VOCAB.ids["<pad>"]
    return pad_right(rows, pad), pad_right(masks, 0).bool(), pad_right(positions, 0) if keep_position else None


def training_examples(
    rng: random.Random, digits: mult.Digits, count: int, held_out: set[tuple[int, int]]
) -> list[mult.Example]:
    return [mult.make_example(a, b, digits) for a, b in mult.sample_pairs(rng, digits, count, held_out)]


@torch.no_grad()
def evaluate(
    model: TinyGPT,
    pairs: Sequence[tuple[int, int]],
    digits: mult.Digits,
    removed: int,
    batch_size: int = 250,
    keep_position: bool = False,
) -> dict[str, float]:
    """Greedy generation from `a * b ||`; exact-match accuracy of the product, and the
    share of answer digits right, so a weak toy still shows a signal (compare it with
    `multiplication.majority_digit_baseline`, not with 0.1)."""
    model.eval()
    cot_len = mult.cot_length(digits)
    max_new = max(cot_len - removed, 0) + mult.answer_width(digits) + 2
    correct = digit_hits = digit_total = 0
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start : start + batch_size]
        examples = [mult.make_example(a, b, digits) for a, b in chunk]
        prompts = torch.tensor([VOCAB.encode(e.prompt) for e in examples])
        generated = greedy_decode(model, prompts, max_new, VOCAB.ids["<eos>"], skip=removed if keep_position else 0)
        for (a, b), example, row in zip(chunk, examples, generated.tolist()):
            tokens = VOCAB.decode(row)
            correct += mult.answer_value(tokens) == a * b
            hits, total = _digit_matches(tokens, example.answer)
            digit_hits, digit_total = digit_hits + hits, digit_total + total
    model.train()
    return {"accuracy": correct / len(pairs), "digit_accuracy": digit_hits / digit_total}


def _digit_matches(generated: list[str], answer: list[str]) -> tuple[int, int]:
    target = answer[1:-1]  # the digits between `####` and `<eos>`
    if "####" not in generated:
        return 0, len(target)
    produced = generated[generated.index("####") + 1 :]
    return sum(p == t for p, t in zip(produced, target)), len(target)


def train_fixed(
    model: TinyGPT,
    optim: Optim,
    rng: random.Random,
    digits: mult.Digits,
    held_out: set[tuple[int, int]],
    steps: int,
    removed: int,
) -> list[float]:
    """Plain training with a fixed number of CoT tokens removed: 0 is explicit CoT,
    the whole CoT length is the No-CoT baseline. Returns the loss every 50 steps."""
    optimizer = make_optimizer(model, optim.lr, optim.weight_decay)
    losses = []
    for step in range(steps):
        set_lr(optimizer, optim.lr, step, optim.warmup)
        tokens, mask, _ = make_batch(
            training_examples(rng, digits, optim.batch_size, held_out), [removed] * optim.batch_size, "left"
        )
        loss = train_step(optimizer, masked_lm_loss(model(tokens), tokens, mask), model.parameters(), optim.clip)
        if step % 50 == 0:
            losses.append(loss)
    return losses


def internalize(
    model: TinyGPT,
    optim: Optim,
    removal: Removal,
    rng: random.Random,
    digits: mult.Digits,
    held_out: set[tuple[int, int]],
    final_steps: int,
    val_pairs: Sequence[tuple[int, int]],
) -> dict:
    """Stepwise Internalization from a trained CoT model. Evaluates on the validation pairs
    each time the removal count is about to grow, giving accuracy vs tokens removed."""
    cot_len = mult.cot_length(digits)
    steps_to_empty = steps_to_remove(removal, cot_len)
    probs = smoothing_distribution(removal.smoothing_lambda)
    optimizer = make_optimizer(model, optim.lr, optim.weight_decay)
    since_reset, current, resets, curve, losses = 0, 0, 0, [], []
    for step in range(steps_to_empty + final_steps):
        scheduled = min(removal_count(step, removal), cot_len)
        if scheduled > current:
            curve.append(
                {
                    "removed": current,
                    "step": step,
                    **evaluate(model, val_pairs, digits, current, keep_position=removal.keep_position),
                }
            )
            log.info("SI: %s", curve[-1])
            current = scheduled
            if removal.reset_optimizer:
                optimizer, since_reset, resets = make_optimizer(model, optim.lr, optim.weight_decay), 0, resets + 1
        set_lr(optimizer, optim.lr, since_reset, optim.reset_warmup if resets else optim.warmup)
        counts = [current + o for o in sample_offsets(rng, probs, optim.batch_size)]
        tokens, mask, positions = make_batch(
            training_examples(rng, digits, optim.batch_size, held_out), counts, removal.side, removal.keep_position
        )
        loss = train_step(
            optimizer, masked_lm_loss(model(tokens, positions), tokens, mask), model.parameters(), optim.clip
        )
        since_reset += 1
        if step % 50 == 0:
            losses.append(loss)
    if current < cot_len:  # final_steps=0: the last token is due at the very end, no training after it
        curve.append(
            {
                "removed": current,
                "step": steps_to_empty,
                **evaluate(model, val_pairs, digits, current, keep_position=removal.keep_position),
            }
        )
        current = cot_len
    curve.append(
        {
            "removed": current,
            "step": steps_to_empty + final_steps,
            **evaluate(model, val_pairs, digits, current, keep_position=removal.keep_position),
        }
    )
    return {"curve": curve, "losses": losses, "optimizer_resets": resets, "steps": steps_to_empty + final_steps}


@torch.no_grad()
def inference_speed(
    model: TinyGPT, pairs: Sequence[tuple[int, int]], digits: mult.Digits, removed: int, keep_position: bool = False
) -> dict[str, float]:
    """Examples per second at batch size 1 (as the paper measures), greedy with a KV cache,
    and the mean number of tokens generated."""
    model.eval()
    max_new = max(mult.cot_length(digits) - removed, 0) + mult.answer_width(digits) + 2
    prompt = torch.tensor([VOCAB.encode(mult.make_example(*pairs[0], digits).prompt)])
    skip = removed if keep_position else 0
    greedy_decode(model, prompt, max_new, VOCAB.ids["<eos>"], skip=skip)  # untimed: first calls allocate
    generated = 0
    started = time.perf_counter()
    for a, b in pairs:
        prompt = torch.tensor([VOCAB.encode(mult.make_example(a, b, digits).prompt)])
        generated += greedy_decode(model, prompt, max_new, VOCAB.ids["<eos>"], skip=skip).shape[1]
    elapsed = time.perf_counter() - started
    model.train()
    return {"examples_per_s": len(pairs) / elapsed, "tokens_generated": generated / len(pairs)}
