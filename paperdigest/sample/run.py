"""The offline demo: the bundled papers, served by a stand-in for arXiv on 127.0.0.1 (the
tests' fake extends the same server), go through the real pipeline over HTTP and the offline
reviewer, into ./data/demo."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.console import Console

from bot.dryrun import write_post
from bot.trust import paper_header
from digest.build import build_site
from digest.serve import serve_site
from paperdigest.db import Database
from paperdigest.errors import ConfigError, PaperdigestError
from paperdigest.models import Paper, Review
from paperdigest.sample.arxiv import DEFAULT_PUBLISHED, StandInArxiv
from paperdigest.sample.papers import DemoPaper, load_demo_papers
from paperdigest.settings import Settings
from paperdigest.wiring import open_pipeline
from summarizer.ids import ArxivId

console = Console()


def demo_settings(settings: Settings, api_url: str, pdf_url_template: str) -> Settings:
    data_dir = Path("data/demo")
    return settings.replace(
        **{
            "DATA_DIR": data_dir,
            "DATABASE_URL": f"sqlite:///{data_dir / 'paperdigest.db'}",
            "SITE_DIR": data_dir / "site",
            "SITE_URL": "http://127.0.0.1:8000",
            "ARXIV_API_URL": api_url,
            "ARXIV_PDF_URL": pdf_url_template,
            "ARXIV_DELAY_S": 0.2,
            "OPENAI_API_KEY": None,
            "OPENAI_BASE_URL": None,  # the demo is offline by promise
        }
    )


def paper_pdf(paper: DemoPaper) -> bytes:
    """The paper laid out as a preprint PDF (fpdf2: the `sample` extra, which `make demo` installs)."""
    try:
        from paperdigest.sample.pdfmake import write_paper_pdf
    except ImportError as err:
        raise ConfigError(
            "the offline demo makes its PDFs with fpdf2, which is not installed: "
            "pip install 'paperdigest[sample]' (make demo installs it)"
        ) from err
    return write_paper_pdf(
        paper.meta.title,
        paper.meta.authors,
        paper.sections,
        abstract=paper.meta.abstract,
        references=paper.references,
        appendix=paper.appendix,
    )


def start_stand_in(papers: list[DemoPaper]) -> StandInArxiv:
    fake = StandInArxiv()
    fake.start()
    for paper in papers:
        meta = paper.meta
        fake.add_paper(
            meta.arxiv_id,
            title=meta.title,
            authors=meta.authors,
            abstract=meta.abstract,
            categories=meta.categories,
            primary_category=meta.primary_category,
            comment=meta.comment,
            published=meta.published or DEFAULT_PUBLISHED,
            updated=meta.updated,
            versions={meta.version: paper_pdf(paper)},
        )
    return fake


async def review_all(settings: Settings, ids: list[ArxivId]) -> dict[ArxivId, Review | PaperdigestError]:
    async with open_pipeline(settings) as pipeline:

        def on_step(arxiv_id: ArxivId, step: str) -> None:
            console.print(f"  {arxiv_id}: {step}", highlight=False)

        return await pipeline.review_many(ids, on_step=on_step)


def show_posts(reviews: list[Review], settings: Settings) -> None:
    """The dry-run publisher: what the bot would post to the channel, without a token."""
    out_dir = settings.DATA_DIR / "posts"
    db = Database(settings.DATABASE_URL, migrate=False)
    try:
        with db.read() as session:  # the header comes from the paper's row, as in the bot
            headers = {
                r.id: paper_header(paper, r.version, site_url=settings.SITE_URL, data_dir=settings.DATA_DIR)
                if (paper := session.get(Paper, r.arxiv_id)) is not None
                else None
                for r in reviews
            }
    finally:
        db.close()
    for review in reviews:
        post = write_post(review, settings.SITE_URL, out_dir, headers[review.id])
        console.rule(f"channel post of {review.arxiv_id} (dry run) — {len(post.classic_parts)} classic message(s)")
        console.print(post.classic_parts[0], highlight=False, markup=False)
        console.print(f"[dim]… all parts and the rich version: {post.path}[/dim]")


def run_demo(settings: Settings, *, serve: bool = True, port: int = 8000) -> None:
    papers = load_demo_papers()
    console.print(f"[bold]paperdigest demo[/bold]: {len(papers)} bundled papers, offline reviewer")
    fake = start_stand_in(papers)
    try:
        console.print(f"stand-in arXiv at {fake.url}")
        settings = demo_settings(settings, fake.api_url, fake.pdf_url_template)
        results = asyncio.run(review_all(settings, [ArxivId(p.meta.arxiv_id) for p in papers]))
        for arxiv_id, result in results.items():
            if isinstance(result, Review):
                console.rule(f"{arxiv_id} — {result.reviewer}, {result.validation}")
                console.print(result.markdown, highlight=False, markup=False)
            else:
                console.print(f"[red]{arxiv_id} failed:[/red] {result}", highlight=False)
        console.print(f"\nReviews stored in {settings.DATABASE_URL}")
        show_posts([r for r in results.values() if isinstance(r, Review)], settings)
    finally:
        fake.stop()
    report = build_site(settings)
    console.print(f"\nDigest site built in {settings.SITE_DIR}: {report.written} file(s) in {report.seconds:.1f} s")
    if serve:
        serve_site(settings, port)
