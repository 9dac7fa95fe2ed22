"""Coconut (Hao et al., arXiv 2412.06769): reasoning in continuous thoughts, on the
ProsQA-like task of `demos.prosqa`.

Between `<bot>` and `<eot>` the model does not read tokens: the input embedding at each
thought position is the last hidden state (after the final layer norm) of the position
before it. k thoughts replace the first k reasoning steps; the loss is masked on the
question, `<bot>`, the thoughts and `<eot>`, and computed on the remaining steps and the
answer. Training follows a curriculum: stage 0 is plain CoT written after `<bot><eot>`,
stage k replaces k steps with k thoughts (c = 1 thought per step; a chain shorter than k
is replaced entirely but still gets k thoughts, their `pad_latent_to_max`), the optimizer
is reset at every stage switch, and with probability p a sample gets a stage drawn
uniformly (the "mixing" of the paper's analysis model).

Methods compared (same number of training steps each):
- `no_cot`: question → answer; `cot`: question → steps → answer;
- `coconut`: the curriculum above, with latent feedback;
- `pause_as_thought`: the same curriculum, but each thought position reads a learned
  `<pause>` token instead of the fed-back hidden state;
- `no_curriculum`: Coconut trained on the last stage (all steps latent) from the start.

Batches are laid out so `<eot>` sits in the same column for every row and the question
sits in the same columns whatever the number of thoughts: the question is left-padded so
that it ends at a fixed column, the pads a row's missing thoughts leave go between the
question and `<bot>`, and the language part is right-padded. (Left-padding the whole
`question <bot> thoughts <eot>` block, as before, moved the question K−k places at stage k
— within a mixed batch too — and flipped the parity of its parent/child slots with k.)
Pads are ordinary tokens the model learns to ignore, no attention mask.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from demos import prosqa
from demos.model import ModelConfig, Past, TinyGPT
from demos.training import Optim, greedy_continue, make_optimizer, masked_lm_loss, set_lr, train_step
from demos.vocab import Vocab

METHODS = ("no_cot", "cot", "coconut", "pause_as_thought", "no_curriculum")
LATENT_METHODS = ("coconut", "no_curriculum")
SPECIALS = [prosqa.EDGE_END, "?", "####", "<bot>", "<eot>", "<thought>", "<pause>", "<eos>", "<pad>"]


def make_vocab(label_pool: int, edge_tokens: bool = False) -> Vocab:
    nodes = [f"n{i}" for i in range(label_pool)]
    edges = [prosqa.edge_token(a, b) for a in nodes for b in nodes if a != b] if edge_tokens else []
    return Vocab(nodes + SPECIALS + edges)


class EdgeTokenGPT(TinyGPT):
    """TinyGPT whose edge tokens `u>v` are embedded as src(u) + tok(v): a source-role
    embedding of u (its own table) plus v's ordinary token embedding. One position then
    holds the whole edge, and "which edges leave u" is a single attention lookup (query u,
    key src(u)), where the `u v |` format needs a previous-token head and an induction head
    to line the two up. A toy architecture choice (docs/demos.md), not the paper's."""

    def __init__(self, config: ModelConfig, vocab: Vocab) -> None:
        super().__init__(config)
        nodes = [s for s in vocab.symbols if s.startswith("n") and prosqa.split_edge_token(s) is None]
        self.src = nn.Embedding(len(nodes), config.d_model)
        nn.init.normal_(self.src.weight, mean=0.0, std=0.02)
        source, child = [-1] * len(vocab), list(range(len(vocab)))
        for symbol, i in vocab.ids.items():
            if edge := prosqa.split_edge_token(symbol):
                source[i], child[i] = vocab.ids[edge[0]], vocab.ids[edge[1]]
        # Node tokens come first in the vocabulary, so a node's id is its row in `src`.
        self.source_of: torch.Tensor
        self.child_of: torch.Tensor
        self.register_buffer("source_of", torch.tensor(source), persistent=False)
        self.register_buffer("child_of", torch.tensor(child), persistent=False)

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        source = self.source_of[tokens]
        is_edge = (source >= 0).unsqueeze(-1)
        return self.tok(self.child_of[tokens]) + self.src(source.clamp(min=0)) * is_edge


def make_model(config: ModelConfig, vocab: Vocab, edge_tokens: bool = False) -> TinyGPT:
    return EdgeTokenGPT(config, vocab) if edge_tokens else TinyGPT(config)


def encode(problem: prosqa.Problem, method: str, k: int, edge_tokens: bool = False) -> tuple[list[str], list[str]]:
    """(prefix, suffix): the prefix ends where the language part begins and is never a
    target; the suffix is what the loss covers. `k` counts thoughts (latent methods)."""
    question = prosqa.question_tokens(problem, edge_tokens)
    if method == "no_cot":
        return question, ["####", prosqa.label(problem, problem.target), "<eos>"]
    if method == "cot":
        return question, prosqa.language_tokens(problem, 0)
    filler = "<pause>" if method == "pause_as_thought" else "<thought>"
    return question + ["<bot>"] + [filler] * k + ["<eot>"], prosqa.language_tokens(problem, k)


@dataclass(frozen=True)
class Layout:
    """Fixed widths so every batch (train and test) puts `<eot>` in the same column."""

    prefix: int  # question + <bot> + K thoughts + <eot>, at most
    suffix: int  # steps + #### + answer + <eos>, at most
    question: int | None = None  # the column every question with a `<bot>` ends at
    edge_tokens: bool = False  # the question's format (prosqa.GraphConfig.edge_tokens)

    @classmethod
    def for_task(cls, graphs: prosqa.GraphConfig, max_thoughts: int) -> "Layout":
        question = prosqa.question_length(graphs.max_edges, graphs.edge_tokens)
        return cls(question + max_thoughts + 2, 2 * graphs.max_hops + 3, question, graphs.edge_tokens)


def _pad_prefix(layout: Layout, prefix: list[str]) -> list[str]:
    """`prefix` padded to `layout.prefix`: left of the question, and, when it has a `<bot>`,
    between the question and `<bot>`, so the question ends at `layout.question` for any k."""
    if "<bot>" not in prefix or layout.question is None:
        return ["<pad>"] * (layout.prefix - len(prefix)) + prefix
    bot = prefix.index("<bot>")
    question, latent = prefix[:bot], prefix[bot:]
    if len(question) > layout.question:
        raise ValueError(f"question of {len(question)} tokens does not fit {layout}")
    return (
        ["<pad>"] * (layout.question - len(question))
        + question
        + ["<pad>"] * (layout.prefix - layout.question - len(latent))
        + latent
    )


def make_batch(
    vocab: Vocab, layout: Layout, pairs: Sequence[tuple[list[str], list[str]]]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Token ids, loss mask (suffix tokens) and thought mask, each (batch, width)."""
    rows, loss, thought = [], [], []
    for prefix, suffix in pairs:
        right = layout.suffix - len(suffix)
        if len(prefix) > layout.prefix or right < 0:
            raise ValueError(f"example of {len(prefix)}+{len(suffix)} tokens does not fit {layout}")
        tokens = _pad_prefix(layout, prefix) + suffix + ["<pad>"] * right
        rows.append(vocab.encode(tokens))
        loss.append([0] * layout.prefix + [1] * len(suffix) + [0] * right)
        thought.append([t == "<thought>" for t in tokens])
    return torch.tensor(rows), torch.tensor(loss, dtype=torch.bool), torch.tensor(thought)


def latent_forward(
    model: TinyGPT, tokens: torch.Tensor, thought_mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, Past]:
    """Forward pass with continuous thoughts: at every column where some row has a
    `<thought>`, that row's input embedding becomes the hidden state of the previous
    column. Runs the prefix, then one incremental pass per thought column, then the rest,
    sharing a KV cache. Returns hidden states (after the final layer norm), the input
    embeddings actually used, and the cache."""
    embeds = model.embed(tokens)
    columns = [int(c) for c in thought_mask.any(dim=0).nonzero().flatten()]
    hiddens, past, start = [], None, 0
    for column in columns:
        hidden, past = model.forward_embeds(embeds[:, start:column], past)
        hiddens.append(hidden)
        fed = torch.where(thought_mask[:, column, None], hidden[:, -1], embeds[:, column])
        embeds = torch.cat([embeds[:, :column], fed[:, None], embeds[:, column + 1 :]], dim=1)
        start = column
    hidden, past = model.forward_embeds(embeds[:, start:], past)
    hiddens.append(hidden)
    return torch.cat(hiddens, dim=1), embeds, past


def batch_loss(
    model: TinyGPT, tokens: torch.Tensor, loss_mask: torch.Tensor, thought_mask: torch.Tensor
) -> torch.Tensor:
    hidden, _, _ = latent_forward(model, tokens, thought_mask)
    return masked_lm_loss(model.logits(hidden), tokens, loss_mask)


@dataclass(frozen=True)
class Curriculum:
    max_thoughts: int = 4  # K: the last stage replaces every step (paths have ≤ 4 edges)
    stage_steps: int = 600  # steps at each stage 0…K−1; the rest of the budget runs stage K
    mixing: float = 0.3  # p: share of samples given a uniformly drawn stage


def stage_at(step: int, method: str, curriculum: Curriculum) -> int:
    if method == "no_curriculum":
        return curriculum.max_thoughts
    return min(step // curriculum.stage_steps, curriculum.max_thoughts)


def sample_thoughts(rng: random.Random, method: str, stage: int, curriculum: Curriculum) -> int:
    if method in ("no_cot", "cot"):
        return 0
    if method != "no_curriculum" and rng.random() < curriculum.mixing:
        return rng.randint(0, curriculum.max_thoughts)
    return stage


def train_method(
    model: TinyGPT,
    method: str,
    optim: Optim,
    curriculum: Curriculum,
    steps: int,
    rng: random.Random,
    pool: Sequence[prosqa.Problem],
    vocab: Vocab,
    layout: Layout,
    label_pool: int,
    on_step: Callable[[int], None] | None = None,
) -> dict:
    """Train one method for `steps` steps on relabelled problems from `pool`; the
    optimizer is reset whenever the curriculum stage changes. Returns losses (every 50
    steps) and the number of resets. `on_step(step)`, if given, is called before each step
    and once after the last (`demos.diagnose` evaluates there; it draws no random numbers)."""
    optimizer = make_optimizer(model, optim.lr, optim.weight_decay)
    current, since_reset, resets, losses = stage_at(0, method, curriculum), 0, 0, []
    for step in range(steps):
        if on_step is not None:
            on_step(step)
        stage = stage_at(step, method, curriculum)
        if stage != current and method in ("coconut", "pause_as_thought"):
            optimizer, since_reset, resets = make_optimizer(model, optim.lr, optim.weight_decay), 0, resets + 1
        current = stage
        set_lr(optimizer, optim.lr, since_reset, optim.reset_warmup if resets else optim.warmup)
        problems = [prosqa.relabel(rng, rng.choice(pool), label_pool) for _ in range(optim.batch_size)]
        pairs = [
            encode(p, method, sample_thoughts(rng, method, stage, curriculum), layout.edge_tokens) for p in problems
        ]
        loss = batch_loss(model, *make_batch(vocab, layout, pairs))
        value = train_step(optimizer, loss, model.parameters(), optim.clip)
        if step % 50 == 0:
            losses.append(value)
        since_reset += 1
    if on_step is not None:
        on_step(steps)
    return {"losses": losses, "optimizer_resets": resets, "steps": steps}


def prompts(
    vocab: Vocab, layout: Layout, problems: Sequence[prosqa.Problem], method: str, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-padded prefixes (ending at `<eot>` for latent methods) and their thought mask."""
    tokens, _, thought = make_batch(
        vocab, layout, [(encode(p, method, k, layout.edge_tokens)[0], []) for p in problems]
    )
    return tokens[:, : layout.prefix], thought[:, : layout.prefix]


@torch.no_grad()
def generate(
    model: TinyGPT,
    vocab: Vocab,
    layout: Layout,
    problems: Sequence[prosqa.Problem],
    method: str,
    k: int,
    batch_size: int = 250,
) -> list[list[str]]:
    """Greedy outputs after the prefix (k thoughts for latent methods), cut at `<eos>`."""
    model.eval()
    outputs: list[list[str]] = []
    for start in range(0, len(problems), batch_size):
        tokens, thought = prompts(vocab, layout, problems[start : start + batch_size], method, k)
        hidden, _, past = latent_forward(model, tokens, thought)
        generated = greedy_continue(model, hidden[:, -1], past, layout.suffix, vocab.ids["<eos>"])
        for row in generated.tolist():
            words = vocab.decode(row)
            outputs.append(words[: words.index("<eos>")] if "<eos>" in words else words)
    model.train()
    return outputs


def evaluate(
    model: TinyGPT, vocab: Vocab, layout: Layout, problems: Sequence[prosqa.Problem], method: str, k: int
) -> dict[str, float]:
    """Answer accuracy, and tokens generated per question (language tokens up to `<eos>`
    plus the k thoughts, as the paper counts them)."""
    outputs = generate(model, vocab, layout, problems, method, k)
    correct = sum(prosqa.answer_token(o) == prosqa.label(p, p.target) for p, o in zip(problems, outputs))
    thoughts = k if method in LATENT_METHODS + ("pause_as_thought",) else 0
    tokens = sum(len(o) for o in outputs) / len(outputs) + thoughts
    return {"accuracy": correct / len(problems), "tokens": tokens}
