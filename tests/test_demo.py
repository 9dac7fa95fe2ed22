"""`paperdigest demo` end to end, offline: the bundled papers through the real pipeline over HTTP."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from paperdigest.cli import app


def test_demo_reviews_the_bundled_papers_offline(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--no-serve"], env={"OPENAI_API_KEY": "sk-must-not-be-used"})
    assert result.exit_code == 0, result.output
    for arxiv_id in ("2412.06769", "2405.14838", "1706.03762"):
        assert f"{arxiv_id} — offline, draft" in result.stdout
        assert list((tmp_path / "data" / "demo" / "posts").glob(f"{arxiv_id}v*.txt")), arxiv_id
    assert "Черновик без LLM" in result.stdout and "sk-must-not-be-used" not in result.stdout
