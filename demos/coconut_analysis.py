"""The paper's latent-search analysis, on one trained Coconut model (section 5 of the paper).

- k sweep: the same model, `<eot>` placed after k thoughts (k = 0…K), the rest written in
  language; accuracy and the six-way path classes per k.
- Frontier values: after k thoughts the next token is the depth-k node of the path, so
  the model's probability for each node of the k-th frontier (the nodes a k-edge walk from
  the root reaches) is that node's "value". Only questions whose path is longer than k
  count (otherwise the next token is `####`).
- Parallelism: per question, the cumulative value of the top-1/2/3 frontier nodes.
- Height: mean value vs node height (shortest distance to a leaf) for frontier nodes that
  lead to the target ("correct") and those that do not.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from statistics import mean

import torch

from demos import prosqa
from demos.coconut import Layout, generate, latent_forward, prompts
from demos.model import TinyGPT
from demos.vocab import Vocab


def k_sweep(model: TinyGPT, vocab: Vocab, layout: Layout, problems: Sequence[prosqa.Problem], max_k: int) -> list[dict]:
    rows = []
    for k in range(max_k + 1):
        outputs = generate(model, vocab, layout, problems, "coconut", k)
        classes = [prosqa.classify_path(p, o, k) for p, o in zip(problems, outputs)]
        correct = sum(prosqa.answer_token(o) == prosqa.label(p, p.target) for p, o in zip(problems, outputs))
        rows.append(
            {
                "k": k,
                "accuracy": correct / len(problems),
                "classes": {c: classes.count(c) / len(classes) for c in prosqa.PATH_CLASSES},
            }
        )
    return rows


@torch.no_grad()
def next_token_probs(
    model: TinyGPT, vocab: Vocab, layout: Layout, problems: Sequence[prosqa.Problem], k: int
) -> torch.Tensor:
    """Softmax over the vocabulary right after `<eot>` that follows k thoughts."""
    model.eval()
    tokens, thought = prompts(vocab, layout, problems, "coconut", k)
    hidden, _, _ = latent_forward(model, tokens, thought)
    model.train()
    return model.logits(hidden[:, -1]).softmax(-1)


def frontier_values(
    model: TinyGPT, vocab: Vocab, layout: Layout, problems: Sequence[prosqa.Problem], k: int
) -> list[list[dict]]:
    """For each question with a path longer than k: its k-th frontier nodes with value,
    whether they lead to the target, and their height; highest value first."""
    eligible = [p for p in problems if len(p.path) - 1 > k]
    if not eligible:
        return []
    probs = next_token_probs(model, vocab, layout, eligible, k)
    out = []
    for row, problem in zip(probs, eligible):
        nodes = [
            {
                "node": prosqa.label(problem, v),
                "value": float(row[vocab.ids[prosqa.label(problem, v)]]),
                "correct": prosqa.leads_to_target(problem, v),
                "height": prosqa.height(problem, v),
            }
            for v in prosqa.frontier(problem, k)
        ]
        out.append(sorted(nodes, key=lambda n: -n["value"]))
    return out


def top_k_cumulative(per_question: list[list[dict]], top: int = 3) -> dict[str, list[float]]:
    """For n = 1…top: each question's summed value of its n best frontier nodes, sorted
    descending across questions (the paper's curves)."""
    curves = {}
    for n in range(1, top + 1):
        curves[f"top{n}"] = sorted((sum(x["value"] for x in nodes[:n]) for nodes in per_question), reverse=True)
    return curves


def value_by_height(per_question: list[list[dict]]) -> list[dict]:
    groups: dict[tuple[int, bool], list[float]] = defaultdict(list)
    for nodes in per_question:
        for node in nodes:
            groups[(node["height"], node["correct"])].append(node["value"])
    heights = sorted({h for h, _ in groups})
    return [
        {
            "height": h,
            "correct_mean": mean(groups[(h, True)]) if groups[(h, True)] else None,
            "incorrect_mean": mean(groups[(h, False)]) if groups[(h, False)] else None,
            "n_correct": len(groups[(h, True)]),
            "n_incorrect": len(groups[(h, False)]),
        }
        for h in heights
    ]


def summarize_values(per_question: list[list[dict]]) -> dict:
    """Means the results table shows: top-n cumulative value, value of correct and of
    incorrect frontier nodes, and how often the best node leads to the target."""
    if not per_question:
        return {"questions": 0}
    curves = top_k_cumulative(per_question)
    correct = [n["value"] for q in per_question for n in q if n["correct"]]
    incorrect = [n["value"] for q in per_question for n in q if not n["correct"]]
    return {
        "questions": len(per_question),
        **{f"mean_{name}": mean(values) for name, values in curves.items()},
        "mean_value_correct": mean(correct) if correct else None,
        "mean_value_incorrect": mean(incorrect) if incorrect else None,
        "best_node_correct": mean(q[0]["correct"] for q in per_question),
        "mean_frontier_size": mean(len(q) for q in per_question),
    }
