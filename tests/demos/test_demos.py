"""The demos' pure parts (no torch): task formats, the removal schedule, the DAG
generator, the path classifier, the registry. The torch side is in test_demos_torch.py."""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from pathlib import Path

import pytest

from demos import multiplication as mult
from demos import prosqa, registry
from demos.removal import (
    Removal,
    faster,
    removal_count,
    remove_cot,
    sample_offsets,
    smoothing_distribution,
    steps_to_remove,
)

# --- multiplication in Deng et al.'s format --------------------------------------------

# 3719 × 3349, worked by hand: partial products 3719·9, 3719·4·10, 3719·3·100, 3719·3·1000
# (33471, 148760, 1115700, 11157000) and running sums 182231, 1297931; product 12454931.
LINE_3719_3349 = (
    "9 1 7 3 * 9 4 3 3||1 7 4 3 3 + 0 6 7 8 4 1 ( 1 3 2 2 8 1 ) + 0 0 7 5 1 1 1 "
    "( 1 3 9 7 9 2 1 ) + 0 0 0 7 5 1 1 1 #### 1 3 9 4 5 4 2 1"
)
# The first line of their released data/4_by_4_mult/valid.txt.
LINE_2365_4347 = (
    "5 6 3 2 * 7 4 3 4||5 5 5 6 1 + 0 0 6 4 9 0 ( 5 5 1 1 1 1 ) + 0 0 5 9 0 7 0 "
    "( 5 5 6 0 2 8 0 ) + 0 0 0 0 6 4 9 0 #### 5 5 6 0 8 2 0 1"
)


@pytest.mark.parametrize(("a", "b", "line"), [(3719, 3349, LINE_3719_3349), (2365, 4347, LINE_2365_4347)])
def test_multiplication_record_matches_deng_format(a: int, b: int, line: str) -> None:
    assert mult.multiplication_record(a, b, 4) == line


def test_answer_is_padded_to_all_digits() -> None:
    # 1000 × 1000 = 1000000 has 7 digits; the record writes 8, reversed.
    assert mult.multiplication_record(1000, 1000, 4).endswith("#### 0 0 0 0 0 0 1 0")


def test_parse_record_splits_prompt_cot_answer() -> None:
    example = mult.parse_record(LINE_3719_3349)
    assert example.prompt == "9 1 7 3 * 9 4 3 3".split() + ["||"]
    assert example.answer == ["####", *"1 3 9 4 5 4 2 1".split(), "<eos>"]
    assert len(example.cot) == 46  # the paper's 4×4 CoT length
    assert mult.answer_value(example.answer) == 3719 * 3349


@pytest.mark.parametrize(("digits", "length"), [(2, 8), (3, 24), (4, 46), (5, 74)])
def test_cot_lengths(digits: int, length: int) -> None:
    assert mult.cot_length(digits) == length


@pytest.mark.parametrize("tokens", [["1", "2"], ["####", "x"], ["####"], ["####", "<eos>"]])
def test_answer_value_rejects_malformed(tokens: list[str]) -> None:
    assert mult.answer_value(tokens) is None


def test_sample_pairs_distinct_in_range_and_held_out() -> None:
    held_out = set(mult.sample_pairs(random.Random(1), 2, 500))
    pairs = mult.sample_pairs(random.Random(2), 2, 2000, held_out)
    assert len(set(pairs)) == 2000
    assert not held_out & set(pairs)
    assert all(10 <= a <= 99 and 10 <= b <= 99 for a, b in pairs)


def test_a_3_by_2_task_has_the_same_format_and_a_10_token_cot() -> None:
    example = mult.make_example(123, 45, (3, 2))
    assert example == mult.parse_record(mult.multiplication_record(123, 45, 3, 2))
    assert " ".join(example.cot) == "5 1 6 0 + 0 2 9 4 0"  # 123·5 = 615, 123·40 = 4920, reversed
    assert mult.answer_value(example.answer) == 123 * 45 and len(example.answer) == 5 + 2
    assert mult.cot_length((3, 2)) == 10 and mult.cot_length(3) == mult.cot_length((3, 3)) == 24
    pairs = mult.sample_pairs(random.Random(0), (3, 2), 500)
    assert all(100 <= a <= 999 and 10 <= b <= 99 for a, b in pairs)
    assert 0.1 < mult.majority_digit_baseline(random.Random(0), (3, 2), samples=3000) < 0.3


def test_majority_baseline_is_above_uniform_chance() -> None:
    assert 0.1 < mult.majority_digit_baseline(random.Random(0), 3, samples=3000) < 0.3


# --- the removal schedule ----------------------------------------------------------------


@pytest.mark.parametrize(("step", "removed"), [(0, 0), (74, 0), (75, 1), (599, 7), (600, 8), (1800, 24)])
def test_removal_count_is_floor_delta_t_over_T(step: int, removed: int) -> None:
    assert removal_count(step, Removal(delta=8, steps_per_epoch=600)) == removed


SEGMENTS = Removal(segments=((2, 100), (3, 10)))


@pytest.mark.parametrize(
    ("step", "removed"), [(0, 0), (99, 0), (100, 1), (199, 1), (200, 2), (209, 2), (210, 3), (230, 5), (260, 8)]
)
def test_segments_remove_n_tokens_k_steps_apart_then_keep_the_last_rate(step: int, removed: int) -> None:
    assert removal_count(step, SEGMENTS) == removed


def test_steps_to_remove_is_the_first_step_with_that_many_removed() -> None:
    for removal in (SEGMENTS, Removal(delta=8, steps_per_epoch=600), Removal(delta=3, steps_per_epoch=100)):
        for count in range(1, 30):
            first = steps_to_remove(removal, count)
            assert removal_count(first, removal) >= count > removal_count(first - 1, removal), (removal, count)


def test_large_delta_is_twice_as_fast_for_both_kinds_of_schedule() -> None:
    assert faster(Removal(delta=8), 2) == {"delta": 16}
    assert faster(SEGMENTS, 2) == {"segments": ((2, 50), (3, 5))}
    with pytest.raises(ValueError, match="segments"):
        Removal(segments=((2, 0),))


def test_smoothing_distribution_lambda_4() -> None:
    probs = smoothing_distribution(4.0)
    assert len(probs) == 100
    assert math.isclose(sum(probs), 1.0)
    assert math.isclose(probs[0], 1 - math.exp(-4))  # ≈ 0.982
    assert math.isclose(probs[1] / probs[0], math.exp(-4))
    counts = Counter(sample_offsets(random.Random(0), probs, 20000))
    assert 0.975 < counts[0] / 20000 < 0.99
    assert set(counts) <= {0, 1, 2, 3}


def test_no_smoothing_means_no_offset() -> None:
    assert set(sample_offsets(random.Random(0), smoothing_distribution(math.inf), 1000)) == {0}


def test_remove_cot_left_right_and_beyond() -> None:
    example = mult.parse_record(LINE_3719_3349)
    left = remove_cot(example, 3, "left")
    assert left == example.prompt + example.cot[3:] + example.answer
    assert remove_cot(example, 3, "right") == example.prompt + example.cot[:-3] + example.answer
    assert remove_cot(example, 999, "left") == example.prompt + example.answer


def test_removal_rejects_bad_side() -> None:
    with pytest.raises(ValueError, match="side"):
        Removal(side="middle")


# --- the ProsQA-like DAG task --------------------------------------------------------------

CONFIG = prosqa.GraphConfig()


@pytest.fixture(scope="module")
def problems() -> list[prosqa.Problem]:
    rng = random.Random(0)
    return [prosqa.make_problem(rng, CONFIG) for _ in range(150)]


def test_generated_problems_hold_their_invariants(problems: list[prosqa.Problem]) -> None:
    for p in problems:
        assert CONFIG.min_nodes <= p.n <= CONFIG.max_nodes
        assert len(p.edges) <= CONFIG.max_edges and len(set(p.edges)) == len(p.edges)
        assert all(u < v for u, v in p.edges)  # grown in order: acyclic
        children = p.children()
        dist = prosqa.distances_from(p.root, children)
        hops = len(p.path) - 1
        assert CONFIG.min_hops <= hops <= CONFIG.max_hops and dist[p.target] == hops
        assert all(edge in p.edges for edge in zip(p.path, p.path[1:])) and p.path[0] == p.root
        assert p.distractor not in dist and any(c == p.distractor for _, c in p.edges)
        assert not children[p.target] and not children[p.distractor]
        assert not any(c == p.root for _, c in p.edges) and len(children[p.root]) >= CONFIG.min_root_children
        assert set(p.options) == {p.target, p.distractor}
        assert len(set(p.labels)) == p.n and all(0 <= x < CONFIG.label_pool for x in p.labels)


def test_generation_is_reproducible_and_balanced(problems: list[prosqa.Problem]) -> None:
    rng = random.Random(0)
    assert [prosqa.make_problem(rng, CONFIG) for _ in range(10)] == problems[:10]
    hops = Counter(len(p.path) - 1 for p in problems)
    assert set(hops) == {2, 3, 4} and min(hops.values()) > 25


def test_relabel_keeps_the_graph_and_changes_the_tokens(problems: list[prosqa.Problem]) -> None:
    original = problems[0]
    changed = prosqa.relabel(random.Random(5), original, CONFIG.label_pool)
    assert set(changed.edges) == set(original.edges)
    assert (changed.root, changed.target, changed.distractor, changed.path) == (
        original.root,
        original.target,
        original.distractor,
        original.path,
    )
    assert changed.labels != original.labels and len(set(changed.labels)) == changed.n
    question = prosqa.question_tokens(changed)
    assert question[-4:-2] == ["?", prosqa.label(changed, changed.root)]
    assert prosqa.language_tokens(changed, 0)[-2] == prosqa.label(changed, changed.target)


def test_question_and_language_tokens(problems: list[prosqa.Problem]) -> None:
    p = problems[0]
    question = prosqa.question_tokens(p)
    assert len(question) == 3 * len(p.edges) + 4 == prosqa.question_length(len(p.edges))
    steps = prosqa.steps(p)
    language = prosqa.language_tokens(p, 1)
    assert language == [prosqa.label(p, v) for edge in steps[1:] for v in edge] + [
        "####",
        prosqa.label(p, p.target),
        "<eos>",
    ]
    assert prosqa.language_tokens(p, 10) == ["####", prosqa.label(p, p.target), "<eos>"]


def _read_question(question: list[str]) -> tuple[list[tuple[str, str]], str, list[str]]:
    """Parse a question back the way a reader of the tokens must: edges, root, options."""
    cut = question.index("?")
    body = question[:cut]
    assert body[2::3] == [prosqa.EDGE_END] * (len(body) // 3) and len(body) % 3 == 0
    return list(zip(body[0::3], body[1::3])), question[cut + 1], question[cut + 2 :]


def test_what_cot_and_coconut_train_on_is_right_on_a_handful_of_tiny_graphs() -> None:
    """Everything a CoT model reads and is scored on, checked from the tokens alone: the
    CoT tokens are exactly a shortest path of edges written in the question, from the root
    to the option that is reachable, and the other option is not reachable; k thoughts
    remove exactly the first k steps."""
    tiny = prosqa.GraphConfig(min_nodes=6, max_nodes=7, min_hops=1, max_hops=3, max_edges=10, label_pool=10)
    rng = random.Random(3)
    for p in [prosqa.relabel(rng, prosqa.make_problem(rng, tiny), tiny.label_pool) for _ in range(8)]:
        edges, root, options = _read_question(prosqa.question_tokens(p))
        children: dict[str, list[str]] = {}
        for u, v in edges:
            children.setdefault(u, []).append(v)
        dist, layer, depth = {root: 0}, [root], 0  # BFS over the edges as written
        while layer:
            depth += 1
            layer = list(dict.fromkeys(v for u in layer for v in children.get(u, []) if v not in dist))
            dist |= {v: depth for v in layer}
        cot = prosqa.language_tokens(p, 0)
        assert cot[-3:] == ["####", cot[-4], "<eos>"]  # the answer is the last node of the chain
        chain = list(zip(cot[:-3:2], cot[1:-3:2]))
        assert chain[0][0] == root and all(step in edges for step in chain)
        assert all(a[1] == b[0] for a, b in zip(chain, chain[1:]))
        target = chain[-1][1]
        assert target in options and dist[target] == len(chain)  # a shortest path
        assert [o for o in options if o != target][0] not in dist  # the distractor is unreachable
        for k in range(len(chain) + 2):
            assert prosqa.language_tokens(p, k) == cot[2 * min(k, len(chain)) :]


def test_two_node_tokens_in_a_row_are_always_an_edge(problems: list[prosqa.Problem]) -> None:
    """Without a separator (`u v w x`) the token after a node is its child or the parent of
    the next edge, and a lookup of "what follows u" must tell them apart by position parity."""
    for p in problems[:30]:
        question = prosqa.question_tokens(p)
        labels = {prosqa.label(p, v): v for v in range(p.n)}
        body = question[: question.index("?")]
        pairs = [(labels[a], labels[b]) for a, b in zip(body, body[1:]) if a in labels and b in labels]
        assert sorted(pairs) == sorted(p.edges)


# A hand-made graph: root 0; target 4 by 0-1-3-4 or 0-2-3-4 (3 hops), or 0-1-2-3-4 (4);
# 0-5-6 leads to another leaf; 8-7 is the distractor, unreachable from 0.
HAND = prosqa.Problem(
    n=9,
    edges=((0, 1), (0, 2), (1, 2), (1, 3), (2, 3), (3, 4), (0, 5), (5, 6), (8, 7)),
    root=0,
    target=4,
    distractor=7,
    path=(0, 1, 3, 4),
    labels=tuple(range(9)),
    options=(4, 7),
)


@pytest.mark.parametrize(
    ("output", "k", "expected"),
    [
        ("n0 n1 n1 n3 n3 n4 #### n4", 0, "correct_path"),
        ("n0 n2 n2 n3 n3 n4 #### n4", 0, "correct_path"),
        ("n0 n1 n1 n2 n2 n3 n3 n4 #### n4", 0, "longer_path"),
        ("n0 n5 n5 n6 #### n6", 0, "wrong_target"),
        ("n0 n3 n3 n4 #### n4", 0, "hallucination"),  # 0→3 is not an edge
        ("n0 n1 n2 n3 #### n4", 0, "hallucination"),  # steps do not chain
        ("n1 n3 n3 n4 #### n4", 0, "hallucination"),  # does not start at the root
        ("n0 n1 n1 #### n4", 0, "hallucination"),  # half a step
        ("n0 n9 #### n4", 0, "hallucination"),  # no such node in this graph
        ("n1 n3 n3 n4 #### n4", 1, "correct_path"),
        ("n3 n4 #### n4", 2, "correct_path"),
        ("n2 n3 n3 n4 #### n4", 2, "longer_path"),
        ("n3 n4 #### n4", 1, "hallucination"),  # 3 is not one edge from the root
        ("n5 n6 #### n6", 1, "wrong_target"),
        ("#### n4", 3, "correct_label"),
        ("#### n7", 3, "incorrect_label"),
        ("", 3, "incorrect_label"),
    ],
)
def test_classify_path(output: str, k: int, expected: str) -> None:
    assert prosqa.classify_path(HAND, output.split(), k) == expected


def test_frontier_height_and_correctness_on_the_hand_graph() -> None:
    assert prosqa.frontier(HAND, 0) == {0}
    assert prosqa.frontier(HAND, 1) == {1, 2, 5}
    assert prosqa.frontier(HAND, 2) == {2, 3, 6}
    assert prosqa.frontier(HAND, 3) == {3, 4}
    assert [prosqa.height(HAND, v) for v in (4, 3, 1, 5, 0)] == [0, 1, 2, 1, 2]
    assert [prosqa.leads_to_target(HAND, v) for v in (1, 2, 5, 6, 4)] == [True, True, False, False, True]


def test_poisson_mean() -> None:
    rng = random.Random(0)
    assert 1.4 < sum(prosqa.poisson(rng, 1.5) for _ in range(20000)) / 20000 < 1.6


# --- the registry ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arxiv_id", "name"),
    [
        ("2412.06769", "coconut"),
        ("2412.06769v3", "coconut"),
        ("arXiv:2405.14838", "icot"),
        ("2405.14838v1", "icot"),
        ("2401.00001", None),
        ("", None),
    ],
)
def test_demo_for(arxiv_id: str, name: str | None) -> None:
    demo = registry.demo_for(arxiv_id)
    assert (demo.name if demo else None) == name


def test_demo_fields() -> None:
    demo = registry.demo_named("icot")
    assert demo.command == "paperdigest demos run icot"
    assert demo.results_dir(Path("/d")) == Path("/d/demos/icot")


def _write(directory: Path, results: dict | str) -> None:
    directory.mkdir(parents=True)
    text = results if isinstance(results, str) else json.dumps(results)
    (directory / "results.json").write_text(text, encoding="utf-8")


def test_load_results_local_published_and_quick(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "PUBLISHED_DIR", tmp_path / "published")
    demo = registry.demo_named("coconut")
    data_dir = tmp_path / "data"
    assert registry.load_results(demo, data_dir) is None
    _write(data_dir / "demos" / "coconut", {"quick": True, "run": "local"})
    assert registry.load_results(demo, data_dir)["run"] == "local"
    _write(tmp_path / "published" / "coconut", {"quick": False, "run": "published"})
    # A local quick run must not hide the committed full results.
    assert registry.load_results(demo, data_dir)["run"] == "published"
    assert registry.results_location(demo, data_dir) == tmp_path / "published" / "coconut"


def test_load_results_skips_broken_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "PUBLISHED_DIR", tmp_path / "published")
    demo = registry.demo_named("icot")
    _write(tmp_path / "data" / "demos" / "icot", "{not json")
    assert registry.load_results(demo, tmp_path / "data") is None


def test_registry_does_not_need_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['torch'] = None; import demos.registry, paperdigest.commands.demos, demos.paper, "
        "demos.prosqa, demos.multiplication, demos.removal; print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr


def test_run_without_torch_says_how_to_install(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from typer.testing import CliRunner\nfrom paperdigest.commands.demos import demos_app\n"
        f"r = CliRunner().invoke(demos_app, ['run', 'icot', '--quick', '--out', {str(tmp_path)!r}])\n"
        "print(r.exit_code, r.output)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.startswith("1 error: the demos need torch"), done.stdout + done.stderr
    assert "pip install -e '.[demos]'" in done.stdout and "Traceback" not in done.stdout


# --- what reproduced ---------------------------------------------------------------------------


def coconut_results(**accuracy: float) -> dict:
    from demos import paper

    methods = {name: {"accuracy": value, "tokens": 5.0 if name != "cot" else 9.0} for name, value in accuracy.items()}
    return {
        "demo": "coconut",
        "methods": methods,
        "test_stats": {"questions": 500},
        "chance": {"accuracy": 0.5},
        "paper": paper.COCONUT,
    }


def test_findings_need_more_than_noise_to_call_a_difference() -> None:
    from demos.findings import NOT_REPRODUCED, REPRODUCED, UNCLEAR, findings_for

    # se of a difference at n=500 around 0.7 is ~0.03: 0.75 vs 0.70 is not a difference, 0.85 vs 0.70 is
    close = {
        f.claim: f.verdict
        for f in findings_for(coconut_results(coconut=0.75, cot=0.70, no_cot=0.85, pause_as_thought=0.60))
    }
    assert close["Coconut точнее CoT на ProsQA"] == UNCLEAR
    assert close["Coconut точнее No-CoT"] == NOT_REPRODUCED  # No-CoT clearly ahead: the toy disagrees
    assert close["Pause as thought почти не уступает Coconut (оговорка самой статьи)"] == NOT_REPRODUCED
    assert close["Coconut генерирует меньше токенов, чем CoT"] == REPRODUCED
    clear = {f.claim: f.verdict for f in findings_for(coconut_results(coconut=0.85, cot=0.70, pause_as_thought=0.84))}
    assert clear["Coconut точнее CoT на ProsQA"] == REPRODUCED
    assert clear["Pause as thought почти не уступает Coconut (оговорка самой статьи)"] == REPRODUCED


def test_as_good_as_a_model_at_chance_is_not_a_reproduction() -> None:
    from demos.findings import UNCLEAR, findings_for

    found = {f.claim: f for f in findings_for(coconut_results(coconut=0.51, pause_as_thought=0.52))}
    pause = found["Pause as thought почти не уступает Coconut (оговорка самой статьи)"]
    assert pause.verdict == UNCLEAR and "не выше 0.5" in pause.ours


def test_icot_findings_and_a_foreign_results_file() -> None:
    from demos.findings import NOT_REPRODUCED, REPRODUCED, UNCLEAR, findings_for, paper_values

    results = {
        "demo": "icot",
        "config": {"test_size": 500},
        "chance": {"accuracy": 0.0},
        "speedup": 3.2,
        "methods": {"explicit_cot": {"accuracy": 0.97}, "icot": {"accuracy": 0.95}, "no_cot": {"accuracy": 0.2}},
        "ablations": {"no_reset": {"accuracy": 0.3}, "right_side": {"accuracy": 0.96}},
    }
    found = [(f.claim, f.verdict) for f in findings_for(results)]
    assert [v for _, v in found] == [REPRODUCED, REPRODUCED, REPRODUCED, REPRODUCED, UNCLEAR]
    results["methods"]["icot"]["accuracy"] = 0.88  # 0.907 of explicit CoT: "almost as accurate" (≥ 0.9)
    assert findings_for(results)[0].verdict == REPRODUCED and "0.91 от явного CoT" in findings_for(results)[0].ours
    results["methods"]["icot"]["accuracy"] = 0.85  # 0.876 of it: not
    assert findings_for(results)[0].verdict == NOT_REPRODUCED
    assert paper_values(results)["icot"] == "1.00 (4×4)"
    assert findings_for({"demo": "icot", "methods": {"icot": {}}}) == []  # older or partial file: no verdicts
    results["methods"]["icot"]["accuracy"] = 0.01  # SI itself failed: nothing it "beats" counts
    failed = findings_for(results)
    assert failed[1].verdict == NOT_REPRODUCED and "iCoT тоже не выучилась" in failed[1].ours
    assert [f.verdict for f in failed[3:]] == [UNCLEAR, UNCLEAR]


def test_show_prints_the_results_and_the_verdicts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from paperdigest.commands.demos import demos_app

    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    missing = CliRunner().invoke(demos_app, ["show", "coconut"])
    assert missing.exit_code == 1 and "no results for coconut yet" in missing.output
    results = coconut_results(coconut=0.86, cot=0.70) | {
        "quick": False,
        "seed": 0,
        "wall_time_s": 10.0,
        "cpu_time_s": 9.0,
    }
    _write(tmp_path / "data" / "demos" / "coconut", results)
    shown = CliRunner().invoke(demos_app, ["show", "coconut"])
    assert shown.exit_code == 0, shown.output
    assert "coconut            accuracy 0.860" in shown.output
    assert "[reproduced] Coconut точнее CoT на ProsQA — paper: 97.0 vs 77.5" in shown.output
