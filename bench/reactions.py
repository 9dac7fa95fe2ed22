"""Does the watcher learn the channel's taste? A simulated channel, with and without reactions.

    .venv/bin/python bench/reactions.py [--seeds 9] [--posts 300] [--candidates 60] [--liking 4 1.5 1]

For each seed (tests/support/channel.py): 300 past posts on five topics, whose readers react
`--liking` times more to one topic (reasoning; reactions drawn from a gamma distribution,
so a few posts of every topic go viral), then the next announcement's 60 candidates, a
fifth of them on each topic. The offline TF-IDF ranker (watcher/ranking.py) ranks them
against a WATCH_INTEREST that favours no topic, once without reactions and once with the
channel's taste (watcher/taste.py). Prints a Markdown table: how many of the top 5 are on
the favoured topic (median over the seeds, and min–max), and how many of the top 5 name a
liked post in their reason. `--liking 1` is the control: reactions that favour no topic.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.channel import FAVOURITE, INTEREST, announcement, past_posts  # noqa: E402
from watcher.choosing import choose  # noqa: E402
from watcher.ranking import (
    Taste,  # noqa: E402
    tfidf_scores,  # noqa: E402
)
from watcher.taste import taste_of  # noqa: E402

TOP = 5


def top_of_topic(seed: int, posts: int, candidates: int, liking: float, with_taste: bool) -> tuple[int, int]:
    """(top-5 on the favoured topic, top-5 that name a liked post) for one simulated channel."""
    papers = announcement(seed, candidates)
    topic = {p.item.key: p.topic for p in papers}
    taste = taste_of([r for r, _ in past_posts(seed, posts, liking=liking)]) if with_taste else Taste()
    scores = tfidf_scores(INTEREST, [p.item for p in papers], taste)
    top = choose(((key, s.score) for key, s in scores.items()), TOP)
    return sum(topic[k] == FAVOURITE for k in top), sum(bool(scores[k].liked) for k in top)


def row(name: str, figures: list[tuple[int, int]]) -> str:
    on_topic = [f for f, _ in figures]
    named = [n for _, n in figures]
    return (
        f"| {name} | {statistics.median(on_topic):g} | {min(on_topic)}–{max(on_topic)} | {statistics.median(named):g} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=9)
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--candidates", type=int, default=60)
    parser.add_argument("--liking", type=float, nargs="+", default=[4.0, 1.5, 1.0])
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"{args.posts} past posts, {args.candidates} candidates (1/5 on '{FAVOURITE}'), {args.seeds} seeds\n")
    print(f"| ranking | top {TOP} on the liked topic (median) | min–max | top {TOP} naming a liked post |")
    print("|---|---|---|---|")
    seeds = range(1, args.seeds + 1)
    print(row("TF-IDF, no reactions", [top_of_topic(s, args.posts, args.candidates, 1.0, False) for s in seeds]))
    for liking in args.liking:
        figures = [top_of_topic(s, args.posts, args.candidates, liking, True) for s in seeds]
        print(row(f"TF-IDF + reactions ({liking:g}× on the topic)", figures))
    print(f"\n{time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
