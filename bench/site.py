"""Digest site build speed on a synthetic site of 10,000 reviews.

    .venv/bin/python bench/site.py [--reviews 10000] [--runs 3] [--incremental-runs 5]

Generates papers and reviews (Russian text of a real review's size, formulas in half of
them, 1–3 categories each, two years of review dates) into a temporary SQLite database,
then measures, as medians:

- full build: an empty SITE_DIR and an empty cache (DATA_DIR), everything rendered,
  written and indexed by Pagefind;
- incremental build: one new review of a new paper added to the full site, then a build
  (the new paper opens a new search shard, as 10,000 fills 20 shards exactly);
- re-review: a new review of a paper from the middle of the site, then a build (its
  500-page search shard is indexed again: the slowest one-review case);
- no-change build: a build right after the previous one.

Prints a Markdown table with the times, the targets (full ≤ 20 s, incremental ≤ 1 s) and
the ratio full/incremental.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select

from digest.build import build_site
from paperdigest.db import Database
from paperdigest.models import Paper, Review
from paperdigest.settings import Settings
from summarizer.review_format import SECTION_TITLES

CATEGORIES = (
    "cs.CL",
    "cs.LG",
    "cs.AI",
    "cs.CV",
    "stat.ML",
    "cs.IR",
    "cs.RO",
    "cs.NE",
    "math.OC",
    "cs.CR",
    "eess.AS",
    "cs.SE",
)
START = datetime(2024, 1, 1, tzinfo=UTC)
WORDS = (
    "модель",
    "обучение",
    "рассуждение",
    "цепочка",
    "мыслей",
    "скрытое",
    "пространство",
    "трансформер",
    "токенов",
    "точность",
    "эксперимент",
    "метод",
    "результат",
    "ограничение",
    "датасет",
    "бенчмарк",
    "авторы",
    "предлагают",
    "показывают",
    "внимание",
    "градиент",
    "функция",
    "потерь",
    "обобщение",
    "архитектура",
    "слой",
    "представление",
    "выборка",
    "качество",
    "скорость",
    "память",
    "задача",
)
ENGLISH = (
    "latent",
    "reasoning",
    "chain-of-thought",
    "attention",
    "curriculum",
    "BFS",
    "MCTS",
    "value function",
    "fine-tuning",
    "RLHF",
    "distillation",
    "retrieval",
    "diffusion",
    "tokenizer",
    "benchmark",
)
FORMULAS = (
    r"$p_\theta(x_t \mid x_{<t})$",
    r"$\mathcal{L} = -\sum_t \log p(x_t)$",
    r"$O(n^2 d)$",
    r"$h_t = f(h_{t-1}, x_t)$",
    r"$$\frac{QK^\top}{\sqrt{d_k}}$$",
)


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 16))]
    words.insert(rng.randrange(len(words)), rng.choice(ENGLISH))
    if rng.random() < 0.3:
        words.append(f"{rng.randint(1, 99)}.{rng.randint(0, 9)}%")
    return " ".join(words).capitalize() + "."


def review_body(rng: random.Random, with_math: bool) -> tuple[str, str]:
    tldr = " ".join(sentence(rng) for _ in range(3))
    parts = [f"**TL;DR:** {tldr}"]
    for title in SECTION_TITLES:
        paragraphs = [" ".join(sentence(rng) for _ in range(rng.randint(3, 5))) for _ in range(2)]
        if with_math and title == "Метод":
            paragraphs.append(f"Ключевая формула: {rng.choice(FORMULAS)}, где всё обучается end-to-end.")
        parts.append(f"## {title}\n\n" + "\n\n".join(paragraphs))
    return "\n\n".join(parts) + "\n", tldr


def make_rows(index: int, rng: random.Random, reviewed_at: datetime) -> tuple[dict, dict]:
    arxiv_id = f"{reviewed_at:%y%m}.{index:05d}"
    body, tldr = review_body(rng, with_math=index % 2 == 0)
    paper = {
        "arxiv_id": arxiv_id,
        "title": f"Synthetic Paper {index}: {rng.choice(ENGLISH).title()} at Scale",
        "authors": [f"Author {rng.randint(1, 5000)}" for _ in range(rng.randint(2, 9))],
        "abstract": " ".join(rng.choice(ENGLISH) for _ in range(60)),
        "categories": rng.sample(CATEGORIES, rng.randint(1, 3)),
        "primary_category": "cs.CL",
        "published": reviewed_at - timedelta(days=3),
        "updated": reviewed_at - timedelta(days=3),
        "latest_version": 1,
        "withdrawn": False,
        "code_url": None,
        "comment": "",
        "journal_ref": "",
        "doi": "",
        "created_at": reviewed_at,
        "updated_at": reviewed_at,
    }
    review = {
        "arxiv_id": arxiv_id,
        "version": 1,
        "markdown": f"# {paper['title']}\n\n{body}",
        "body": body,
        "tldr": tldr,
        "reviewer": "llm",
        "model": "gpt-4o-mini",
        "prompt_version": "bench",
        "prompt_tokens": 18000,
        "completion_tokens": 2400,
        "cost_usd": 0.004,
        "input_tokens": 17000,
        "full_tokens": 21000,
        "cuts": [],
        "notes": [],
        "validation": "passed",
        "problems": [],
        "created_at": reviewed_at,
    }
    return paper, review


def populate(db: Database, count: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    span = timedelta(days=730) / max(count, 1)
    papers, reviews = [], []
    for index in range(count):
        paper, review = make_rows(index, rng, START + span * index)
        papers.append(paper)
        reviews.append(review)
    with db.session() as session, session.begin():
        session.execute(insert(Paper), papers)
        session.execute(insert(Review), reviews)


def add_review(db: Database, index: int) -> None:
    paper, review = make_rows(index, random.Random(index), START + timedelta(days=731, minutes=index))
    with db.session() as session, session.begin():
        session.execute(insert(Paper), [paper])
        session.execute(insert(Review), [review])


def add_rereview(db: Database, index: int, count: int) -> None:
    """A new review of an existing paper from the middle of the site."""
    _paper, review = make_rows(index % count, random.Random(index), START + timedelta(days=732, minutes=index))
    with db.session() as session, session.begin():
        review["arxiv_id"] = session.scalar(select(Paper.arxiv_id).where(Paper.arxiv_id.like(f"%.{index % count:05d}")))
        session.execute(insert(Review), [review])


def cpu_seconds() -> float:
    """CPU time of this process and its children (Pagefind) so far."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


CPU: list[float] = []  # CPU seconds of each full build: the machine's load does not change it


def timed(settings: Settings) -> float:
    started, cpu = time.perf_counter(), cpu_seconds()
    build_site(settings)
    CPU.append(cpu_seconds() - cpu)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reviews", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3, help="full builds")
    parser.add_argument("--incremental-runs", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="paperdigest-bench-"))
    try:
        url = f"sqlite:///{work / 'bench.db'}"
        db = Database(url)
        started = time.perf_counter()
        populate(db, args.reviews)
        print(f"generated {args.reviews} reviews in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        settings = Settings(_env_file=None, DATABASE_URL=url, SITE_DIR=work / "site", DATA_DIR=work / "data")
        full, full_cpu = [], []
        for run in range(args.runs):
            shutil.rmtree(work / "site", ignore_errors=True)
            shutil.rmtree(work / "data", ignore_errors=True)
            full.append(timed(settings))
            full_cpu.append(CPU[-1])
            print(f"full build {run + 1}: {full[-1]:.2f} s ({full_cpu[-1]:.1f} CPU s)", file=sys.stderr)
        incremental, rereview, unchanged = [], [], []
        for run in range(args.incremental_runs):
            add_review(db, args.reviews + run)
            incremental.append(timed(settings))
            unchanged.append(timed(settings))
            add_rereview(db, 4_999 + 97 * run, args.reviews)
            rereview.append(timed(settings))
            print(
                f"incremental {run + 1}: {incremental[-1]:.3f} s, re-review: {rereview[-1]:.3f} s, "
                f"no change: {unchanged[-1]:.3f} s",
                file=sys.stderr,
            )
        db.close()
        report(args.reviews, full, incremental, rereview, unchanged)
        print(
            f"\nfull build CPU time (this process and Pagefind): median {statistics.median(full_cpu):.1f} s; "
            f"load average at the end: {os.getloadavg()[0]:.1f}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(
    count: int, full: list[float], incremental: list[float], rereview: list[float], unchanged: list[float]
) -> None:
    full_s, inc_s, same_s = statistics.median(full), statistics.median(incremental), statistics.median(unchanged)
    again_s = statistics.median(rereview)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"Site build, {count:,} synthetic reviews, {cores} cores; medians of {len(full)} full and "
        f"{len(incremental)} incremental builds.\n"
    )
    print("| build | median | runs | target |")
    print("|---|---:|---:|---|")
    print(
        f"| full (empty site and cache) | {full_s:.2f} s | {', '.join(f'{t:.2f}' for t in full)} | ≤ 20 s "
        f"{'✓' if full_s <= 20 else '✗'} |"
    )
    print(
        f"| incremental (one new review) | {inc_s:.3f} s | {', '.join(f'{t:.2f}' for t in incremental)} | ≤ 1 s "
        f"{'✓' if inc_s <= 1 else '✗'} |"
    )
    print(
        f"| re-review of a paper mid-site | {again_s:.3f} s | {', '.join(f'{t:.2f}' for t in rereview)} | ≤ 1 s "
        f"{'✓' if again_s <= 1 else '✗'} |"
    )
    print(f"| no change | {same_s:.3f} s | {', '.join(f'{t:.2f}' for t in unchanged)} | |")
    print(f"\nratio full / incremental: {full_s / inc_s:.1f}×")


if __name__ == "__main__":
    main()
