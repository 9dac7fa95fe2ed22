"""The CLI through typer's runner, and once as the installed command in a subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from paperdigest.cli import app
from paperdigest.settings import Settings
from tests.support.cli import env_for
from tests.support.papers import PAPER_ID, add_paper

runner = CliRunner()
README = Path(__file__).resolve().parents[2] / "README.md"


def test_review_prints_the_review_and_json(settings: Settings, fake_arxiv) -> None:
    add_paper(fake_arxiv)
    result = runner.invoke(app, ["review", f"https://arxiv.org/abs/{PAPER_ID}"], env=env_for(settings))
    assert result.exit_code == 0, result.output
    assert "# Training Large Language Models" in result.stdout and "## Суть" in result.stdout
    fake_arxiv.clear_requests()
    result = runner.invoke(app, ["review", PAPER_ID, "--json"], env=env_for(settings))
    [item] = json.loads(result.stdout)
    assert item["arxiv_id"] == PAPER_ID and item["reviewer"] == "offline" and item["validation"] == "draft"
    assert fake_arxiv.requests == []  # the stored review came back at once


def test_bad_id_is_rejected_before_any_request(settings: Settings, fake_arxiv) -> None:
    result = runner.invoke(app, ["review", "2412.0676"], env=env_for(settings))
    assert result.exit_code == 2
    assert "is not an arXiv identifier" in result.stderr and "hep-th/9901001" in result.stderr
    assert fake_arxiv.requests == []


def test_failure_exits_nonzero_with_one_line(settings: Settings, fake_arxiv) -> None:
    result = runner.invoke(app, ["review", "2501.99999"], env=env_for(settings))
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: 2501.99999: arXiv has no paper 2501.99999: check the number at https://arxiv.org/abs/2501.99999"
    ]
    assert "Traceback" not in result.output


def test_bad_setting_is_one_clear_line(settings: Settings) -> None:
    result = runner.invoke(app, ["review", PAPER_ID], env={**env_for(settings), "ARXIV_DELAY_S": "soon"})
    assert result.exit_code == 1 and "ARXIV_DELAY_S" in result.stderr and "Traceback" not in result.output


def test_every_command_has_help_and_is_in_the_readme() -> None:
    names = [c.name or c.callback.__name__ for c in app.registered_commands]
    names += [f"{g.name} {c.name}" for g in app.registered_groups for c in g.typer_instance.registered_commands]
    readme = README.read_text(encoding="utf-8")
    for name in names:
        result = runner.invoke(app, [*name.split(), "--help"])
        assert result.exit_code == 0 and len(result.stdout) > 50, name
        assert re.search(rf"paperdigest {re.escape(name)}\b", readme), f"README does not mention `{name}`"


def test_installed_command_in_a_subprocess(settings: Settings, fake_arxiv) -> None:
    add_paper(fake_arxiv)
    command = Path(sys.executable).with_name("paperdigest")
    assert command.exists(), "the console script is installed by `make test`"
    env = {**{k: v for k, v in os.environ.items() if k not in Settings.model_fields}, **env_for(settings)}
    done = subprocess.run(
        [str(command), "review", PAPER_ID, "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["arxiv_id"] == PAPER_ID
    listed = subprocess.run([str(command), "jobs"], env=env, capture_output=True, text=True, timeout=60)
    assert PAPER_ID in listed.stdout and "done" in listed.stdout
