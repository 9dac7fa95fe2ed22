"""Per-page text extraction speed on real papers: ours against the usual Python tools.

    .venv/bin/python bench/extract.py [--runs 5] [--corpus ../shared/corpus/papers]

Tools, each timed from the file path to the text, median of N runs after a warm-up:

- ours: `PdfExtractor` (warm worker process, limits on) + `split_sections`
- pypdfium2: in-process, open, then get_textpage().get_text_range() per page
- pypdf: PdfReader, page.extract_text()
- pdfminer: pdfminer.high_level.extract_text

Tools take turns within each run (see `measure_file`), so other load on the machine
hits them alike. Prints a Markdown table with ms/page per tool and the speed of ours
relative to each (time of the other tool / time of ours: above 1 means ours is faster;
the target against raw pypdfium2 is at least 0.8). Each tool returns its text, so a
column computed from the text (a token budget, say) can be added to `measure_file`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from summarizer.budget import NEVER_SENT, fit_budget
from summarizer.extract import PdfExtractor
from summarizer.sections import split_sections
from summarizer.tokens import count_tokens, head_tokens

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "papers"
Tool = Callable[[Path], str]


def pdfium_text(path: Path) -> str:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    pages = []
    for i in range(len(pdf)):
        page = pdf[i]
        textpage = page.get_textpage()
        pages.append(textpage.get_text_range())
        textpage.close()
        page.close()
    pdf.close()
    return "\n".join(pages)


def pypdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def pdfminer_text(path: Path) -> str:
    from pdfminer.high_level import extract_text

    return extract_text(str(path))


def ours_tool(extractor: PdfExtractor) -> Tool:
    def ours_text(path: Path) -> str:
        sections = split_sections(extractor.extract(path).pages)
        return "\n\n".join(f"{s.title}\n{s.text}" for s in sections)

    return ours_text


def seconds(tool: Tool, path: Path) -> float:
    start = time.perf_counter()
    tool(path)
    return time.perf_counter() - start


@dataclass
class FileResult:
    name: str
    pages: int
    seconds: dict[str, float] = field(default_factory=dict)
    chars: dict[str, int] = field(default_factory=dict)


def page_count(path: Path) -> int:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    try:
        return len(pdf)
    finally:
        pdf.close()


def measure_file(path: Path, tools: dict[str, Tool], runs: int) -> FileResult:
    """Median time per tool; the tools take turns within each run, so a busy machine
    slows them alike instead of whichever happened to be running."""
    result = FileResult(path.name, page_count(path))
    result.chars = {name: len(tool(path)) for name, tool in tools.items()}  # warm-up
    times: dict[str, list[float]] = {name: [] for name in tools}
    for _ in range(runs):
        for name, tool in tools.items():
            times[name].append(seconds(tool, path))
    result.seconds = {name: statistics.median(t) for name, t in times.items()}
    return result


def ms_per_page(result: FileResult, tool: str) -> float:
    return 1000 * result.seconds[tool] / result.pages


def render(results: list[FileResult], tools: list[str]) -> str:
    others = [t for t in tools if t != "ours"]
    head = [
        "paper",
        "pages",
        *(f"{t} ms/p" for t in tools),
        *(f"ours vs {t}" for t in others),
    ]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    total = FileResult("**all (per page)**", sum(r.pages for r in results))
    for t in tools:
        total.seconds[t] = sum(r.seconds[t] for r in results)
    for r in [*results, total]:
        cells = [r.name, str(r.pages), *(f"{ms_per_page(r, t):.2f}" for t in tools)]
        cells += [f"{r.seconds[t] / r.seconds['ours']:.2f}x" for t in others]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def token_row(path: Path, extractor: PdfExtractor, budget: int, clip: int) -> list[str]:
    """Tokens of the raw text, of the body (no references), and what the budget and a plain clip send."""
    raw = pdfium_text(path)
    sections = split_sections(extractor.extract(path).pages)
    body = [s for s in sections if s.kind not in NEVER_SENT]
    fitted = fit_budget(sections, budget)
    whole = sum(1 for s in fitted.sections if s.title not in {c.title for c in fitted.cuts})
    clipped = head_tokens(raw, clip)
    reached = sum(1 for s in body if s.text[:80] and " ".join(s.text[:80].split()) in " ".join(clipped.split()))
    return [
        path.name,
        str(count_tokens(raw)),
        str(fitted.full_tokens),
        str(fitted.tokens),
        f"{whole}/{len(body)}",
        f"{reached}/{len(body)}",
        str(len(fitted.cuts)),
    ]


def render_tokens(paths: list[Path], extractor: PdfExtractor, budget: int, clip: int) -> str:
    head = [
        "paper",
        "raw text tokens",
        "body tokens (no refs)",
        f"sent (budget {budget})",
        "body sections sent whole",
        f"body sections in a {clip}-token clip",
        "sections cut",
    ]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    rows += ["| " + " | ".join(token_row(p, extractor, budget, clip)) + " |" for p in paths]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per tool and file (median)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="folder of PDFs")
    parser.add_argument(
        "--budget",
        type=int,
        default=22000,
        help="paper tokens after the prompt (LLM_INPUT_TOKENS 24000 less ~2000 of prompt)",
    )
    parser.add_argument("--clip", type=int, default=4000, help="the naive alternative: the first N tokens")
    args = parser.parse_args(argv)
    paths = sorted(args.corpus.glob("*.pdf"))
    if not paths:
        print(f"No PDFs in {args.corpus}; pass --corpus PATH.", file=sys.stderr)
        return 2
    with PdfExtractor() as extractor:
        tools = {
            "ours": ours_tool(extractor),
            "pypdfium2": pdfium_text,
            "pypdf": pypdf_text,
            "pdfminer": pdfminer_text,
        }
        results = []
        for path in paths:
            results.append(measure_file(path, tools, args.runs))
            print(f"measured {path.name}", file=sys.stderr)
        print(render(results, list(tools)))
        print()
        print(render_tokens(paths, extractor, args.budget, args.clip))
    return 0


if __name__ == "__main__":
    sys.exit(main())
