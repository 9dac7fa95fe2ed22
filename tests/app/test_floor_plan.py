"""The floor plan (docs/architecture.md): dependencies point down, and no import cycle.

    app         paperdigest.cli, paperdigest.wiring, paperdigest.commands, paperdigest.sample
    components  summarizer, watcher, bot, digest, demos
    kernel      the rest of paperdigest (settings, errors, models, db, repo, records, …)

Every import is read from the source (lazy imports inside functions too): the kernel
imports only the kernel, a component imports the kernel, its own modules and the named
interfaces of other components, never the app layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("paperdigest", "summarizer", "watcher", "bot", "digest", "demos")
COMPONENTS = ("summarizer", "watcher", "bot", "digest", "demos")
APP = ("paperdigest.cli", "paperdigest.__main__", "paperdigest.wiring", "paperdigest.commands", "paperdigest.sample")
# What a component offers the others; anything else in it is its own business.
INTERFACES = {
    "summarizer": (
        "summarizer.pipeline",
        "summarizer.ids",
        "summarizer.grounding",
        "summarizer.review_format",
        "summarizer.validate",
        "summarizer.llm",
        "summarizer.retry",
        "summarizer.arxiv_api",
        "summarizer.prompts",
        "summarizer.questions",
    ),
    "watcher": ("watcher.run", "watcher.store", "watcher.report"),
    "digest": ("digest.rebuild",),
    "demos": ("demos.registry", "demos.findings"),
    "bot": (),
}


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The modules of the tree a file imports, at any depth of the code. `from pkg import mod`
    is an import of pkg.mod; `from pkg import name` (a name pkg/__init__.py defines) of pkg."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in modules else node.module)
    return found & modules


def import_graph(root: Path) -> dict[str, set[str]]:
    """module → the modules of the tree it imports."""
    files = {
        module_name(p, root): p
        for package in PACKAGES
        if (root / package).is_dir()
        for p in (root / package).rglob("*.py")
    }
    return {module: imports_of(path, set(files)) - {module} for module, path in files.items()}


def within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def floor(module: str) -> str:
    if module.split(".")[0] != "paperdigest":
        return module.split(".")[0]
    return "app" if within(module, APP) else "kernel"


def violations(graph: dict[str, set[str]]) -> list[str]:
    found = []
    for module, targets in sorted(graph.items()):
        here = floor(module)
        for target in sorted(targets):
            there = floor(target)
            if here == "app" or there == here or (there == "kernel"):
                continue
            if here == "kernel":
                found.append(f"kernel module {module} imports {target} ({there})")
            elif there == "app":
                found.append(f"component module {module} imports the app layer: {target}")
            elif not within(target, INTERFACES[there]):
                found.append(f"{module} imports {target}, not one of {there}'s interfaces {INTERFACES[there]}")
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_dependencies_point_down() -> None:
    assert violations(import_graph(ROOT)) == []


def test_no_import_cycle() -> None:
    assert cycles(import_graph(ROOT)) == []


def test_shipped_code_never_imports_the_tests_or_benches() -> None:
    reaching = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                reaching += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in ("tests", "bench")]
    assert reaching == []


def test_every_component_is_a_package_of_the_tree() -> None:
    for package in COMPONENTS:
        assert (ROOT / package / "__init__.py").is_file(), package


def write_tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


BASE = {
    "paperdigest/__init__.py": "",
    "paperdigest/models.py": "",
    "paperdigest/cli.py": "import bot.app\n",
    "bot/__init__.py": "",
    "bot/app.py": "from paperdigest import models\n",
    "summarizer/__init__.py": "",
    "summarizer/pipeline.py": "",
    "summarizer/budget.py": "",
    "digest/__init__.py": "",
    "digest/rebuild.py": "",
}


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            {"paperdigest/repo.py": "def f():\n    from summarizer.pipeline import Pipeline\n"},
            "kernel module paperdigest.repo imports summarizer.pipeline (summarizer)",
        ),
        (
            {"bot/relay.py": "from paperdigest.cli import app\n"},
            "component module bot.relay imports the app layer: paperdigest.cli",
        ),
        (
            {"bot/relay.py": "from summarizer.budget import fit\n"},
            "bot.relay imports summarizer.budget, not one of summarizer's interfaces",
        ),
    ],
)
def test_the_rules_catch_an_upward_or_inner_import(tmp_path: Path, extra: dict[str, str], expected: str) -> None:
    write_tree(tmp_path, BASE | extra)
    found = violations(import_graph(tmp_path))
    assert len(found) == 1 and found[0].startswith(expected), found


def test_a_cycle_is_found_even_through_a_lazy_import(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        BASE
        | {"digest/cli.py": "def f():\n    import digest.rebuild\n", "digest/rebuild.py": "from digest import cli\n"},
    )
    assert cycles(import_graph(tmp_path)) == [["digest.cli", "digest.rebuild"]]


SHARED_TEST_CODE = ("tests.support", "tests.fakes")


def borrowed_imports(root: Path) -> list[str]:
    """Imports by which tests/ or bench/ code leans on another test module. Shared helpers live in
    tests/support (fixtures registered in tests/conftest.py) and tests/fakes; a module may also use
    the helpers of its own package (a conftest, tests/reliability/harness.py), never a test_*
    module, and bench/ nothing of tests/ but tests/support and tests/fakes."""

    def is_module(name: str) -> bool:
        path = root.joinpath(*name.split("."))
        return path.is_dir() or path.with_suffix(".py").is_file()

    found = []
    for path in sorted([*(root / "tests").rglob("*.py"), *(root / "bench").rglob("*.py")]):
        importer = module_name(path, root)
        package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                parts = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                base = ".".join([*parts, *([node.module] if node.module else [])])
                targets = [child for alias in node.names if is_module(child := f"{base}.{alias.name}")] or [
                    base
                ]  # `from pkg import module`
            else:
                continue
            for target in targets:
                if target.split(".")[0] != "tests" or target == "tests" or within(target, SHARED_TEST_CODE):
                    continue
                owner, _, last = target.rpartition(".")
                if importer.startswith("tests.") and owner == package and not last.startswith("test_"):
                    continue
                found.append(f"{path.relative_to(root)}: {target}")
    return found


def test_tests_stand_on_their_own_support() -> None:
    assert borrowed_imports(ROOT) == []


def borrow(module: str, name: str) -> str:
    return f"from tests.{module} import {name}\n"


def test_a_test_module_borrowing_from_another_is_caught(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "tests/__init__.py": "",
            "tests/conftest.py": "from tests.support.fixtures import x\n",
            "tests/support/__init__.py": "",
            "tests/support/papers.py": "",
            "tests/fakes/__init__.py": "",
            "tests/fakes/llm.py": "",
            "tests/test_pipeline.py": "from tests.support.papers import PAPER_ID\n",
            "tests/test_bot.py": borrow("test_pipeline", "PAPER_ID") + "from tests.fakes.llm import FakeLLM\n",
            "tests/test_cli.py": "from tests import test_bot\n",
            "tests/reliability/__init__.py": "",
            "tests/reliability/harness.py": "",
            "tests/reliability/test_crash.py": "from tests.reliability.harness import CHANNEL\nfrom .harness import USERS\n",
            "tests/proof/__init__.py": "",
            "tests/proof/_process.py": "",
            "tests/proof/test_load.py": "def f():\n    " + borrow("test_pipeline", "SECTIONS"),
            "tests/proof/test_secrets.py": "from ._process import start\nfrom ..test_bot import ALICE\n",
            "bench/__init__.py": "",
            "bench/memory.py": borrow("proof._process", "rss_mb"),
            "bench/bot.py": "from tests.support.papers import add_paper\n",
        },
    )
    assert borrowed_imports(tmp_path) == [
        "bench/memory.py: tests.proof._process",
        "tests/proof/test_load.py: tests.test_pipeline",
        "tests/proof/test_secrets.py: tests.test_bot",
        "tests/test_bot.py: tests.test_pipeline",
        "tests/test_cli.py: tests.test_bot",
    ]


def awaits_inside_transactions(root: Path) -> list[str]:
    """`await` inside `with db.session() …` in async code: the SQLite write lock stays held while
    the event loop runs other tasks, and the next writer on that loop blocks it (busy timeout)."""
    found = []
    for package in PACKAGES:
        for path in (root / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.With) and any("session(" in ast.unparse(i.context_expr) for i in node.items):
                    found += [
                        f"{path.relative_to(root)}:{sub.lineno}" for sub in ast.walk(node) if isinstance(sub, ast.Await)
                    ]
    return found


def test_no_await_while_a_transaction_is_open() -> None:
    assert awaits_inside_transactions(ROOT) == []


def test_an_await_inside_a_transaction_is_caught(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        BASE | {"bot/handlers.py": "async def f(db, m):\n    with db.session() as s:\n        await m.answer('x')\n"},
    )
    assert awaits_inside_transactions(tmp_path) == ["bot/handlers.py:3"]
