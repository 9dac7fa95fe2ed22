"""The Coconut paper the tests review: its id and sections, its PDF, putting it on the fake
arXiv, running the pipeline over it and reading the rows it leaves.

    add_paper(fake_arxiv)                  # 2412.06769, versions 1 and 2, both make_pdf()
    [review] = run(settings, PAPER_ID)     # the pipeline over HTTP against the fakes
    [job] = rows(settings, Job)
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from sqlalchemy import select

from paperdigest.sample.pdfmake import write_paper_pdf
from paperdigest.settings import Settings
from paperdigest.wiring import open_pipeline
from summarizer.ids import ArxivId
from tests.fakes.llm import FakeLLM

PAPER_ID = "2412.06769"
BODY_MARKER = "latent thought vectors replace the chain of thought tokens"
REF_MARKER = "Imaginary Reference Entry About Nothing"
SECTIONS = [
    (
        "1 Introduction",
        f"Large language models reason in language. We show that {BODY_MARKER}. "
        "Our code is available at https://github.com/facebookresearch/coconut. "
        "On ProsQA the method reaches 97.0% accuracy.",
    ),
    ("2 Method", "The last hidden state is fed back as the next input embedding. " * 6),
    (
        "3 Experiments",
        "Coconut reaches 97.0% on ProsQA with 14.2 tokens, while CoT reaches 77.5% with 49.4 tokens. " * 3,
    ),
    ("4 Limitations", "However, the method needs a multi-stage curriculum and more sequential forward passes."),
    ("5 Conclusion", "Continuous thoughts can encode several next steps at once, enabling a breadth-first search."),
]


def make_pdf(pages_of_filler: int = 0) -> bytes:
    sections = list(SECTIONS)
    if pages_of_filler:
        filler = " ".join(
            f"Detail {n} concerns how stage {n % 7} of the curriculum mixes its batches."
            for n in range(40 * pages_of_filler)
        )
        sections.insert(2, ("2.1 Details", filler))
    return write_paper_pdf(
        "Training Large Language Models to Reason in a Continuous Latent Space",
        ["Shibo Hao", "Sainbayar Sukhbaatar", "Yuandong Tian"],
        sections,
        abstract="We introduce Coconut, reasoning in a continuous latent space.",
        references=[f"[1] A. Author. {REF_MARKER}. 2020."],
    )


def add_paper(
    fake_arxiv, arxiv_id: str = PAPER_ID, *, versions: dict[int, bytes] | None = None, withdrawn: bool = False
) -> None:
    fake_arxiv.add_paper(
        arxiv_id,
        title="Training Large Language Models to Reason in a Continuous Latent Space",
        authors=["Shibo Hao", "Sainbayar Sukhbaatar", "Yuandong Tian"],
        abstract="We introduce Coconut, reasoning in a continuous latent space.",
        categories=["cs.CL", "cs.AI"],
        published=datetime(2024, 12, 9, tzinfo=timezone.utc),
        versions=versions or {1: make_pdf(), 2: make_pdf()},
        withdrawn=withdrawn,
    )


def run(settings: Settings, *ids: str, force: bool = False):
    async def go():
        async with open_pipeline(settings) as pipeline:
            results = await pipeline.review_many([ArxivId(i) for i in ids], force=force)
            return results

    results = asyncio.run(go())
    return [results[ArxivId(i)] for i in ids]


def rows(settings: Settings, model: type, *where) -> list:
    from paperdigest.db import Database

    db = Database(settings.DATABASE_URL)
    with db.read() as session:
        found = list(session.scalars(select(model).where(*where)))
    db.close()
    return found


def llm_user_prompts(fake_llm: FakeLLM) -> list[str]:
    return [r.body["messages"][-1]["content"] for r in fake_llm.requests if r.path.endswith("/chat/completions")]
