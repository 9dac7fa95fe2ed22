"""The number check on realistic LLM answers: what it attributes, what it catches, how fast.

    .venv/bin/python bench/grounding.py [--answers ../shared/llm-answers] [--corpus ../shared/corpus/papers]
                                        [--runs 5] [--show]

For each of the 11 corpus papers the PDF goes through our extraction (as in production:
sections and pages), then `summarizer.attribute` checks

- the honest answers: how many numbers are attributed (FOUND or DERIVED), how many answers
  would pass their first try (no suspect number);
- each labelled mutation of `mutations.jsonl`: an invented number, a real number given for
  the wrong claim (swapped), a correct derived number (should be accepted), a wrong one
  (should be caught). A mutation counts as caught when a number it introduced is suspect,
  as accepted when every number it introduced is confirmed;
- the time of the whole validation (`validate_review`: sections, language, links, numbers)
  of each paper's honest answer, median of --runs, wall clock and CPU time.

Prints Markdown tables; --show also prints every suspect number of the honest answers and
every missed mutation, with the reason.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from paperdigest.records import PaperMeta  # noqa: E402
from summarizer.attribute import attribute  # noqa: E402
from summarizer.evidence import Evidence  # noqa: E402
from summarizer.extract import PdfExtractor  # noqa: E402
from summarizer.grounding import CONFIRMED, NumberCheck  # noqa: E402
from summarizer.numbers import scan  # noqa: E402
from summarizer.review_format import parse_body  # noqa: E402
from summarizer.sections import split_sections  # noqa: E402
from summarizer.validate import validate_review  # noqa: E402

SHARED = ROOT.parent / "shared"


@dataclass
class Paper:
    arxiv_id: str
    meta: PaperMeta
    evidence: Evidence
    page_count: int


def load_papers(answers: Path, corpus: Path) -> dict[str, Paper]:
    metas = {m["id"]: m for m in json.loads((answers / "meta.json").read_text(encoding="utf-8"))}
    papers = {}
    with PdfExtractor() as extractor:
        for arxiv_id, raw in metas.items():
            pdf = next(corpus.glob(f"{arxiv_id}*.pdf"))
            extracted = extractor.extract(pdf)
            meta = PaperMeta(
                arxiv_id,
                int(raw.get("version", 1)),
                raw["title"],
                raw.get("authors", []),
                raw.get("summary", ""),
                raw.get("categories", []),
            )
            evidence = Evidence.from_paper(meta, split_sections(extracted.pages), extracted.pages)
            papers[arxiv_id] = Paper(arxiv_id, meta, evidence, extracted.page_count)
    return papers


def paper_of(name: str) -> str:
    return Path(name).name.split(".md")[0].removesuffix(".correct").removesuffix(".wrong")


def introduced(mutation: dict, text: str) -> list[tuple[int, int]]:
    """Offsets in the mutated file of the numbers the change brought in."""
    at = text.index(mutation["changed"])
    before = {w.text for w in scan(mutation["original"])}
    spans = [(at + w.start, at + w.end) for w in scan(mutation["changed"]) if w.text not in before]
    return spans or [(at, at + len(mutation["changed"]))]


def checks_in(checks: list[NumberCheck], spans: list[tuple[int, int]]) -> list[NumberCheck]:
    return [c for c in checks if any(c.start < end and start < c.end for start, end in spans)]


def run(answers: Path, corpus: Path, runs: int, show: bool) -> None:
    papers = load_papers(answers, corpus)
    honest_rows, timings = [], []
    for arxiv_id, paper in sorted(papers.items()):
        text = (answers / "honest" / f"{arxiv_id}.md").read_text(encoding="utf-8")
        grounding = attribute(parse_body(text).to_markdown(), paper.evidence)
        honest_rows.append((arxiv_id, grounding.checked, grounding.confirmed, len(grounding.suspects)))
        if show:
            for n in grounding.suspects:
                print(f"honest {arxiv_id}: {n.status} {n.text!r} — {n.sentence[:160]!r} {n.detail}")
        timings.append((paper.page_count, _time_validation(text, paper, runs)))
    print_honest(honest_rows)

    outcome: dict[str, list[bool]] = {}
    for line in (answers / "mutations.jsonl").read_text(encoding="utf-8").splitlines():
        mutation = json.loads(line)
        text = (answers / mutation["file"]).read_text(encoding="utf-8")
        paper = papers[paper_of(mutation["file"])]
        body = parse_body(text).to_markdown()
        checks = checks_in(attribute(body, paper.evidence).numbers, introduced(mutation, body))
        if mutation["kind"] == "derived_correct":
            good = bool(checks) and all(c.status in CONFIRMED for c in checks)
        else:
            good = any(c.suspect for c in checks)
        outcome.setdefault(mutation["kind"], []).append(good)
        if show and not good:
            seen = ", ".join(f"{c.text}:{c.status}" for c in checks) or "no number checked"
            print(f"missed {mutation['kind']} {mutation['file']}: {mutation['changed'][:120]!r} → {seen}")
    print_mutations(outcome)
    print(
        f"\nvalidation of one honest answer (validate_review, paper evidence built), median of {runs} runs each "
        "(wall clock; CPU time of this process in brackets, which other load on the machine disturbs less):"
    )
    for label, chosen in (
        ("papers of up to 25 pages", [t for pages, t in timings if pages <= 25]),
        ("all papers", [t for _pages, t in timings]),
    ):
        wall, cpu, after = [t[0] for t in chosen], [t[1] for t in chosen], [t[2] for t in chosen]
        print(
            f"- {label} ({len(chosen)}): median {statistics.median(wall) * 1000:.1f} ms, "
            f"max {max(wall) * 1000:.1f} ms (CPU: median {statistics.median(cpu) * 1000:.1f} ms, "
            f"max {max(cpu) * 1000:.1f} ms); after the answer, evidence built while the model wrote: "
            f"median {statistics.median(after) * 1000:.1f} ms, max {max(after) * 1000:.1f} ms"
        )


def _time_validation(text: str, paper: Paper, runs: int) -> tuple[float, float, float]:
    """Median wall and CPU time of the whole validation (evidence built), and the wall time of
    the check alone with the evidence built beforehand (as the pipeline does while the model writes)."""
    body = parse_body(text)
    walls, cpus, after_answer = [], [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        evidence = Evidence.from_paper(paper.meta, _sections_again(paper), paper.evidence.pages)
        built = time.perf_counter()
        validate_review(body, evidence=evidence, code_url=None, finish_reason="stop")
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - start_cpu)
        after_answer.append(time.perf_counter() - built)
    return statistics.median(walls), statistics.median(cpus), statistics.median(after_answer)


def _sections_again(paper: Paper):
    return split_sections(paper.evidence.pages)


def print_honest(rows: list[tuple[str, int, int, int]]) -> None:
    print("| honest answer | numbers checked | attributed | suspect | first try |")
    print("|---|---:|---:|---:|---|")
    for arxiv_id, checked, confirmed, suspects in rows:
        print(f"| {arxiv_id} | {checked} | {confirmed} | {suspects} | {'pass' if not suspects else 'FAIL'} |")
    checked = sum(r[1] for r in rows)
    confirmed = sum(r[2] for r in rows)
    failing = sum(r[3] > 0 for r in rows)
    print(
        f"| **all {len(rows)}** | {checked} | {confirmed} ({confirmed / checked:.1%}) | {sum(r[3] for r in rows)} "
        f"| {len(rows) - failing} of {len(rows)} pass |"
    )


def print_mutations(outcome: dict[str, list[bool]]) -> None:
    print("\n| mutation | count | caught (accepted for derived_correct) |")
    print("|---|---:|---:|")
    for kind in ("invented", "swapped", "derived_correct", "derived_wrong"):
        results = outcome.get(kind, [])
        if results:
            print(f"| {kind} | {len(results)} | {sum(results)} ({sum(results) / len(results):.0%}) |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=Path, default=SHARED / "llm-answers")
    parser.add_argument("--corpus", type=Path, default=SHARED / "corpus" / "papers")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--show", action="store_true")
    args = parser.parse_args()
    run(args.answers, args.corpus, args.runs, args.show)


if __name__ == "__main__":
    main()
