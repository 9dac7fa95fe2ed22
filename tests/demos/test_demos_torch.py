"""The demos' torch side: the model and its cache, Coconut's latent feedback, batch
layouts, the analyses, a micro training run, and both commands end to end at tiny size.

Skipped, with the reason, where the optional `demos` extra (torch, matplotlib) is missing.
"""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="needs the demos extra: pip install -e '.[demos]'")
pytest.importorskip("matplotlib", reason="needs the demos extra: pip install -e '.[demos]'")

from typer.testing import CliRunner  # noqa: E402

from demos import coconut, coconut_analysis, coconut_run, icot, icot_run, prosqa  # noqa: E402
from demos import multiplication as mult  # noqa: E402
from demos.model import ModelConfig, TinyGPT  # noqa: E402
from demos.removal import Removal  # noqa: E402
from demos.training import Optim, greedy_decode, make_optimizer, set_lr, train_step  # noqa: E402
from paperdigest.commands.demos import demos_app  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # Tiny models run faster on one thread, and the test suite shares the machine.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_model(vocab: int = 20, max_len: int = 16) -> TinyGPT:
    torch.manual_seed(0)
    return TinyGPT(ModelConfig(vocab, max_len, n_layers=2, d_model=32, n_heads=2))


# --- the model --------------------------------------------------------------------------------


def test_model_shapes_tied_head_and_length_limit() -> None:
    model = tiny_model()
    tokens = torch.randint(0, 20, (3, 10))
    assert model(tokens).shape == (3, 10, 20)
    hidden, past = model.forward_embeds(model.embed(tokens))
    assert hidden.shape == (3, 10, 32) and len(past) == 2 and past[0][0].shape == (3, 2, 10, 16)
    assert model.head.weight is model.tok.weight
    with pytest.raises(ValueError, match="max_len"):
        model(torch.zeros(1, 17, dtype=torch.long))


def test_kv_cache_gives_the_same_hidden_states() -> None:
    model = tiny_model()
    tokens = torch.randint(0, 20, (2, 12))
    full, _ = model.forward_embeds(model.embed(tokens))
    first, past = model.forward_embeds(model.embed(tokens[:, :5]))
    second, past = model.forward_embeds(model.embed(tokens[:, 5:6]), past)
    rest, _ = model.forward_embeds(model.embed(tokens[:, 6:]), past)
    assert torch.allclose(torch.cat([first, second, rest], dim=1), full, atol=1e-5)


def test_greedy_decode_matches_recomputing_without_cache() -> None:
    model = tiny_model()
    prompt = torch.randint(0, 20, (2, 4))
    fast = greedy_decode(model, prompt, max_new=6, eos_id=99)  # no eos: runs all 6 steps
    sequence = prompt
    for _ in range(6):
        sequence = torch.cat([sequence, model(sequence)[:, -1].argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(fast, sequence[:, 4:])


# --- Coconut: layout and latent feedback --------------------------------------------------------

GRAPHS = prosqa.GraphConfig(min_nodes=6, max_nodes=8, min_hops=1, max_hops=3, max_edges=12, label_pool=10)


@pytest.fixture(scope="module")
def small_problems() -> list[prosqa.Problem]:
    rng = random.Random(0)
    return [prosqa.make_problem(rng, GRAPHS) for _ in range(24)]


def test_batch_layout_aligns_eot_and_masks_the_loss(small_problems: list[prosqa.Problem]) -> None:
    vocab, layout = coconut.make_vocab(10), coconut.Layout.for_task(GRAPHS, 3)
    ks = [0, 1, 2, 3]
    pairs = [coconut.encode(p, "coconut", k) for p, k in zip(small_problems, ks)]
    tokens, loss_mask, thought = coconut.make_batch(vocab, layout, pairs)
    assert tokens.shape == (4, layout.prefix + layout.suffix)
    assert (tokens[:, layout.prefix - 1] == vocab.ids["<eot>"]).all()
    assert thought.sum(dim=1).tolist() == ks
    for row, (prefix, suffix) in enumerate(pairs):
        assert loss_mask[row].sum() == len(suffix) and not loss_mask[row, : layout.prefix].any()
        assert vocab.decode(tokens[row, layout.prefix : layout.prefix + len(suffix)].tolist()) == suffix
    _, _, pause_thoughts = coconut.make_batch(vocab, layout, [coconut.encode(small_problems[0], "pause_as_thought", 2)])
    assert not pause_thoughts.any()  # pause tokens are read as tokens, never fed back


@pytest.mark.parametrize("method", ["coconut", "pause_as_thought"])
def test_the_question_stays_in_its_columns_whatever_the_number_of_thoughts(
    small_problems: list[prosqa.Problem], method: str
) -> None:
    """A mixed batch (stage mixing) holds rows with 0…K thoughts: the question must sit in
    the same columns in all of them (left-padding the whole block moved it K−k places and
    flipped the parity of its parent and child slots)."""
    vocab, layout = coconut.make_vocab(10), coconut.Layout.for_task(GRAPHS, 3)
    problem = small_problems[0]
    tokens, _, _ = coconut.make_batch(vocab, layout, [coconut.encode(problem, method, k) for k in range(4)])
    question = prosqa.question_tokens(problem)
    for row in tokens:
        assert vocab.decode(row[layout.question - len(question) : layout.question].tolist()) == question
        assert vocab.decode(row[: layout.question - len(question)].tolist()) == ["<pad>"] * (
            layout.question - len(question)
        )
    assert (tokens[:, layout.prefix - 1] == vocab.ids["<eot>"]).all()
    bot = [row.tolist().index(vocab.ids["<bot>"]) for row in tokens]
    assert bot == [layout.prefix - 2 - k for k in range(4)]


def test_cot_and_no_cot_batches_score_exactly_the_written_part(small_problems: list[prosqa.Problem]) -> None:
    """The loss covers the CoT steps and the answer (or the answer alone), each predicted
    from the token before it; never the question, the padding or anything after `<eos>`."""
    vocab, layout = coconut.make_vocab(10), coconut.Layout.for_task(GRAPHS, 3)
    for method in ("cot", "no_cot"):
        pairs = [coconut.encode(p, method, 0) for p in small_problems[:6]]
        tokens, loss_mask, thought = coconut.make_batch(vocab, layout, pairs)
        assert not thought.any()
        for row, (p, (prefix, suffix)) in enumerate(zip(small_problems, pairs)):
            assert prefix == prosqa.question_tokens(p)
            scored = vocab.decode(tokens[row][loss_mask[row]].tolist())
            expected = prosqa.language_tokens(p, 0) if method == "cot" else prosqa.language_tokens(p, 99)
            assert scored == suffix == expected
            assert vocab.decode(tokens[row, layout.prefix - len(prefix) : layout.prefix].tolist()) == prefix


@pytest.mark.parametrize(("method", "k", "edge_tokens"), [("cot", 0, False), ("coconut", 3, False), ("cot", 0, True)])
def test_a_handful_of_graphs_is_fitted_perfectly(
    small_problems: list[prosqa.Problem], method: str, k: int, edge_tokens: bool
) -> None:
    """Eight graphs with fixed labels, 300 steps of a 2-layer d=64 model: a correct pipeline
    (targets, loss mask, decoding, latent feedback) must write every chain and answer exactly.
    This passes while the full-size models stay at chance, so their failure is learning, not
    labels or masks."""
    graphs = dataclasses.replace(GRAPHS, edge_tokens=edge_tokens)
    vocab, layout = coconut.make_vocab(10, edge_tokens), coconut.Layout.for_task(graphs, 3)
    torch.manual_seed(0)
    config = ModelConfig(len(vocab), layout.prefix + layout.suffix, n_layers=2, d_model=64, n_heads=4)
    model = coconut.make_model(config, vocab, edge_tokens)
    problems = small_problems[:8]
    batch = coconut.make_batch(vocab, layout, [coconut.encode(p, method, k, edge_tokens) for p in problems])
    optimizer = make_optimizer(model, 3e-3, 0.0)
    for step in range(300):
        set_lr(optimizer, 3e-3, step, 20)
        train_step(optimizer, coconut.batch_loss(model, *batch), model.parameters(), 1.0)
    outputs = coconut.generate(model, vocab, layout, problems, method, k)
    assert outputs == [prosqa.language_tokens(p, k)[:-1] for p in problems]


def test_an_edge_token_is_one_position_embedded_as_source_role_plus_child(
    small_problems: list[prosqa.Problem],
) -> None:
    """`u>v` reads src(u) + tok(v); node and special tokens read tok alone; the question
    names exactly the problem's edges, one position each, and fits the layout."""
    graphs = dataclasses.replace(GRAPHS, edge_tokens=True)
    vocab, layout = coconut.make_vocab(10, True), coconut.Layout.for_task(graphs, 3)
    torch.manual_seed(0)
    model = coconut.make_model(ModelConfig(len(vocab), layout.prefix + layout.suffix, 2, 32, 2), vocab, True)
    problem = small_problems[0]
    question = prosqa.question_tokens(problem, edge_tokens=True)
    assert len(question) == len(problem.edges) + 4 == prosqa.question_length(len(problem.edges), True)
    labels = {prosqa.label(problem, v): v for v in range(problem.n)}
    split = [prosqa.split_edge_token(t) for t in question[: len(problem.edges)]]
    written = [(labels[e[0]], labels[e[1]]) for e in split if e]
    assert written == list(problem.edges) and question[len(problem.edges)] == "?"
    ids = torch.tensor([vocab.encode(question)])
    embeds = model.embed(ids)[0]
    for i, symbol in enumerate(question):
        if edge := prosqa.split_edge_token(symbol):
            a, b = edge
            expected = model.src.weight[vocab.ids[a]] + model.tok.weight[vocab.ids[b]]
        else:
            expected = model.tok.weight[vocab.ids[symbol]]
            assert torch.equal(embeds[i], expected)
    tokens, _, _ = coconut.make_batch(vocab, layout, [coconut.encode(problem, "coconut", 2, True)])
    assert vocab.decode(tokens[0, layout.question - len(question) : layout.question].tolist()) == question


def test_latent_feedback_feeds_the_previous_hidden_state(small_problems: list[prosqa.Problem]) -> None:
    vocab, layout = coconut.make_vocab(10), coconut.Layout.for_task(GRAPHS, 3)
    model = tiny_model(len(vocab), layout.prefix + layout.suffix)
    pairs = [coconut.encode(p, "coconut", k) for p, k in zip(small_problems, [3, 1, 0, 2])]
    tokens, _, thought = coconut.make_batch(vocab, layout, pairs)
    hidden, embeds, _ = coconut.latent_forward(model, tokens, thought)
    rows, columns = thought.nonzero(as_tuple=True)
    assert len(rows) == 6
    for r, c in zip(rows.tolist(), columns.tolist()):
        assert torch.equal(embeds[r, c], hidden[r, c - 1])  # the thought reads the last hidden state
    assert torch.equal(embeds[~thought], model.embed(tokens)[~thought])  # everything else reads tokens
    again, _ = model.forward_embeds(embeds)  # one plain pass over the same inputs agrees
    assert torch.allclose(again, hidden, atol=1e-5)
    assert embeds[rows[0], columns[0]].grad_fn is not None  # thoughts are trained through


def test_latent_generation_continues_after_thoughts(small_problems: list[prosqa.Problem]) -> None:
    vocab, layout = coconut.make_vocab(10), coconut.Layout.for_task(GRAPHS, 3)
    model = tiny_model(len(vocab), layout.prefix + layout.suffix)
    outputs = coconut.generate(model, vocab, layout, small_problems[:5], "coconut", 2)
    assert len(outputs) == 5 and all(len(o) <= layout.suffix for o in outputs)
    scores = coconut.evaluate(model, vocab, layout, small_problems[:5], "coconut", 2)
    assert 0 <= scores["accuracy"] <= 1 and scores["tokens"] >= 2


def test_analysis_outputs_are_well_formed(small_problems: list[prosqa.Problem]) -> None:
    vocab, layout = coconut.make_vocab(10), coconut.Layout.for_task(GRAPHS, 3)
    model = tiny_model(len(vocab), layout.prefix + layout.suffix)
    sweep = coconut_analysis.k_sweep(model, vocab, layout, small_problems, 3)
    assert [row["k"] for row in sweep] == [0, 1, 2, 3]
    assert all(abs(sum(row["classes"].values()) - 1) < 1e-9 for row in sweep)
    per_question = coconut_analysis.frontier_values(model, vocab, layout, small_problems, 1)
    assert len(per_question) == sum(len(p.path) - 1 > 1 for p in small_problems)
    for nodes in per_question:
        values = [n["value"] for n in nodes]
        assert values == sorted(values, reverse=True) and all(0 <= v <= 1 for v in values)
    curves = coconut_analysis.top_k_cumulative(per_question)
    assert all(a <= b + 1e-9 for a, b in zip(sorted(curves["top1"]), sorted(curves["top2"])))
    assert coconut_analysis.value_by_height(per_question)
    assert coconut_analysis.summarize_values(per_question)["questions"] == len(per_question)


# --- iCoT ---------------------------------------------------------------------------------------


def test_icot_batch_removes_and_masks() -> None:
    examples = [mult.make_example(37, 49, 2)] * 3
    tokens, mask, _ = icot.make_batch(examples, [0, 5, 100], "left")
    lengths = [len(examples[0].prompt) + len(examples[0].cot) - r + len(examples[0].answer) for r in (0, 5, 8)]
    assert tokens.shape == (3, max(lengths))
    assert mask.sum(dim=1).tolist() == [n - len(examples[0].prompt) for n in lengths]
    assert icot.VOCAB.decode(tokens[2, : lengths[2]].tolist()) == examples[0].prompt + examples[0].answer


def test_internalize_removes_everything_and_resets_per_step() -> None:
    torch.manual_seed(0)
    model = TinyGPT(ModelConfig(len(icot.VOCAB), 20, n_layers=1, d_model=32, n_heads=2))
    optim = Optim(batch_size=8, warmup=2, reset_warmup=1)
    val = mult.sample_pairs(random.Random(1), 2, 10)
    run = icot.internalize(model, optim, Removal(delta=8, steps_per_epoch=16), random.Random(0), 2, set(val), 3, val)
    assert [p["removed"] for p in run["curve"]] == list(range(9))  # 2×2 CoT has 8 tokens
    assert run["optimizer_resets"] == 8 and run["steps"] == 16 + 3
    frozen = icot.internalize(
        model, optim, Removal(delta=8, steps_per_epoch=16, reset_optimizer=False), random.Random(0), 2, set(val), 0, val
    )
    assert frozen["optimizer_resets"] == 0


def test_internalize_follows_segments() -> None:
    torch.manual_seed(0)
    model = TinyGPT(ModelConfig(len(icot.VOCAB), 20, n_layers=1, d_model=32, n_heads=2))
    val = mult.sample_pairs(random.Random(1), 2, 10)
    removal = Removal(segments=((2, 5), (6, 1)), keep_position=True)
    run = icot.internalize(model, Optim(batch_size=8, warmup=2), removal, random.Random(0), 2, set(val), 2, val)
    assert [p["step"] for p in run["curve"]] == [5, 10, 11, 12, 13, 14, 15, 16, 18]
    assert run["optimizer_resets"] == 8 and run["steps"] == 16 + 2
    no_final = icot.internalize(model, Optim(batch_size=8, warmup=2), removal, random.Random(0), 2, set(val), 0, val)
    assert [p["removed"] for p in no_final["curve"]][-2:] == [7, 8]  # the last point has all 8 removed


def test_the_si_phase_trains_at_its_own_lr(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []
    monkeypatch.setattr(icot, "internalize", lambda model, optim, *rest: seen.append(optim.lr) or {})
    config = dataclasses.replace(TINY_ICOT, si_lr=5e-4)
    icot_run._internalize(None, config, config.removal, set(), [])
    icot_run._internalize(None, TINY_ICOT, TINY_ICOT.removal, set(), [])
    assert seen == [5e-4, TINY_ICOT.optim.lr]


def test_icot_diagnose_parses_segments_and_sizes_a_3_by_2_model() -> None:
    from demos import icot_diagnose

    assert icot_diagnose.parse_segments("4x500,20X150") == ((4, 500), (20, 150))
    config = icot_run.IcotConfig(digits=3, b_digits=2)
    assert icot_run.shape(config) == (3, 2)
    example = mult.make_example(999, 99, (3, 2))
    tokens = len(example.prompt) + len(example.cot) + len(example.answer)
    assert icot_run.new_model(config).config.max_len == tokens


def test_micro_training_beats_chance() -> None:
    """2×2 multiplication with explicit CoT, 150 steps of a 2-layer d=32 model: the answer
    digits beat always writing each position's most common digit."""
    torch.manual_seed(0)
    model = TinyGPT(ModelConfig(len(icot.VOCAB), 20, n_layers=2, d_model=32, n_heads=2))
    test = mult.sample_pairs(random.Random(1), 2, 200)
    icot.train_fixed(model, Optim(batch_size=32, lr=3e-3, warmup=20), random.Random(0), 2, set(test), 150, removed=0)
    scores = icot.evaluate(model, test, 2, removed=0)
    chance = mult.majority_digit_baseline(random.Random(0), 2, samples=5000)
    assert scores["digit_accuracy"] > chance + 0.05, (scores, chance)


# --- both commands, end to end, at tiny size --------------------------------------------------------

TINY_ICOT = icot_run.IcotConfig(
    digits=2,
    n_layers=1,
    d_model=32,
    n_heads=2,
    optim=Optim(batch_size=16, warmup=5),
    removal=Removal(steps_per_epoch=8),
    cot_steps=20,
    final_steps=4,
    ablations=("no_reset", "right_side"),
    val_size=20,
    test_size=20,
    speed_examples=5,
    quick=True,
)
TINY_COCONUT = coconut_run.CoconutConfig(
    graphs=dataclasses.replace(GRAPHS, edge_tokens=True),  # the format the full and quick runs use
    n_layers=1,
    d_model=32,
    n_heads=2,
    optim=Optim(batch_size=16, warmup=5),
    curriculum=coconut.Curriculum(max_thoughts=3, stage_steps=4),
    steps=16,
    pool_size=60,
    test_size=40,
    quick=True,
)


@pytest.fixture
def tiny_quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(icot_run, "QUICK", TINY_ICOT)
    monkeypatch.setattr(coconut_run, "QUICK", TINY_COCONUT)


def _run(out: Path, name: str, *extra: str) -> dict:
    result = CliRunner().invoke(demos_app, ["run", name, "--quick", "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    assert f"wrote {out / 'results.json'}" in result.output
    return json.loads((out / "results.json").read_text(encoding="utf-8"))


def _check_envelope(results: dict, out: Path, arxiv_id: str) -> None:
    assert results["arxiv_id"] == arxiv_id and results["quick"] is True and results["seed"] == 0
    assert results["machine"]["cpu_count"] >= 1 and results["machine"]["torch"] == torch.__version__
    assert results["wall_time_s"] >= 0 and results["paper"]["arxiv_id"] == arxiv_id
    assert results["plots"] and all((out / name).stat().st_size > 1000 for name in results["plots"])


def test_icot_command_end_to_end(tmp_path: Path, tiny_quick: None) -> None:
    results = _run(tmp_path / "icot", "icot")
    _check_envelope(results, tmp_path / "icot", "2405.14838")
    assert set(results["methods"]) == {"explicit_cot", "icot", "no_cot"}
    assert set(results["ablations"]) == {"no_reset", "right_side"}
    assert results["curve"][-1]["removed"] == results["cot_tokens"] == 8
    assert results["config"]["removal"]["smoothing_lambda"] == 4.0
    assert results["methods"]["icot"]["tokens_generated"] <= 2 + 4  # `#### d d d d <eos>` at most


def test_coconut_command_end_to_end_and_reproducible(tmp_path: Path, tiny_quick: None) -> None:
    first = _run(tmp_path / "a", "coconut")
    _check_envelope(first, tmp_path / "a", "2412.06769")
    assert set(first["methods"]) == set(coconut.METHODS)
    assert [row["k"] for row in first["analysis"]["k_sweep"]] == [0, 1, 2, 3]
    assert first["methods"]["coconut"]["optimizer_resets"] == 3
    assert first["config"]["graphs"]["edge_tokens"] is True
    second = _run(tmp_path / "b", "coconut")
    for method in coconut.METHODS:
        assert first["methods"][method]["accuracy"] == second["methods"][method]["accuracy"]
    assert first["losses"] == second["losses"]
    assert first["analysis"] == second["analysis"]


def test_unknown_demo_is_a_usage_error() -> None:
    result = CliRunner().invoke(demos_app, ["run", "nope"])
    assert result.exit_code == 2 and "unknown demo" in result.output


def test_keep_position_batches_carry_the_original_position_ids() -> None:
    example = mult.make_example(37, 49, 2)
    prompt, cot = len(example.prompt), len(example.cot)
    tokens, _, positions = icot.make_batch([example, example], [0, 3], "left", keep_position=True)
    assert positions[0, : tokens.shape[1]].tolist() == list(range(tokens.shape[1]))
    kept = prompt + cot - 3 + len(example.answer)
    assert positions[1, :kept].tolist() == list(range(prompt)) + list(
        range(prompt + 3, prompt + cot + len(example.answer))
    )
    assert icot.make_batch([example], [3], "left")[2] is None  # off by default: 0, 1, 2, …
    with pytest.raises(ValueError, match="left-side"):
        Removal(side="right", keep_position=True)


def test_decoding_with_skipped_positions_matches_a_full_forward() -> None:
    """The KV-cache decoder with `skip` must give each new token the id a full forward gives it."""
    torch.manual_seed(0)
    model = TinyGPT(ModelConfig(len(icot.VOCAB), 40, n_layers=2, d_model=32, n_heads=2)).eval()
    prompt = torch.tensor([icot.VOCAB.encode(mult.make_example(37, 49, 2).prompt)])
    skip, steps = 5, 6
    generated = greedy_decode(model, prompt, steps, eos_id=-1, skip=skip)
    sequence = torch.cat([prompt, generated], dim=1)
    p = prompt.shape[1]
    positions = torch.tensor([list(range(p)) + list(range(p + skip, p + skip + steps))])
    with torch.no_grad():
        logits = model(sequence, positions)
    # each generated token is the argmax after the previous position
    assert logits[0, p - 1 : p - 1 + steps].argmax(-1).tolist() == generated[0].tolist()


# --- the diagnostics (issue 13) ---------------------------------------------------------------------

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
    ("output", "expected"),
    [
        ("n0 n1 n1 n3 n3 n4 #### n4", "valid_chain"),
        ("n0 n5 n5 n6 #### n6", "valid_chain"),  # a walk along edges, wrong target: not a lookup error
        ("n0 n4 #### n4", "jumps_to_option"),
        ("n0 n3 n3 n4 #### n4", "descendant_not_child"),
        ("n0 n1 n1 n0 #### n4", "ancestor"),
        ("n0 n8 #### n7", "unrelated"),
        ("n0 n1 n2 n3 #### n4", "copy_slot"),
        ("n1 n3 n3 n4 #### n4", "bad_start"),
        ("#### n4", "no_steps"),
    ],
)
def test_first_error_names_what_went_wrong_first(output: str, expected: str) -> None:
    from demos.diagnose import first_error

    assert first_error(HAND, output.split()) == expected


def test_diagnostics_run_and_report_every_curve(capsys: pytest.CaptureFixture[str]) -> None:
    from demos.diagnose import main

    main(
        [
            "coconut",
            "--steps",
            "2",
            "--every",
            "2",
            "--pool",
            "10",
            "--eval-size",
            "6",
            "--min-nodes",
            "6",
            "--max-nodes",
            "8",
            "--min-hops",
            "1",
            "--max-hops",
            "3",
            "--max-edges",
            "12",
            "--label-pool",
            "10",
            "--d-model",
            "32",
        ]
    )
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["step"] for r in rows] == [0, 2]
    assert {"train_tf_loss", "val_tf_loss", "train_acc", "val_acc", "val_by_hops", "val_slots"} <= set(rows[-1])
    assert sum(rows[-1]["val_first_error"].values()) == 6


def test_latent_diagnostics_train_as_the_demo_does_and_sweep_k(capsys: pytest.CaptureFixture[str]) -> None:
    """`--method coconut` runs coconut.train_method (its curriculum and resets) and scores
    after K thoughts, with the k sweep beside it; edge tokens go through the same path."""
    from demos.diagnose import main

    small = ["--min-nodes", "6", "--max-nodes", "8", "--min-hops", "1", "--max-hops", "3", "--max-edges", "12"]
    args = ["coconut", "--method", "coconut", "--steps", "4", "--every", "2", "--stage-steps", "1", "--pool", "10"]
    main(args + ["--eval-size", "6", "--label-pool", "10", "--d-model", "32", "--edge-tokens"] + small)
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["step"] for r in rows] == [0, 2, 4]
    assert all(len(r["val_acc_by_k"]) == 3 and "train_batch_loss" not in r for r in rows)


@pytest.mark.parametrize("config", [icot_run.FULL, icot_run.QUICK, icot_run.FULL_4X4], ids=["full", "quick", "4x4"])
def test_icot_methods_get_the_same_training_steps(config: icot_run.IcotConfig) -> None:
    steps = icot_run.method_steps(config)
    assert steps["explicit_cot"] == steps["icot"] == steps["no_cot"] > config.cot_steps


def test_icot_run_reports_the_steps_each_method_trained(tmp_path: Path, tiny_quick: None) -> None:
    results = _run(tmp_path / "icot", "icot")
    methods = results["methods"]
    assert methods["explicit_cot"]["train_steps"] == methods["icot"]["train_steps"] == methods["no_cot"]["train_steps"]
    assert methods["explicit_cot"]["at_cot_steps"] == TINY_ICOT.cot_steps
    assert methods["icot"]["si_steps"] == methods["icot"]["train_steps"] - TINY_ICOT.cot_steps
