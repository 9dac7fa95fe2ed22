"""Short diagnostic runs for the demos (issue 13: why the models did not learn).

    python -m demos.diagnose coconut --steps 1000 --every 200 [--pool 10000] [graph sizes]
    python -m demos.diagnose icot-cot --steps 2500 --save cot.pt
    python -m demos.diagnose icot-first --load cot.pt --lr 5e-4 --steps 1000
    python -m demos.diagnose icot-si --load cot.pt --per 500 --upto 4 --lr 5e-4

`coconut` trains one method (CoT by default) and prints, every `--every` steps, one JSON
line: teacher-forced loss on training and on validation questions (memorisation shows as a
gap), greedy accuracy on both, accuracy by path length, teacher-forced accuracy at each
child slot of the chain (`h3c2`: second node of a 3-edge path, given the first), and where
each greedy chain first goes wrong (`first_error`). Validation and training-evaluation
questions come from their own seeds. `icot-*` start from an explicit-CoT 3×3 checkpoint and
measure how fast accuracy recovers after CoT tokens are removed (keep_position, removal
smoothing λ=4, a fresh AdamW with a 20-step warmup per removed token, as in the demo).

Use one thread and a low priority on a shared machine: `nice -n 19 … --threads 1`.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from collections.abc import Sequence

import torch

from demos import coconut, icot, icot_run, prosqa
from demos.model import ModelConfig, TinyGPT
from demos.removal import sample_offsets, smoothing_distribution
from demos.training import Optim, make_optimizer, masked_lm_loss, set_lr, train_step


def first_error(problem: prosqa.Problem, output: Sequence[str]) -> str:
    """Where a CoT chain written from the root first stops being a walk along the
    question's edges: `valid_chain` if it never does; otherwise what the wrong node is
    relative to the previous one (`jumps_to_option` names an option that is not a child)."""
    node_of = {prosqa.label(problem, v): v for v in range(problem.n)}
    language = list(output[: output.index("####")] if "####" in output else output)
    if not language:
        return "no_steps"
    if language[0] != prosqa.label(problem, problem.root):
        return "bad_start"
    children = problem.children()
    for i in range(1, len(language)):
        previous, token = language[i - 1], language[i]
        if i % 2 == 0:  # the copy slot: a step `u v` is followed by `v w`
            if token != previous:
                return "copy_slot"
            continue
        if previous not in node_of or token not in node_of:
            return "non_node"
        u, v = node_of[previous], node_of[token]
        if v in children[u]:
            continue
        if v in problem.options:
            return "jumps_to_option"
        if v in prosqa.distances_from(u, children):
            return "descendant_not_child"
        if u in prosqa.distances_from(v, children):
            return "ancestor"
        return "unrelated"
    return "valid_chain"


@torch.no_grad()
def slot_accuracy(model: TinyGPT, vocab, layout: coconut.Layout, problems: Sequence[prosqa.Problem]) -> dict:
    """Teacher-forced argmax accuracy of a CoT model at each child slot and at the answer."""
    pairs = [coconut.encode(p, "cot", 0, layout.edge_tokens) for p in problems]
    tokens, _, thought = coconut.make_batch(vocab, layout, pairs)
    hidden, _, _ = coconut.latent_forward(model, tokens, thought)
    predicted = model.logits(hidden).argmax(-1)
    hits: Counter = Counter()
    total: Counter = Counter()
    for row, (problem, (_, suffix)) in enumerate(zip(problems, pairs)):
        hops = len(problem.path) - 1
        columns = {f"h{hops}c{i}": layout.prefix + 2 * i - 1 for i in range(1, hops + 1)}
        columns["answer"] = layout.prefix + len(suffix) - 2
        for name, column in columns.items():
            hits[name] += int(predicted[row, column - 1] == tokens[row, column])
            total[name] += 1
    return {name: round(hits[name] / total[name], 3) for name in sorted(total)}


@torch.no_grad()
def teacher_forced_loss(model: TinyGPT, vocab, layout, problems, method: str, k: int = 0) -> float:
    pairs = [coconut.encode(p, method, k, layout.edge_tokens) for p in problems]
    return float(coconut.batch_loss(model, *coconut.make_batch(vocab, layout, pairs)))


def evaluate_chains(model: TinyGPT, vocab, layout, problems: Sequence[prosqa.Problem], method: str, k: int = 0) -> dict:
    outputs = coconut.generate(model, vocab, layout, problems, method, k)
    right: Counter = Counter()
    count: Counter = Counter()
    errors: Counter = Counter()
    for problem, output in zip(problems, outputs):
        hops = len(problem.path) - 1
        count[hops] += 1
        right[hops] += prosqa.answer_token(output) == prosqa.label(problem, problem.target)
        if method == "cot":
            errors[first_error(problem, output)] += 1
    return {
        "accuracy": round(sum(right.values()) / len(problems), 3),
        "by_hops": {str(h): round(right[h] / count[h], 3) for h in sorted(count)},
        "first_error": dict(errors),
    }


def coconut_diagnostics(args: argparse.Namespace) -> list[dict]:
    graphs = prosqa.GraphConfig(
        min_nodes=args.min_nodes,
        max_nodes=args.max_nodes,
        min_hops=args.min_hops,
        max_hops=args.max_hops,
        max_edges=args.max_edges,
        label_pool=args.label_pool,
        edge_tokens=args.edge_tokens,
    )
    vocab = coconut.make_vocab(graphs.label_pool, graphs.edge_tokens)
    layout = coconut.Layout.for_task(graphs, graphs.max_hops)
    rng = random.Random(f"{args.seed}-train")
    pool = [prosqa.make_problem(rng, graphs) for _ in range(args.pool)]
    val = [prosqa.make_problem(random.Random(f"{args.seed}-val-{i}"), graphs) for i in range(args.eval_size)]
    seen = (
        [prosqa.relabel(rng, p, graphs.label_pool) for p in pool[: args.eval_size]]
        if pool
        else [prosqa.make_problem(rng, graphs) for _ in range(args.eval_size)]
    )
    torch.manual_seed(args.seed)
    config = ModelConfig(len(vocab), layout.prefix + layout.suffix, args.layers, args.d_model, 4)
    model = coconut.make_model(config, vocab, graphs.edge_tokens)
    optim = Optim(lr=args.lr)
    optimizer = make_optimizer(model, optim.lr, optim.weight_decay)
    curriculum = coconut.Curriculum(max_thoughts=graphs.max_hops, stage_steps=args.stage_steps, mixing=args.mixing)
    rows, started, losses = [], time.time(), []  # type: list[dict], float, list[float]
    # Latent methods are scored as the demo scores them: after K thoughts (pause tokens).
    K = curriculum.max_thoughts if args.method in coconut.LATENT_METHODS + ("pause_as_thought",) else 0

    def report(step: int) -> None:
        if step % args.every and step != args.steps:
            return
        on_val, on_seen = (evaluate_chains(model, vocab, layout, qs, args.method, K) for qs in (val, seen))
        row = {
            "step": step,
            "train_batch_loss": round(sum(losses) / max(len(losses), 1), 4),
            "train_tf_loss": round(teacher_forced_loss(model, vocab, layout, seen, args.method, K), 4),
            "val_tf_loss": round(teacher_forced_loss(model, vocab, layout, val, args.method, K), 4),
            "train_acc": on_seen["accuracy"],
            "val_acc": on_val["accuracy"],
            "val_by_hops": on_val["by_hops"],
            "val_first_error": on_val["first_error"],
            "wall_s": round(time.time() - started),
        }
        if args.method == "cot":
            row["val_slots"] = slot_accuracy(model, vocab, layout, val)
        if K:  # train_method keeps its own losses; the k sweep: <eot> after k thoughts, the rest in language
            del row["train_batch_loss"]
            row["val_acc_by_k"] = [
                evaluate_chains(model, vocab, layout, val, args.method, k)["accuracy"] for k in range(K)
            ]
        print(json.dumps(row), flush=True)
        rows.append(row)
        losses.clear()

    if args.method not in ("cot", "no_cot"):
        # Exactly the demo's training loop (curriculum, resets, mixing); it needs a pool.
        pool = pool or [prosqa.make_problem(rng, graphs) for _ in range(1000)]
        coconut.train_method(
            model, args.method, optim, curriculum, args.steps, rng, pool, vocab, layout, graphs.label_pool, report
        )
        if args.save:
            torch.save(model.state_dict(), args.save)
        return rows
    for step in range(args.steps + 1):
        report(step)
        if step == args.steps:
            break
        set_lr(optimizer, optim.lr, step, optim.warmup)
        problems = (
            [prosqa.relabel(rng, rng.choice(pool), graphs.label_pool) for _ in range(optim.batch_size)]
            if pool
            else [prosqa.make_problem(rng, graphs) for _ in range(optim.batch_size)]
        )
        stage = coconut.stage_at(step, args.method, curriculum)
        pairs = [
            coconut.encode(
                p, args.method, coconut.sample_thoughts(rng, args.method, stage, curriculum), graphs.edge_tokens
            )
            for p in problems
        ]
        losses.append(
            train_step(
                optimizer,
                coconut.batch_loss(model, *coconut.make_batch(vocab, layout, pairs)),
                model.parameters(),
                optim.clip,
            )
        )
    if args.save:
        torch.save(model.state_dict(), args.save)
    return rows


def _icot_model(args: argparse.Namespace):
    config = icot_run.IcotConfig(n_layers=args.layers, d_model=args.d_model)
    _, val, held_out = icot_run.splits(config)
    model = icot_run.new_model(config)
    if args.load:
        model.load_state_dict(torch.load(args.load))
    return model, val, held_out


def _icot_step(model, optimizer, rng, held_out, removed: int, probs, keep_position: bool = True) -> None:
    counts = [removed + o for o in sample_offsets(rng, probs, 64)] if removed else [0] * 64
    tokens, mask, positions = icot.make_batch(
        icot.training_examples(rng, 3, 64, held_out), counts, "left", keep_position and removed > 0
    )
    train_step(optimizer, masked_lm_loss(model(tokens, positions), tokens, mask), model.parameters(), 1.0)


def icot_diagnostics(args: argparse.Namespace) -> list[dict]:
    model, val, held_out = _icot_model(args)
    rng, probs, rows, started = random.Random(f"{args.seed}-si"), smoothing_distribution(4.0), [], time.time()

    def report(**fields) -> None:
        removed = fields["removed"]
        row = {
            **fields,
            **icot.evaluate(model, val, 3, removed, keep_position=removed > 0),
            "wall_s": round(time.time() - started),
        }
        print(json.dumps(row), flush=True)
        rows.append(row)

    if args.command == "icot-cot":
        rng = random.Random(f"{args.seed}-cot")
        optimizer = make_optimizer(model, args.lr, 0.01)
        for step in range(args.steps + 1):
            if step % args.every == 0 or step == args.steps:
                report(step=step, removed=0)
            if step < args.steps:
                set_lr(optimizer, args.lr, step, 100)
                _icot_step(model, optimizer, rng, held_out, 0, probs)
    elif args.command == "icot-first":
        optimizer = make_optimizer(model, args.lr, 0.01)
        for step in range(args.steps + 1):
            if step in (0, 50, 100, 250) or step % 250 == 0 or step == args.steps:
                report(step=step, removed=args.removed, lr=args.lr)
            if step < args.steps:
                set_lr(optimizer, args.lr, step, 20)
                _icot_step(model, optimizer, rng, held_out, args.removed, probs)
    else:  # icot-si: tokens 1…upto removed one at a time, `per` steps each, a fresh AdamW per token
        for removed in range(1, args.upto + 1):
            optimizer = make_optimizer(model, args.lr, 0.01)
            for step in range(args.per):
                set_lr(optimizer, args.lr, step, 20)
                _icot_step(model, optimizer, rng, held_out, removed, probs)
            report(removed=removed, per=args.per, lr=args.lr)
    if args.save:
        torch.save(model.state_dict(), args.save)
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m demos.diagnose", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["coconut", "icot-cot", "icot-first", "icot-si"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--every", type=int, default=200)
    parser.add_argument("--lr", type=float, default=None, help="coconut/icot-cot: 2e-3; icot-first/si: 5e-4")
    parser.add_argument("--layers", type=int, default=None, help="coconut: 2; icot: 4")
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--save", default="")
    parser.add_argument("--load", default="")
    coconut_group = parser.add_argument_group("coconut")
    coconut_group.add_argument("--method", default="cot", choices=coconut.METHODS)
    coconut_group.add_argument("--pool", type=int, default=0, help="graph structures to relabel; 0: fresh graphs")
    coconut_group.add_argument("--eval-size", type=int, default=300)
    coconut_group.add_argument("--stage-steps", type=int, default=600)
    coconut_group.add_argument("--mixing", type=float, default=0.3)
    for name, default in (
        ("min-nodes", 8),
        ("max-nodes", 12),
        ("min-hops", 2),
        ("max-hops", 4),
        ("max-edges", 20),
        ("label-pool", 24),
    ):
        coconut_group.add_argument(f"--{name}", type=int, default=default)
    coconut_group.add_argument("--edge-tokens", action="store_true", help="one token per edge (EdgeTokenGPT)")
    icot_group = parser.add_argument_group("icot")
    icot_group.add_argument("--removed", type=int, default=1)
    icot_group.add_argument("--per", type=int, default=500)
    icot_group.add_argument("--upto", type=int, default=4)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    is_coconut = args.command == "coconut"
    if args.lr is None:
        args.lr = 2e-3 if args.command in ("coconut", "icot-cot") else 5e-4
    if args.layers is None:
        args.layers = 2 if is_coconut else 4
    (coconut_diagnostics if is_coconut else icot_diagnostics)(args)


if __name__ == "__main__":
    main()
