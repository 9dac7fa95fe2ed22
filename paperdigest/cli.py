"""The `paperdigest` command: parses arguments, calls the library, turns errors into one line."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from paperdigest import db as database
from paperdigest.commands.demos import demos_app
from paperdigest.commands.errors import err_console, errors_as_one_line, fail
from paperdigest.commands.site import site_app
from paperdigest.errors import BadArxivId, PaperdigestError
from paperdigest.logs import setup_logging
from paperdigest.models import Review
from paperdigest.settings import Settings
from paperdigest.wiring import open_pipeline
from summarizer.ids import ArxivId, parse_arxiv_id

app = typer.Typer(
    help="Russian-language reviews of arXiv papers: pipeline, Telegram bot, digest site.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demos_app, name="demos")
app.add_typer(site_app, name="site")
STEP_NAMES = {"metadata": "метаданные", "pdf": "PDF", "text": "текст", "review": "рецензия", "stored": "готово"}


class State:
    settings: Settings


state = State()


@app.callback()
def main(
    ctx: typer.Context, log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "WARNING"
) -> None:
    try:
        state.settings = Settings()
    except ValidationError as err:
        first = err.errors()[0]
        raise fail(
            f"setting {'.'.join(map(str, first['loc']))} is invalid: {first['msg']}; fix the environment or .env"
        )
    setup_logging(log_level, state.settings.secrets())
    ctx.obj = state.settings  # sub-apps (site, demos) use the same settings


def _parse_ids(raw_ids: list[str]) -> list[ArxivId]:
    ids: list[ArxivId] = []
    for raw in raw_ids:
        try:
            arxiv_id = parse_arxiv_id(raw)
        except BadArxivId as err:
            raise fail(str(err), code=2)
        if arxiv_id not in ids:
            ids.append(arxiv_id)
    return ids


def review_json(review: Review) -> dict[str, object]:
    return {
        "arxiv_id": review.arxiv_id,
        "version": review.version,
        "tldr": review.tldr,
        "markdown": review.markdown,
        "reviewer": review.reviewer,
        "model": review.model,
        "prompt_version": review.prompt_version,
        "validation": review.validation,
        "problems": review.problems,
        "notes": review.notes,
        "cuts": review.cuts,
        "prompt_tokens": review.prompt_tokens,
        "completion_tokens": review.completion_tokens,
        "cost_usd": review.cost_usd,
        "input_tokens": review.input_tokens,
        "full_tokens": review.full_tokens,
        "created_at": review.created_at.isoformat(),
    }


async def _review(ids: list[ArxivId], force: bool, show_progress: bool) -> dict[ArxivId, Review | PaperdigestError]:
    async with open_pipeline(state.settings) as pipeline:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err_console,
            disable=not show_progress,
            transient=False,
        ) as progress:
            tasks = {i: progress.add_task(f"{i}: в очереди") for i in ids}

            def on_step(arxiv_id: ArxivId, step: str) -> None:
                task = tasks.get(arxiv_id) or next((t for i, t in tasks.items() if i.base == arxiv_id.base), None)
                if task is not None:
                    progress.update(task, description=f"{arxiv_id}: {STEP_NAMES.get(step, step)}")

            results = await pipeline.review_many(ids, force=force, on_step=on_step)
            for arxiv_id, result in results.items():
                status = "готово" if isinstance(result, Review) else "ошибка"
                progress.update(tasks[arxiv_id], description=f"{arxiv_id}: {status}")
            return results


@app.command()
def review(
    arxiv_ids: Annotated[
        list[str],
        typer.Argument(
            help="arXiv ids or links: 2412.06769, arXiv:2412.06769v2, https://arxiv.org/abs/..., hep-th/9901001."
        ),
    ],
    force: Annotated[bool, typer.Option("--force", help="Review again even if a review is stored.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the reviews as JSON.")] = False,
) -> None:
    """Review papers: fetch, extract, write (LLM or offline draft), validate, store, print."""
    ids = _parse_ids(arxiv_ids)
    with errors_as_one_line():
        results = asyncio.run(_review(ids, force, show_progress=sys.stderr.isatty() or not as_json))
    reviews = [r for r in results.values() if isinstance(r, Review)]
    if as_json:
        typer.echo(json.dumps([review_json(r) for r in reviews], ensure_ascii=False, indent=2))
    else:
        for item in reviews:
            typer.echo(item.markdown)
            if item.validation == "failed":
                err_console.print(
                    f"[yellow]warning:[/yellow] review of {item.arxiv_id} failed validation: "
                    + "; ".join(item.problems),
                    highlight=False,
                )
    if reviews:
        rebuild_site_quietly()
    failures = {i: r for i, r in results.items() if not isinstance(r, Review)}
    for arxiv_id, error in failures.items():
        err_console.print(f"[red]error:[/red] {arxiv_id}: {error}", highlight=False, soft_wrap=True)
    if failures:
        raise typer.Exit(1)


def rebuild_site_quietly() -> None:
    """The site follows the reviews; a site problem is a warning here, never a failed review."""
    from digest.build import build_site

    try:
        report = build_site(state.settings)
    except Exception as err:  # noqa: BLE001 - the reviews are stored; say what went wrong with the site
        err_console.print(f"[yellow]warning:[/yellow] the site was not rebuilt: {err}", highlight=False)
        return
    err_console.print(f"site updated in {state.settings.SITE_DIR} ({report.written} file(s) written)", highlight=False)


@app.command()
def resume() -> None:
    """Finish the jobs a crashed or stopped run left unfinished."""

    async def run() -> list[int]:
        async with open_pipeline(state.settings) as pipeline:
            return await pipeline.resume()

    with errors_as_one_line():
        job_ids = asyncio.run(run())
    typer.echo(f"resumed {len(job_ids)} job(s)")


@app.command()
def jobs(limit: Annotated[int, typer.Option(help="How many of the latest jobs.")] = 20) -> None:
    """List the latest review jobs with their step, status and error."""
    from paperdigest import repo

    with errors_as_one_line():
        db = database.Database(state.settings.DATABASE_URL)
        with db.read() as session:
            for job in repo.recent_jobs(session, limit):
                error = f"  {job.error_kind}: {job.error}" if job.error else ""
                typer.echo(f"{job.id:>5}  {job.arxiv_id:<18} {job.status:<8} {job.step:<9} {job.requested_by}{error}")
        db.close()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the newest schema (also done on every start)."""
    with errors_as_one_line():
        database.upgrade(state.settings.DATABASE_URL)
    typer.echo(f"database at {database.display_url(state.settings.DATABASE_URL)} is up to date")


@db_app.command("copy")
def db_copy(
    src_url: Annotated[str, typer.Argument(help="The database to copy, e.g. sqlite:///./data/paperdigest.db.")],
    dst_url: Annotated[
        str, typer.Argument(help="An empty database, e.g. postgresql+psycopg://user:password@host:5432/name.")
    ],
    batch: Annotated[int, typer.Option(min=1, help="Rows read and written at a time.")] = 1000,
) -> None:
    """Copy a paperdigest database into an empty one (e.g. SQLite to PostgreSQL): DST is migrated
    first, every table is copied in one transaction, ids are kept; refuses a DST that holds rows."""
    from paperdigest.commands.db_copy import copy_database

    with errors_as_one_line():
        report = copy_database(src_url, dst_url, batch=batch)
    typer.echo(report.summary())


@app.command()
def bot() -> None:
    """Run the Telegram bot (long polling): /review in chat, replies and channel posts through the outbox."""
    from paperdigest.wiring import run_bot

    with errors_as_one_line():
        run_bot(state.settings)


@app.command()
def worker() -> None:
    """Run review jobs (and the watcher) with no Telegram connection, beside bots with REVIEWS_IN_BOT=false."""
    from paperdigest.commands.worker import run_worker

    with errors_as_one_line():
        run_worker(state.settings)


@app.command()
def watch(once: Annotated[bool, typer.Option("--once", help="Do one round and exit (for cron).")] = False) -> None:
    """Watch WATCH_CATEGORIES on arXiv: rank new papers, review the best, queue their channel posts."""
    from paperdigest.commands.watch import run_deliver, run_watch

    with errors_as_one_line():
        report = run_watch(state.settings, once=once)
    if report is not None:
        typer.echo(f"watch round {report.summary()}")
    if once:  # cron: what the round queued goes out now, unless a running bot sends it
        with errors_as_one_line():
            typer.echo(f"outbox: {run_deliver(state.settings)}")


@app.command()
def demo(
    serve: Annotated[bool, typer.Option(help="Serve the built site on 127.0.0.1 at the end (Ctrl+C to stop).")] = True,
    port: Annotated[int, typer.Option(help="Port for the site.")] = 8000,
) -> None:
    """Run the whole product offline on the bundled papers: a local stand-in for arXiv, the real
    pipeline, the offline reviewer, the posts the bot would send, and the digest site."""
    from paperdigest.sample.run import run_demo

    with errors_as_one_line():
        run_demo(state.settings, serve=serve, port=port)


if __name__ == "__main__":
    app()
