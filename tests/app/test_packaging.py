"""A plain (non-editable) install: the wheel must carry the templates, the migrations and the
published demo results, and the code must find them without the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOP_LEVEL_NOT_SOURCES = {
    ".git",
    ".venv",
    ".pytest_cache",
    ".hypothesis",
    "build",
    "dist",
    "tests",
    "bench",
    "docs",
    "data",
    "site",
}
ANYWHERE_NOT_SOURCES = shutil.ignore_patterns("__pycache__", "*.egg-info")


def not_sources(directory: str, names: list[str]) -> set[str]:
    top = TOP_LEVEL_NOT_SOURCES & set(names) if Path(directory) == ROOT else set()
    return top | ANYWHERE_NOT_SOURCES(directory, names)


USE_EVERY_RESOURCE = textwrap.dedent("""
    import sys
    from pathlib import Path
    target, work = Path(sys.argv[1]), Path(sys.argv[2])
    import paperdigest, summarizer, watcher, bot, digest, demos
    import bot.handlers, paperdigest.commands, watcher.run
    for package in (paperdigest, summarizer, watcher, bot, bot.handlers, digest, demos, paperdigest.commands):
        assert Path(package.__file__).is_relative_to(target), package.__file__
    from paperdigest.db import Database
    from paperdigest.settings import Settings
    from summarizer.prompts import prompt_version
    from bot.texts import help_text
    from digest.build import build_site
    from demos.registry import DEMOS, find_results
    from paperdigest.resources import MIGRATIONS_DIR, TEMPLATES_DIR
    assert TEMPLATES_DIR.is_relative_to(target) and MIGRATIONS_DIR.is_relative_to(target), (TEMPLATES_DIR, MIGRATIONS_DIR)
    settings = Settings(_env_file=None, DATABASE_URL=f"sqlite:///{work / 'db.sqlite'}", DATA_DIR=work / "data",
                        SITE_DIR=work / "site", SITE_URL="https://digest.example.org")
    Database(settings.DATABASE_URL).close()  # runs the migrations
    print("prompt version", prompt_version())
    assert "/review" in help_text(is_admin=False, quota=None, quota_total=0, site_url=None)
    build_site(settings)
    assert (work / "site" / "index.html").is_file() and (work / "site" / "static" / "site.css").is_file()
    assert all(find_results(demo, work / "data") for demo in DEMOS), "published demo results missing"
    print("ok")
""")


def test_a_wheel_install_works_without_the_checkout(tmp_path: Path) -> None:
    sources, wheels, target, work = (tmp_path / name for name in ("src", "wheels", "installed", "work"))
    shutil.copytree(ROOT, sources, ignore=not_sources)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(wheels), str(sources)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    [wheel] = wheels.glob("paperdigest-*.whl")
    subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "--target", str(target), str(wheel)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    work.mkdir()
    # Outside the checkout, with the wheel's files first on the path: the editable install's
    # finder comes after them, so a file missing from the wheel fails here.
    result = subprocess.run(
        [sys.executable, "-c", USE_EVERY_RESOURCE, str(target), str(work)],
        cwd=work,
        env={**os.environ, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
    # The offline demo from the wheel: its stand-in arXiv and sample PDFs are shipped code and files.
    demo_env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BOT_", "DATABASE_URL"))}
    demo = subprocess.run(
        [sys.executable, "-m", "paperdigest", "demo", "--no-serve"],
        cwd=work,
        env={**demo_env, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-3000:]
    assert "2412.06769 — offline, draft" in demo.stdout
    assert (work / "data" / "demo" / "site" / "index.html").is_file()
