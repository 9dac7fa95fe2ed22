"""An old-style id with an unknown archive, at the edges: the CLI and the bot refuse it
before asking arXiv, each with a message that says what is wrong."""

from __future__ import annotations

from typer.testing import CliRunner

from paperdigest.cli import app
from paperdigest.settings import Settings
from tests.support.bot import ALICE, eventually, running, texts_in
from tests.support.cli import env_for


def test_cli_refuses_an_unknown_archive_without_asking_arxiv(settings: Settings, fake_arxiv) -> None:
    fake_arxiv.clear_requests()
    result = CliRunner().invoke(app, ["review", "foo/9901001"], env=env_for(settings))
    assert result.exit_code == 2
    assert "'foo/9901001' is not an arXiv identifier ('foo' is not an arXiv archive" in result.stderr
    assert "hep-th" in result.stderr and "check the part before the slash" in result.stderr
    assert "Traceback" not in result.output
    assert len(fake_arxiv.requests) == 0


async def test_bot_answers_an_unknown_archive_in_russian_without_asking_arxiv(
    bot_settings, fake_telegram, fake_arxiv
) -> None:
    async with running(bot_settings):
        fake_arxiv.clear_requests()
        fake_telegram.push_message(ALICE, ALICE, "/review foo/9901001")
        [reply] = await eventually(lambda: texts_in(fake_telegram, ALICE))
    assert reply.startswith("«foo» — не архив arXiv") and "hep-th/9901001" in reply and "2412.06769" in reply
    assert fake_arxiv.requests == []
