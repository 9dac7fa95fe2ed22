"""A tiny decoder-only transformer, written out so every step of Coconut and iCoT is visible.

GPT-2's layout at toy size: token + learned position embeddings, pre-LN blocks (causal
self-attention, then an MLP), a final layer norm, and a linear head (tied to the token
embedding by default, as in GPT-2). Nothing is downloaded; the weights start random.

Two things the demos need that a plain `forward(tokens)` would hide:

- `forward_embeds` takes input *embeddings*, so Coconut can feed a hidden state back in
  as the next input (a "continuous thought");
- a key/value cache (`past`), so n thoughts cost n+1 incremental passes instead of
  recomputing the prefix each time, and so decoding is fair to explicit CoT when we time
  it against implicit CoT.

The returned hidden states are *after* the final layer norm: that is the vector Coconut
feeds back (Hugging Face GPT-2's `hidden_states[-1]`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

# One (key, value) pair per layer, each (batch, heads, positions so far, head dim).
Past = list[tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int
    max_len: int
    n_layers: int = 2
    d_model: int = 128
    n_heads: int = 4
    tie_head: bool = True


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(
        self, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        batch, length, d_model = x.shape
        q, k, v = self.qkv(x).split(d_model, dim=2)
        q, k, v = (t.view(batch, length, self.n_heads, -1).transpose(1, 2) for t in (q, k, v))
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        # Query i (absolute position start+i) may see keys 0..start+i: a lower-triangular
        # mask shifted right by the cached length.
        start = k.shape[2] - length
        mask = torch.ones(length, k.shape[2], dtype=torch.bool, device=x.device).tril(start)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        out = out.transpose(1, 2).reshape(batch, length, d_model)
        return self.proj(out), (k, v)


class Block(nn.Module):
    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, n_heads)
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))

    def forward(
        self, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        attended, present = self.attn(self.ln1(x), past)
        x = x + attended
        x = x + self.mlp(self.ln2(x))
        return x, present


class TinyGPT(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.tok = nn.Embedding(config.vocab_size, config.d_model)
        self.pos = nn.Embedding(config.max_len, config.d_model)
        self.blocks = nn.ModuleList(Block(config.d_model, config.n_heads) for _ in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.d_model)
        self.head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.apply(_init_weights)
        if config.tie_head:
            self.head.weight = self.tok.weight

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """Token embeddings only; positions are added inside `forward_embeds`."""
        return self.tok(tokens)

    def forward_embeds(
        self, embeds: torch.Tensor, past: Past | None = None, positions: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, Past]:
        """Run the blocks on input embeddings continuing after `past`; return the hidden
        states after the final layer norm (batch, length, d_model) and the new cache.
        `positions` (batch, length) overrides the position ids, which otherwise count on
        from the cache (iCoT's keep_position gives the tokens after removed ones their old ids)."""
        start = 0 if past is None else past[0][0].shape[2]
        length = embeds.shape[1]
        if positions is None:
            positions = torch.arange(start, start + length, device=embeds.device)
        last = int(positions.max()) if positions.numel() else 0
        if max(start + length, last + 1) > self.config.max_len:
            raise ValueError(
                f"sequence of {max(start + length, last + 1)} positions exceeds max_len={self.config.max_len}"
            )
        x = embeds + self.pos(positions)
        presents: Past = []
        for i, block in enumerate(self.blocks):
            x, present = block(x, None if past is None else past[i])
            presents.append(present)
        return self.ln_f(x), presents

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.head(hidden)

    def forward(self, tokens: torch.Tensor, positions: torch.Tensor | None = None) -> torch.Tensor:
        """Plain language modelling: tokens (batch, length) -> logits (batch, length, vocab)."""
        hidden, _ = self.forward_embeds(self.embed(tokens), positions=positions)
        return self.logits(hidden)


def _init_weights(module: nn.Module) -> None:
    # GPT-2's initialisation: small normal weights, zero biases.
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
