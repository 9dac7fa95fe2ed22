"""Pieces both demos share: the optimiser and its warmup, the masked LM loss,
greedy decoding with a KV cache, padding, and machine facts."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from demos.model import TinyGPT


@dataclass(frozen=True)
class Optim:
    """AdamW settings shared by the demos (lr ≈ 2e-3 with warmup: the pilot's finding)."""

    batch_size: int = 64
    lr: float = 2e-3
    warmup: int = 100
    reset_warmup: int = 20  # warmup after an optimizer reset (see demos.icot)
    weight_decay: float = 0.01
    clip: float = 1.0


def make_optimizer(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    # A fresh AdamW is also how both papers "reset the optimizer": moments back to zero.
    return torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.98), weight_decay=weight_decay)


def set_lr(optimizer: torch.optim.Optimizer, lr: float, steps_since_reset: int, warmup: int) -> None:
    """Linear warmup over `warmup` steps after every (re)start, then constant: the pilot
    found lr 2e-3 needs warmup at this size, and both papers use a constant rate."""
    scale = min(1.0, (steps_since_reset + 1) / warmup) if warmup > 0 else 1.0
    for group in optimizer.param_groups:
        group["lr"] = lr * scale


def masked_lm_loss(logits: torch.Tensor, tokens: torch.Tensor, loss_mask: torch.Tensor) -> torch.Tensor:
    """Next-token cross-entropy where `loss_mask[:, t]` says token t is a target
    (predicted from position t-1)."""
    targets = tokens[:, 1:]
    mask = loss_mask[:, 1:]
    losses = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none")
    return (losses * mask.reshape(-1)).sum() / mask.sum().clamp(min=1)


def train_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor, params, clip: float) -> float:
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if clip > 0:
        torch.nn.utils.clip_grad_norm_(params, clip)
    optimizer.step()
    return float(loss.detach())


def pad_right(rows: Sequence[Sequence[int]], pad_id: int) -> torch.Tensor:
    width = max(len(r) for r in rows)
    return torch.tensor([list(r) + [pad_id] * (width - len(r)) for r in rows], dtype=torch.long)


@torch.no_grad()
def greedy_decode(model: TinyGPT, prompts: torch.Tensor, max_new: int, eos_id: int, skip: int = 0) -> torch.Tensor:
    """Continue equal-length prompts greedily with a KV cache until every row has
    produced `eos_id` (or `max_new` tokens). Returns the new tokens (batch, ≤max_new).
    `skip`: position ids jump by this much after the prompt (iCoT's keep_position)."""
    hidden, past = model.forward_embeds(model.embed(prompts))
    return greedy_continue(model, hidden[:, -1], past, max_new, eos_id, skip=skip)


@torch.no_grad()
def greedy_continue(
    model: TinyGPT, last_hidden: torch.Tensor, past, max_new: int, eos_id: int, skip: int = 0
) -> torch.Tensor:
    """Greedy decoding from a prefilled cache; `last_hidden` is the prompt's last position
    (batch, d_model). Coconut prefills with latent feedback, then continues here."""
    out: list[torch.Tensor] = []
    done = torch.zeros(last_hidden.shape[0], dtype=torch.bool)
    for _ in range(max_new):
        token = model.logits(last_hidden).argmax(-1)
        out.append(token)
        done |= token == eos_id
        if bool(done.all()) or len(out) == max_new:
            break
        position = None
        if skip:
            at = past[0][0].shape[2] + skip
            position = torch.full((token.shape[0], 1), at, dtype=torch.long)
        hidden, past = model.forward_embeds(model.embed(token[:, None]), past, positions=position)
        last_hidden = hidden[:, -1]
    return torch.stack(out, dim=1)


def machine_info() -> dict[str, object]:
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "device": "cpu",
    }


class Stopwatch:
    """Wall time and this process's CPU time: on a shared machine wall time swells with
    other people's load, CPU time much less, so results carry both."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def read(self, prefix: str = "") -> dict[str, float]:
        return {
            f"{prefix}wall_s": round(time.perf_counter() - self.wall, 1),
            f"{prefix}cpu_s": round(time.process_time() - self.cpu, 1),
        }
