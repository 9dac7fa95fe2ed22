"""/ask's passage search on Russian questions: does the passage that answers reach the reader
(offline: the top 3) and the LLM (its context)? Without and with summarizer/ru_terms.py.

    .venv/bin/python bench/ask.py [--questions bench/data/ask_questions.jsonl]
                                  [--corpus ../shared/corpus/papers] [--show]

Each question (Russian, as a reader asks under a review; written by someone who had not seen
the glossary) names the English string its answering paragraph holds. Each corpus PDF goes
through our extraction and section split, as in production; then for each question:

- top 3: one of the 3 passages /ask shows offline holds the string (whitespace folded);
- top 12: one of the 12 best-matching passages does (what the LLM's context starts with);
- context: the LLM's whole context (`context_passages`: those 12, then the abstract,
  conclusion, introduction and results, within 12,000 characters) does.

"without" runs the same search with the glossary's words left out. Prints a Markdown table;
--show lists each question with where its answer ranked, both ways.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from summarizer import passages as search  # noqa: E402
from summarizer.extract import PdfExtractor  # noqa: E402
from summarizer.sections import split_sections  # noqa: E402

SHARED = ROOT.parent / "shared"


def folded(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def rank(found: list[search.Passage], answer: str) -> int | None:
    """1-based rank of the first passage holding the answer, or None."""
    return next((i for i, p in enumerate(found, 1) if folded(answer) in folded(p.text)), None)


def measure(questions: list[dict], sections: dict[str, list], with_glossary: bool) -> list[dict]:
    english_terms = search.english_terms
    if not with_glossary:
        search.english_terms = lambda question: []  # type: ignore[assignment]
    try:
        out = []
        for q in questions:
            paper = sections[q["arxiv_id"]]
            out.append(
                {
                    "rank": rank(search.find_passages(paper, q["question"], k=12), q["answer_contains"]),
                    "context": rank(search.context_passages(paper, q["question"]), q["answer_contains"]) is not None,
                }
            )
        return out
    finally:
        search.english_terms = english_terms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=ROOT / "bench" / "data" / "ask_questions.jsonl")
    parser.add_argument("--corpus", type=Path, default=SHARED / "corpus" / "papers")
    parser.add_argument("--show", action="store_true")
    args = parser.parse_args()
    questions = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    sections = {}
    with PdfExtractor() as extractor:
        for arxiv_id in sorted({q["arxiv_id"] for q in questions}):
            extracted = extractor.extract(next(args.corpus.glob(f"{arxiv_id}*.pdf")))
            sections[arxiv_id] = split_sections(extracted.pages)
    present = [
        q for q in questions if any(folded(q["answer_contains"]) in folded(s.text) for s in sections[q["arxiv_id"]])
    ]
    before, after = measure(present, sections, False), measure(present, sections, True)
    n = len(present)
    print(
        f"{n} Russian questions over {len(sections)} papers ({len(questions) - n} whose answer string our extraction lacks left out)\n"
    )
    print("| passage search | answer in the top 3 (offline reply) | in the top 12 | in the LLM's context |")
    print("|---|---:|---:|---:|")
    for name, rows in (("without the glossary", before), ("with summarizer/ru_terms.py", after)):
        top3 = sum(1 for r in rows if r["rank"] is not None and r["rank"] <= 3)
        top12 = sum(1 for r in rows if r["rank"] is not None)
        context = sum(1 for r in rows if r["context"])
        print(f"| {name} | {top3} ({top3 / n:.0%}) | {top12} ({top12 / n:.0%}) | {context} ({context / n:.0%}) |")
    if args.show:
        print()
        for q, b, a in zip(present, before, after):
            print(f"- {q['arxiv_id']} {q['question']!r} → {q['answer_contains']!r}: rank {b['rank']} → {a['rank']}")


if __name__ == "__main__":
    main()
