"""A ProsQA-like planning task (Coconut, arXiv 2412.06769), generated on the fly, small.

Their construction, at toy size: a random DAG grown node by node, each new node taking
Poisson(1.5) parents among the earlier nodes, parents weighted by depth (so chains grow);
an edge u→v reads "every u is a v". A question names a root entity e and two leaves:
the target (reachable from e by a shortest path of `hops` edges) and a distractor (a leaf
with a parent, not reachable from e). The answer is the target.

Differences from ProsQA, all so that a 2-core CPU can learn it (see coconut-icot.md):
8–12 nodes instead of ~23, shortest paths of 2–4 hops, and no words — each node is one
token, relabelled at random in every example so the model cannot memorise node ids and
must read the graph in the question (each edge written `u v |`). One reasoning step is one
edge, written as the two node tokens "u v"; after k continuous thoughts replace the first k
steps, the next token is therefore the depth-k node, and a node's "value" is a single
softmax probability.

Pure Python: no torch here, so the generator and the path classifier are cheap to test.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class GraphConfig:
    min_nodes: int = 8
    max_nodes: int = 12
    min_hops: int = 2
    max_hops: int = 4
    max_edges: int = 20
    mean_parents: float = 1.5
    min_root_children: int = 2  # so the first step is a choice, not a forced move
    label_pool: int = 24  # node tokens to relabel from; must be ≥ max_nodes
    # Write each edge as one token `nU>nV` (see `question_tokens`) instead of `nU nV |`.
    edge_tokens: bool = False


@dataclass(frozen=True)
class Problem:
    n: int
    edges: tuple[tuple[int, int], ...]  # (parent, child), in the order the question lists them
    root: int
    target: int
    distractor: int
    path: tuple[int, ...]  # root … target, a shortest path
    labels: tuple[int, ...]  # node → label token index
    options: tuple[int, int]  # target and distractor in the order asked

    def children(self) -> dict[int, list[int]]:
        return adjacency(self.n, self.edges)


def adjacency(n: int, edges: tuple[tuple[int, int], ...]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {v: [] for v in range(n)}
    for parent, child in edges:
        out[parent].append(child)
    return out


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for a mean of 1.5."""
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def grow_dag(rng: random.Random, n: int, mean_parents: float) -> list[tuple[int, int]]:
    """Node v picks min(Poisson(mean), v) distinct parents among 0..v-1, weighted by depth+1."""
    depth = [0] * n
    edges: list[tuple[int, int]] = []
    for v in range(1, n):
        candidates, weights = list(range(v)), [depth[u] + 1 for u in range(v)]
        parents: list[int] = []
        for _ in range(min(poisson(rng, mean_parents), v)):
            u = rng.choices(candidates, weights=weights)[0]
            i = candidates.index(u)
            del candidates[i], weights[i]
            parents.append(u)
        depth[v] = max((depth[u] + 1 for u in parents), default=0)
        edges += [(u, v) for u in parents]
    return edges


def distances_from(start: int, children: dict[int, list[int]]) -> dict[int, int]:
    """Shortest hop counts from `start` to every node it reaches (itself at 0)."""
    dist = {start: 0}
    queue = deque([start])
    while queue:
        u = queue.popleft()
        for v in children[u]:
            if v not in dist:
                dist[v] = dist[u] + 1
                queue.append(v)
    return dist


def make_problem(rng: random.Random, config: GraphConfig) -> Problem:
    """Draw the path length first (so lengths are balanced), then graphs until one fits."""
    hops = rng.randint(config.min_hops, config.max_hops)
    while True:
        n = rng.randint(config.min_nodes, config.max_nodes)
        edges = grow_dag(rng, n, config.mean_parents)
        if len(edges) > config.max_edges:
            continue
        problem = _pose_question(rng, n, edges, hops, config)
        if problem is not None:
            return problem


def relabel(rng: random.Random, problem: Problem, pool: int) -> Problem:
    """The same graph and question with fresh node tokens, edge order and option order.
    Growing a graph that admits a question takes ~25 tries (most have no unreachable
    leaf), so training reuses a pool of structures and re-randomises the surface."""
    edges = list(problem.edges)
    rng.shuffle(edges)
    options = problem.options if rng.random() < 0.5 else problem.options[::-1]
    return dataclasses.replace(
        problem, edges=tuple(edges), labels=tuple(rng.sample(range(pool), problem.n)), options=options
    )


def _pose_question(
    rng: random.Random, n: int, edges: list[tuple[int, int]], hops: int, config: GraphConfig
) -> Problem | None:
    children = adjacency(n, tuple(edges))
    has_parent = {c for _, c in edges}
    leaves = [v for v in range(n) if not children[v]]
    choices = []
    for root in (v for v in range(n) if v not in has_parent and len(children[v]) >= config.min_root_children):
        dist = distances_from(root, children)
        targets = [v for v in leaves if dist.get(v) == hops]
        distractors = [v for v in leaves if v not in dist and v in has_parent]
        choices += [(root, t, d) for t in targets for d in distractors]
    if not choices:
        return None
    root, target, distractor = rng.choice(choices)
    path = _random_shortest_path(rng, root, target, n, edges)
    order = list(edges)
    rng.shuffle(order)
    options = (target, distractor) if rng.random() < 0.5 else (distractor, target)
    return Problem(
        n, tuple(order), root, target, distractor, path, tuple(rng.sample(range(config.label_pool), n)), options
    )


def _random_shortest_path(
    rng: random.Random, root: int, target: int, n: int, edges: list[tuple[int, int]]
) -> tuple[int, ...]:
    dist = distances_from(root, adjacency(n, tuple(edges)))
    path = [target]
    while path[-1] != root:
        v = path[-1]
        parents = [u for u, c in edges if c == v and dist.get(u) == dist[v] - 1]
        path.append(rng.choice(parents))
    return tuple(reversed(path))


def steps(problem: Problem) -> list[tuple[int, int]]:
    """The reasoning steps: the edges of the chosen shortest path, one edge per step."""
    return list(zip(problem.path, problem.path[1:]))


def frontier(problem: Problem, k: int) -> set[int]:
    """Nodes at the end of some k-edge walk from the root: what thought k may "reach"
    (thought 1 → the root's children, thought 2 → their children, …)."""
    children = problem.children()
    layer = {problem.root}
    for _ in range(k):
        layer = {c for v in layer for c in children[v]}
    return layer


def leads_to_target(problem: Problem, node: int) -> bool:
    return problem.target in distances_from(node, problem.children())


def height(problem: Problem, node: int) -> int:
    """Shortest distance from `node` to any leaf (0 for a leaf). The paper's text says
    shortest; one caption says longest; we use shortest."""
    children = problem.children()
    return min(d for v, d in distances_from(node, children).items() if not children[v])


# --- the text the model reads and writes --------------------------------------------

PATH_CLASSES = ("correct_path", "longer_path", "hallucination", "wrong_target", "correct_label", "incorrect_label")


def label(problem: Problem, node: int) -> str:
    return f"n{problem.labels[node]}"


EDGE_END = "|"


def question_tokens(problem: Problem, edge_tokens: bool = False) -> list[str]:
    """`u v |` for every edge (shuffled), then `? root option option`; with `edge_tokens`,
    one token `u>v` per edge instead (the model embeds it as a source-role vector of u plus
    the ordinary embedding of v, `demos.coconut.EdgeTokenGPT`), so "the children of u" is
    a lookup by one attention head rather than an induction circuit over two positions.

    The `|` after each edge is there so that two node tokens in a row are always an edge:
    without it (`u v w x …`) the token after a node is either its child or the parent of
    the next edge, and a model looking up "what follows u" must tell the two apart by the
    parity of the position. A 2-layer CoT model trained without it wrote exactly that
    non-edge as the next node in a share of its first errors (docs/demos.md, "Why the
    models did not learn"); Ber666/reasoning-by-superposition separates edges the same way."""
    if edge_tokens:
        tokens = [edge_token(label(problem, u), label(problem, v)) for u, v in problem.edges]
    else:
        tokens = [t for u, v in problem.edges for t in (label(problem, u), label(problem, v), EDGE_END)]
    return tokens + ["?", label(problem, problem.root)] + [label(problem, v) for v in problem.options]


def edge_token(source: str, child: str) -> str:
    return f"{source}>{child}"


def split_edge_token(symbol: str) -> tuple[str, str] | None:
    """(source, child) of an edge token `nU>nV`; None for anything else (`<eot>` has a `>` too)."""
    if not symbol.startswith("n") or ">" not in symbol:
        return None
    source, child = symbol.split(">")
    return source, child


def question_length(edges: int, edge_tokens: bool = False) -> int:
    return (1 if edge_tokens else 3) * edges + 4


def language_tokens(problem: Problem, skip: int) -> list[str]:
    """Reasoning steps after the first `skip`, then `#### answer <eos>`."""
    tokens = [label(problem, v) for edge in steps(problem)[skip:] for v in edge]
    return tokens + ["####", label(problem, problem.target), "<eos>"]


def answer_token(generated: list[str]) -> str | None:
    if "####" not in generated:
        return None
    rest = generated[generated.index("####") + 1 :]
    return rest[0] if rest else None


def classify_path(problem: Problem, generated: list[str], k: int) -> str:
    """The paper's six classes for an output written after k continuous thoughts.

    No language step → correct/incorrect label. Otherwise the steps must chain edges of the
    graph starting from a node reachable by a k-edge walk (the root when k=0), else it is a
    hallucination; a valid chain ending at the target is a correct path when k plus its
    length equals the shortest distance, a longer path otherwise; ending elsewhere, a
    wrong target.
    """
    cut = generated.index("####") if "####" in generated else len(generated)
    language = generated[:cut]
    if not language:
        return "correct_label" if answer_token(generated) == label(problem, problem.target) else "incorrect_label"
    node_of = {label(problem, v): v for v in range(problem.n)}
    if len(language) % 2 or any(t not in node_of for t in language):
        return "hallucination"
    chain = [(node_of[a], node_of[b]) for a, b in zip(language[::2], language[1::2])]
    edges = set(problem.edges)
    connected = all(x[1] == y[0] for x, y in zip(chain, chain[1:]))
    if not connected or any(e not in edges for e in chain) or chain[0][0] not in frontier(problem, k):
        return "hallucination"
    if chain[-1][1] != problem.target:
        return "wrong_target"
    return "correct_path" if k + len(chain) == len(problem.path) - 1 else "longer_path"
