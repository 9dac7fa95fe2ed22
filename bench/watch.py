"""What one watcher round costs: requests and seconds for a day's announcement of N candidates.

    .venv/bin/python bench/watch.py [--candidates 300] [--delay 3] [--page-size 200] [--offline]

Runs the real watcher (listing → rank → review → publish) against the local fakes of
tests/fakes: a FakeArxiv announcing N papers across cs.CL, cs.LG and cs.AI (about a third
cross-listed), five of them on topic with real PDFs, and the FakeLLM answering the ranking
prompt with JSON and the review prompt with a review (`--offline`: TF-IDF and the offline
reviewer, no LLM). `--delay` is ARXIV_DELAY_S: 3 s is what arXiv asks for, so the seconds
are mostly the pacing gate; `--delay 0` shows the watcher's own cost. Then a second round
(a restart an hour later, nothing new) shows the steady-state cost of a poll.

Prints a Markdown table: arXiv API requests (listing pages, id-list queries), PDF
downloads, LLM calls (ranking, reviews) and wall-clock seconds per round.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from paperdigest.settings import Settings  # noqa: E402
from paperdigest.wiring import open_pipeline  # noqa: E402
from tests.fakes.arxiv import FakeArxiv  # noqa: E402
from tests.fakes.arxiv_days import announce, announcement_at, arxiv_number, submitted_at  # noqa: E402
from tests.fakes.llm import FakeLLM  # noqa: E402
from tests.support.papers import make_pdf  # noqa: E402
from tests.support.watch import CATS, INTEREST, THU, llm_judge  # noqa: E402
from watcher.run import open_watcher  # noqa: E402

TOPICAL = {f"Latent Reasoning {letter}": score for letter, score in zip("ABCDE", (9, 8, 7, 6, 5))}


def add_day(fake: FakeArxiv, count: int) -> None:
    announce(fake, THU, count=count - len(TOPICAL), categories=CATS, first_number=1, seed=1)
    pdf = make_pdf()
    for n, title in enumerate(TOPICAL):
        fake.add_paper(
            arxiv_number(THU, 90000 + n),
            title=title,
            authors=["Ada Reasoner"],
            categories=[CATS[n % 3]],
            abstract="Language models reason in a latent space instead of a chain of thought.",
            published=submitted_at(THU, 0.5),
            versions={1: pdf},
        )


async def one_round(settings: Settings, hours: float) -> tuple[float, object]:
    moment = announcement_at(THU) + timedelta(hours=hours)
    started = time.perf_counter()
    async with open_pipeline(settings) as pipeline, open_watcher(settings, pipeline, clock=lambda: moment) as watcher:
        report = await watcher.round()
    return time.perf_counter() - started, report


def counts(arxiv: FakeArxiv, llm: FakeLLM) -> dict[str, int]:
    api = [r for r in arxiv.requests if r.kind == "api"]
    chats = [r for r in llm.requests if r.path.endswith("/chat/completions")]
    ranking = [r for r in chats if "Интересы канала" in r.body["messages"][-1]["content"]]
    return {
        "listing pages": sum(1 for r in api if r.query.get("search_query")),
        "id-list queries": sum(1 for r in api if not r.query.get("search_query")),
        "PDFs": sum(1 for r in arxiv.requests if r.kind == "pdf"),
        "LLM ranking": len(ranking),
        "LLM reviews": len(chats) - len(ranking),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=300)
    parser.add_argument("--delay", type=float, default=3.0, help="ARXIV_DELAY_S")
    parser.add_argument("--page-size", type=int, default=200, help="WATCH_PAGE_SIZE")
    parser.add_argument("--offline", action="store_true", help="TF-IDF ranking and the offline reviewer")
    args = parser.parse_args()
    with FakeArxiv() as arxiv, FakeLLM(api_key="sk-bench") as llm, tempfile.TemporaryDirectory() as tmp:
        add_day(arxiv, args.candidates)
        llm.responder = llm_judge(TOPICAL)
        settings = Settings(
            _env_file=None,
            DATABASE_URL=f"sqlite:///{tmp}/bench.db",
            DATA_DIR=Path(tmp) / "data",
            ARXIV_API_URL=arxiv.api_url,
            ARXIV_PDF_URL=arxiv.pdf_url_template,
            ARXIV_DELAY_S=args.delay,
            OPENAI_BASE_URL=None if args.offline else llm.base_url,
            OPENAI_API_KEY=None if args.offline else "sk-bench",
            WATCH_CATEGORIES=CATS,
            WATCH_INTEREST=INTEREST,
            WATCH_PAGE_SIZE=args.page_size,
            CHANNEL_ID="@bench",
        )
        print(
            f"{args.candidates} candidates, ARXIV_DELAY_S={args.delay:g}, WATCH_PAGE_SIZE={args.page_size}, "
            f"{'offline' if args.offline else 'fake LLM'}\n"
        )
        print(
            "| round | new | reviewed | listing pages | id-list queries | PDFs | LLM ranking | LLM reviews | seconds |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for name, hours in (("announcement", 1.0), ("next poll, nothing new", 2.0)):
            arxiv.clear_requests()
            llm.clear_requests()
            seconds, report = asyncio.run(one_round(settings, hours))
            c = counts(arxiv, llm)
            print(
                f"| {name} | {report.found} | {len(report.reviewed)} | {c['listing pages']} | {c['id-list queries']} "
                f"| {c['PDFs']} | {c['LLM ranking']} | {c['LLM reviews']} | {seconds:.2f} |"
            )


if __name__ == "__main__":
    main()
