"""Matching one new review against every reader's subscriptions: 10,000 readers × 3 rules.

    .venv/bin/python bench/subscriptions.py [--readers 10000] [--runs 21] [--url postgresql+psycopg://…]

(--url: an empty database; it is migrated, filled, and on PostgreSQL vacuumed before timing.)

Builds a database at the newest migration (a temporary SQLite file unless --url) holding
READERS subscribers, each with one category (of 40), one author (of 5,000 synthetic names) and
one keyword phrase (of 600, one to three words), then times, for one new paper in cs.CL and
cs.AI with 8 authors and a 200-word abstract:

- `matching_users`: the indexed lookup (categories, authors, the abstract's words by key, then
  the phrase check) — target ≤ 20 ms, median of --runs, each run committed (it only reads);
- `queue_for_subscribers`: the whole fan-out (deliveries and outbox rows written), rolled back
  after each run;
- a scan of every rule in Python, for comparison: what the index saves.

Prints a Markdown table of medians (ms) and how many readers matched.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, select, text  # noqa: E402

from paperdigest import fanout  # noqa: E402
from paperdigest import subscriptions as subs  # noqa: E402
from paperdigest.db import Database, upgrade  # noqa: E402
from paperdigest.models import Paper, Review, Subscriber, SubscriptionRule  # noqa: E402

ARCHIVES = ["cs", "math", "stat", "eess", "physics"]
SUBJECTS = ["CL", "AI", "LG", "CV", "IR", "RO", "NE", "SD"]
VOCABULARY = (
    "latent reasoning chain thought language model transformer attention diffusion graph retrieval "
    "alignment reinforcement learning policy reward vision speech token embedding sparse mixture expert "
    "quantization distillation agent planning memory benchmark evaluation multilingual translation"
).split()


def make_world(rng: random.Random) -> tuple[list[str], list[str], list[str]]:
    categories = [f"{a}.{s}" for a in ARCHIVES for s in SUBJECTS]
    first = [f"Name{n}" for n in range(100)]
    authors = [f"{rng.choice(first)} Surname{n}" for n in range(5000)]
    phrases = sorted({" ".join(rng.sample(VOCABULARY, rng.randint(1, 3))) for _ in range(800)})[:600]
    return categories, authors, phrases


def fill(db: Database, readers: int, rng: random.Random) -> Paper:
    categories, authors, phrases = make_world(rng)
    people, rules = [], []
    for user_id in range(1, readers + 1):
        people.append({"user_id": user_id, "chat_id": str(user_id), "mode": subs.INSTANT, "digest_minute": 540})
        for rule in (
            subs.category_rule(rng.choice(categories)),
            subs.author_rule(rng.choice(authors)),
            subs.keyword_rule(rng.choice(phrases)),
        ):
            rules.append(
                {"user_id": user_id, "kind": rule.kind, "value": rule.value, "key": rule.key, "label": rule.label}
            )
    abstract = " ".join(rng.choice(VOCABULARY) for _ in range(200))
    paper = Paper(
        arxiv_id="2612.00001",
        title="Latent Reasoning in Language Models",
        authors=rng.sample(authors, 8),
        abstract=abstract,
        categories=["cs.CL", "cs.AI"],
        primary_category="cs.CL",
    )
    with db.session() as session, session.begin():
        session.execute(insert(Subscriber), people)
        session.execute(insert(SubscriptionRule), rules)
        session.add(paper)
        session.flush()
        session.add(
            Review(
                id=1,
                arxiv_id=paper.arxiv_id,
                version=1,
                markdown="#",
                body="",
                reviewer="llm",
                model="m",
                prompt_version="p",
                validation="passed",
            )
        )
    return paper


def settle(url: str) -> None:
    """PostgreSQL: VACUUM ANALYZE, as autovacuum would after a bulk load (the phrase lookup reads
    the index alone only once the visibility map is set). SQLite needs nothing."""
    if not url.startswith("postgresql"):
        return
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def scan(session, paper: Paper) -> set[int]:
    """Every rule read and checked in Python: the baseline the index avoids."""
    text = f" {' '.join(subs.paper_words(paper))} "
    categories = {c.lower() for c in paper.categories}
    authors = {subs.author_key(a) for a in paper.authors}
    found = set()
    for user_id, kind, value in session.execute(
        select(SubscriptionRule.user_id, SubscriptionRule.kind, SubscriptionRule.value)
    ):
        hit = (
            value in categories
            if kind == subs.CATEGORY
            else value in authors
            if kind == subs.AUTHOR
            else f" {value} " in text
        )
        if hit:
            found.add(user_id)
    return found


def timed(db: Database, runs: int, work, *, commit: bool = False) -> tuple[float, object]:
    """Median ms of `work`, each run in its own transaction: rolled back, or committed (a read).

    Committed as the publishing transaction is: psycopg prepares a statement run 5 times, but
    forgets its prepared statements at a rollback, so only committed runs meet PostgreSQL's
    generic plans (from the 11th run on)."""
    times, result = [], None
    for _ in range(runs):
        with db.session() as session:
            session.begin()
            started = time.perf_counter()
            result = work(session)
            times.append((time.perf_counter() - started) * 1000)
            session.commit() if commit else session.rollback()
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--url", help="an empty database to use instead of a temporary SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        db = Database(url)
        fill(db, args.readers, random.Random(15))
        settle(url)

        def paper_of(session) -> Paper:
            return session.get(Paper, "2612.00001")

        match_ms, matched = timed(db, args.runs, lambda s: subs.matching_users(s, paper_of(s)), commit=True)
        fan_ms, queued = timed(db, args.runs, lambda s: fanout.queue_for_subscribers(s, s.get(Review, 1)))
        scan_ms, scanned = timed(db, max(3, args.runs // 4), lambda s: scan(s, paper_of(s)))
        db.close()
    assert {m.user_id for m in matched} == scanned, "the indexed lookup and the scan disagree"
    backend = url.split(":", 1)[0]
    print(f"{args.readers:,} readers × 3 rules ({backend}), one new paper; medians of {args.runs} runs\n")
    print("| step | ms | readers |\n|---|---|---|")
    print(f"| matching_users (indexed) | {match_ms:.1f} | {len(matched)} |")
    print(f"| queue_for_subscribers (deliveries + outbox rows, rolled back) | {fan_ms:.1f} | {queued} |")
    print(f"| scan of every rule in Python (baseline) | {scan_ms:.1f} | {len(scanned)} |")


if __name__ == "__main__":
    main()
