"""Which papers the phrases readers write find: exact folded words vs plurals folded.

    .venv/bin/python bench/subscription_words.py [--meta ../shared/llm-answers/meta.json]

For phrases as a reader writes them after /subscribe (mostly singular: "language model",
"agent"), counts the (phrase, paper) pairs each normal form matches in the titles and
abstracts of the 11 corpus papers (arXiv metadata in ../shared/llm-answers/meta.json): the
exact folded words that 0007-0010 stored, and paperdigest.subscriptions' normal form today
(plurals folded). Prints the pairs only the second finds, so each can be judged by eye.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from paperdigest.subscriptions import singular_words, words  # noqa: E402

PHRASES = [
    "language model", "large language model", "LLM", "transformer", "attention", "agent",
    "multi-agent conversation", "reinforcement learning", "reward model", "reasoning", "benchmark",
    "dataset", "neural network", "table", "summarization", "scientific paper", "code generation",
    "retrieval", "diffusion model", "graph neural network", "chain of thought", "encoder",
    "citation", "math problem", "self-attention", "question answering", "recurrent network",
    "convolution", "training data", "human feedback",
]  # fmt: skip


def matched(phrases: list[str], papers: list[dict], normal_form) -> set[tuple[str, str]]:
    texts = {paper["id"]: f" {' '.join(normal_form(paper['title'] + ' ' + paper['summary']))} " for paper in papers}
    found = set()
    for phrase in phrases:
        wanted = f" {' '.join(normal_form(phrase))} "
        found |= {(phrase, arxiv_id) for arxiv_id, text in texts.items() if wanted in text}
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meta", type=Path, default=ROOT.parent / "shared" / "llm-answers" / "meta.json")
    args = parser.parse_args()
    papers = json.loads(args.meta.read_text(encoding="utf-8"))
    exact, folded = matched(PHRASES, papers, words), matched(PHRASES, papers, singular_words)
    print(f"{len(PHRASES)} phrases × {len(papers)} papers (titles and abstracts)\n")
    print("| normal form | (phrase, paper) pairs matched | phrases that match some paper |")
    print("|---|---:|---:|")
    for name, found in (("exact folded words (0007–0010)", exact), ("plurals folded (0011)", folded)):
        print(f"| {name} | {len(found)} | {len({phrase for phrase, _ in found})} |")
    print(f"\nlost by folding plurals: {sorted(exact - folded) or 'none'}")
    print("found only with plurals folded:")
    titles = {paper["id"]: paper["title"] for paper in papers}
    for phrase, arxiv_id in sorted(folded - exact):
        print(f"- {phrase!r} in {arxiv_id} ({titles[arxiv_id][:70]})")


if __name__ == "__main__":
    main()
