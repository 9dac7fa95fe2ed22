"""The offline reviewer (summarizer.offline) and the demo papers it is shown on."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest

from paperdigest.records import SECTION_KINDS, PaperMeta, Section
from paperdigest.sample.papers import PAPERS_DIR, DemoPaper, load_demo_papers
from summarizer.offline import NO_LIMITATIONS, TLDR_LEAD, draft_review, split_sentences
from summarizer.review_format import SECTION_TITLES, parse_body

CODE_LINKS = {
    "2412.06769": "https://github.com/facebookresearch/coconut",
    "2405.14838": "https://github.com/da03/Internalize_CoT_Step_by_Step",
    "1706.03762": "https://github.com/tensorflow/tensor2tensor",
}
REQUIRED_FIELDS = {
    "arxiv_id": str,
    "version": int,
    "title": str,
    "authors": list,
    "abstract": str,
    "categories": list,
    "primary_category": str,
    "comment": str,
    "published": str,
    "updated": str,
    "doi": str,
    "journal_ref": str,
    "sections": list,
    "references": list,
    "appendix": list,
}
NUMBER = re.compile(r"\d+(?:\.\d+)?")
CAVEAT_CUES = (
    "limitation",
    "however",
    "fail",
    "only",
    "future work",
    "cannot",
    "drawback",
    "unclear",
    "does not",
    "remains",
    "unable",
    "expensive",
    "costly",
    "restricted",
)
PAPERS = load_demo_papers()
PAPER_IDS = [paper.meta.arxiv_id for paper in PAPERS]


def paper_text(paper: DemoPaper) -> str:
    return "\n\n".join([paper.meta.abstract, *(text for _, text in paper.sections)])


def bullets(markdown: str) -> list[str]:
    return [line[2:] for line in markdown.splitlines() if line.startswith("- ")]


@pytest.fixture(scope="module", params=PAPERS, ids=PAPER_IDS)
def paper(request) -> DemoPaper:
    return request.param


@pytest.fixture(scope="module")
def review(paper):
    return draft_review(paper.meta, paper.to_sections())


# --- the demo papers -------------------------------------------------------------------------


def test_the_three_demo_papers_are_there():
    assert set(CODE_LINKS) <= set(PAPER_IDS)
    assert PAPER_IDS == sorted(PAPER_IDS)


@pytest.mark.parametrize("path", sorted(PAPERS_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_demo_json_has_required_fields(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    for name, kind in REQUIRED_FIELDS.items():
        assert isinstance(data[name], kind), name
    assert path.stem == data["arxiv_id"]
    assert data["title"] and data["authors"] and len(data["abstract"]) > 300
    assert data["primary_category"] in data["categories"]
    assert datetime.fromisoformat(data["published"]) <= datetime.fromisoformat(data["updated"])
    assert all(len(pair) == 2 for pair in data["sections"] + data["appendix"])


def test_demo_body_is_paper_like_and_cp1252(paper):
    body = [text for _, text in paper.sections]
    top_level = [h for h, _ in paper.sections if re.match(r"^\d+ \S", h)]
    assert 8_000 <= sum(map(len, body)) <= 15_000
    assert 6 <= len(top_level) <= 9
    assert 8 <= len(paper.references) <= 15
    assert all("\n\n" in text or len(text) < 1200 for text in body)  # paragraphs, not walls
    printed = [
        paper.meta.title,
        *paper.meta.authors,
        *paper.references,
        *(h + t for h, t in paper.sections + paper.appendix),
    ]
    for text in printed:
        text.encode("cp1252")  # fpdf2 core fonts


def test_demo_body_mentions_its_code_repository(paper):
    assert CODE_LINKS[paper.meta.arxiv_id] in paper_text(paper)


def test_demo_sections_get_kinds_from_headings():
    coconut = next(p for p in PAPERS if p.meta.arxiv_id == "2412.06769")
    kinds = {s.title: s.kind for s in coconut.to_sections()}
    assert kinds["Abstract"] == "abstract"
    assert kinds["1 Introduction"] == "introduction"
    assert kinds["2.1 Continuous thoughts"] == "method"  # inherits from "2 Method: ..."
    assert kinds["4 Results"] == "results"
    assert kinds["7 Limitations"] == "limitations"
    assert kinds["References"] == "references"
    assert {s.kind for s in coconut.to_sections()} <= set(SECTION_KINDS)


# --- the review of each demo paper -----------------------------------------------------------


def test_every_section_is_present_and_non_empty(review):
    assert review.missing_sections() == []
    for title in SECTION_TITLES:
        assert bullets(review.sections[title]), title


def test_sections_open_with_a_russian_lead(review):
    for title in SECTION_TITLES:
        lead = review.sections[title].split("\n\n")[0]
        assert re.search("[а-яё]{4}", lead), title


def test_tldr_says_it_is_automatic_and_quotes_the_abstract(paper, review):
    assert review.tldr.startswith(TLDR_LEAD)
    quoted = review.tldr[len(TLDR_LEAD) :].strip()
    assert quoted and all(s in paper.meta.abstract for s in split_sentences(quoted))


def test_bullets_are_sentences_of_the_paper_in_document_order(paper, review):
    text = re.sub(r"\s+", " ", paper_text(paper))
    for title in SECTION_TITLES:
        found = bullets(review.sections[title])
        positions = [text.find(b) for b in found]
        assert -1 not in positions, title
        assert positions == sorted(positions), title


def test_no_reference_or_acknowledgment_text_leaks(paper):
    sections = paper.to_sections() + [
        Section("Acknowledgments", "acknowledgments", "We thank the Zyxwvut Foundation for its generous support."),
        Section("References", "references", "[1] Qwertyuiop, A. Canary titles are never quoted. 2020."),
    ]
    markdown = draft_review(paper.meta, sections).to_markdown()
    assert "Zyxwvut" not in markdown and "Qwertyuiop" not in markdown
    for line in bullets(markdown):
        assert not any(line in entry for entry in paper.references)


def test_experiments_quote_numbers_from_the_paper(paper, review):
    numbers = NUMBER.findall(" ".join(bullets(review.sections[SECTION_TITLES[2]])))
    assert len(numbers) >= 3
    assert set(numbers) <= set(NUMBER.findall(paper_text(paper)))


def test_limitations_come_from_caveats(review):
    caveats = bullets(review.sections[SECTION_TITLES[3]])
    assert caveats and review.sections[SECTION_TITLES[3]] != NO_LIMITATIONS


def test_limitations_quote_only_caveats(paper, review):
    own_section = "\n".join(text for heading, text in paper.sections if "Limitations" in heading)
    for line in bullets(review.sections[SECTION_TITLES[3]]):
        assert line in own_section or any(cue in line.lower() for cue in CAVEAT_CUES), line


def test_short_fragments_are_not_quoted(review):
    for title in SECTION_TITLES:
        assert all(len(line.split()) >= 6 for line in bullets(review.sections[title])), title


def test_no_sentence_is_quoted_twice(review):
    quoted = [b for title in SECTION_TITLES for b in bullets(review.sections[title])]
    assert len(quoted) == len(set(quoted))
    assert not any(line in review.tldr for line in quoted)  # not even the TL;DR's


def test_a_missing_kind_borrows_what_no_later_section_needs():
    sections = [
        Section("2 Our sorter", "other", "We sort long lists by merging sorted runs of numbers."),
        Section("4 Results", "results", "The merge sorter reaches 97.0% accuracy on long lists."),
    ]
    meta = PaperMeta(**{**META.__dict__, "abstract": "We propose a merge sorter for long lists."})
    review = draft_review(meta, sections)
    assert bullets(review.sections[SECTION_TITLES[1]]) == [sections[0].text]
    assert bullets(review.sections[SECTION_TITLES[2]]) == [sections[1].text]


def test_output_is_deterministic(paper, review):
    assert draft_review(paper.meta, paper.to_sections()) == review


@pytest.mark.parametrize("max_chars", [3000, 5000, 7000])
def test_length_is_about_max_chars(paper, max_chars):
    length = len(draft_review(paper.meta, paper.to_sections(), max_chars=max_chars).to_markdown())
    assert 0.6 * max_chars <= length <= 1.05 * max_chars


def test_markdown_parses_back(review):
    parsed = parse_body(review.to_markdown())
    assert parsed.sections == {t: review.sections[t].strip() for t in SECTION_TITLES}


def test_run_in_headings_are_not_quoted():
    coconut = next(p for p in PAPERS if p.meta.arxiv_id == "2412.06769")
    quoted = bullets(draft_review(coconut.meta, coconut.to_sections(), max_chars=12_000).to_markdown())
    assert "Continuous thoughts as a search tree." not in quoted
    assert "Interpolating between latent and language reasoning." not in quoted
    assert any(b.startswith("We can read a continuous thought") for b in quoted)  # what follows it stays


# --- what a draft must never quote ------------------------------------------------------------

META = PaperMeta(arxiv_id="2401.00001", version=1, title="A Tiny Paper", authors=["A. Author"], abstract="")
RESULTS = (
    "Our sorter reaches 97.0% accuracy on the benchmark while using 14.2 comparisons per item.\n\n"
    "Sorter 97.0 14.2 | Bubble 77.5 49.4 | Merge 98.2 8.2 | Quick 96.6 9.0 | accuracy sorter\n\n"
    "The baseline sorter reaches 77.5% accuracy with 49.4 comparisons per item."
)
CANARY = "Our sorter benchmark accuracy reaches 99.9% in the canary study of sorting quality by Zyxwvut."


@pytest.mark.parametrize("kind", ["references", "acknowledgments"])
def test_skipped_kinds_are_never_quoted_even_as_a_fallback(kind):
    meta = PaperMeta(**{**META.__dict__, "abstract": "We propose a fast sorter for long lists of numbers."})
    review = draft_review(meta, [Section("Tail", kind, CANARY)])
    assert "Zyxwvut" not in review.to_markdown()
    assert review.missing_sections() == []


def test_references_glued_to_the_conclusion_are_cut_off():
    text = "We believe our sorter will help everyone who sorts long lists.\n\nReferences\n" + CANARY
    review = draft_review(META, [Section("6 Conclusion", "conclusion", text)])
    assert "Zyxwvut" not in review.to_markdown()
    assert "We believe our sorter" in review.to_markdown()


def test_results_prefer_sentences_with_numbers():
    meta = PaperMeta(**{**META.__dict__, "abstract": "We propose a fast sorter for long lists of numbers."})
    results = (
        "The sorter improves accuracy on the benchmark lists of numbers in all of our settings.\n\n"
        "The sorter reaches 97.0% accuracy on the benchmark lists of numbers in our settings."
    )
    sections = [
        Section("2 Method", "method", "We sort lists of numbers by merging sorted runs of them."),
        Section("4 Results", "results", results),
    ]
    quoted = bullets(draft_review(meta, sections, max_chars=1200).sections[SECTION_TITLES[2]])
    assert len(quoted) == 1 and "97.0%" in quoted[0]


CLEAN = "The merge sorter needs fewer comparisons than the heap sorter on long benchmark lists."


@pytest.mark.parametrize(
    "flawed",
    [
        "The merge sorter needs fewer comparisons than the heap sorter on long benchmark lists (Table 2).",
        "As Figure 3 shows, the merge sorter needs fewer comparisons than the heap sorter on long lists.",
        "The merge sorter needs fewer comparisons than the heap sorter on long benchmark lists [12, 13].",
        "The merge sorter needs fewer comparisons than the heap sorter (Knuth et al., 1998) on long lists.",
        "The merge sorter needs fewer comparisons than the heap sorter on long benchmark lists (https://x.org).",
        "The merge sorter needs fewer comparisons than the heap sorter on long benchmark lists, and " * 4 + "so on.",
    ],
    ids=["table", "figure", "brackets", "author-year", "link", "very-long"],
)
def test_flawed_sentences_lose_to_clean_ones(flawed):
    sections = [Section("2 Method", "method", f"{flawed} {CLEAN}")]  # the flawed one opens the paragraph
    meta = PaperMeta(**{**META.__dict__, "abstract": "We compare merge and heap sorters on long lists."})
    quoted = bullets(draft_review(meta, sections, max_chars=4000).sections[SECTION_TITLES[1]])
    assert quoted == [CLEAN]  # room for both, but they say the same


def test_near_duplicates_are_quoted_once():
    results = (
        "Our sorter reaches 97.0% accuracy on the benchmark lists of numbers.\n\n"
        "Our sorter reaches 97.0% accuracy on the benchmark lists of numbers too."
    )
    review = draft_review(META, [Section("4 Results", "results", results)], max_chars=8000)
    assert sum("97.0%" in line for line in bullets(review.to_markdown())) == 1


def test_flattened_tables_are_not_quoted():
    review = draft_review(META, [Section("4 Results", "results", RESULTS)], max_chars=6000)
    quoted = bullets(review.to_markdown())
    assert any("97.0%" in b for b in quoted) and not any("|" in b for b in quoted)


# --- degenerate input -------------------------------------------------------------------------

ONE_SENTENCE = "We show that a tiny model reaches 91.5% accuracy on a toy task."
LIMITLESS = "We propose a method for sorting lists. It sorts lists quickly and well in every test we ran."


@pytest.mark.parametrize(
    "abstract, sections",
    [
        ("", []),
        (ONE_SENTENCE, []),
        ("", [Section("1 Introduction", "introduction", ONE_SENTENCE)]),
        ("", [Section("", "front", "A Tiny Paper\nA. Author"), Section("References", "references", "[1] X. Y. 2020.")]),
        ("", [Section("2 Method", "method", ""), Section("3 Results", "results", "   \n\n  ")]),
        ("   ", [Section("", "other", "x" * 3000)]),
        ("", [Section("4 Experiments", "experiments", "3 4 5 * 6 7 8 = 1 2 3 4 5 6 7 8 9 0 + - ( ) [ ]")]),
        (LIMITLESS, [Section("2 Method", "method", LIMITLESS)]),
        ("Unterminated abstract without any full stop at all", [Section("5 Conclusion", "conclusion", "Done")]),
    ],
    ids=[
        "nothing",
        "one-sentence-abstract",
        "one-sentence-body",
        "only-front-and-refs",
        "empty-texts",
        "one-huge-token",
        "math-only",
        "no-caveats",
        "no-punctuation",
    ],
)
@pytest.mark.parametrize("max_chars", [400, 5000])
def test_degenerate_input_gives_every_section_some_text(abstract, sections, max_chars):
    meta = PaperMeta(**{**META.__dict__, "abstract": abstract})
    review = draft_review(meta, sections, max_chars=max_chars)
    assert review.missing_sections() == []
    assert review.tldr.startswith(TLDR_LEAD)
    assert draft_review(meta, sections, max_chars=max_chars) == review


def test_a_paper_without_caveats_says_so_in_russian():
    meta = PaperMeta(**{**META.__dict__, "abstract": LIMITLESS})
    review = draft_review(meta, [Section("5 Conclusion", "conclusion", LIMITLESS)])
    assert review.sections[SECTION_TITLES[3]] == NO_LIMITATIONS


# --- sentence splitting -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "We follow Deng et al. (2023) closely. Results improve.",
            ["We follow Deng et al. (2023) closely.", "Results improve."],
        ),
        ("Small models, e.g. GPT-2, work. They are cheap.", ["Small models, e.g. GPT-2, work.", "They are cheap."]),
        ("Tokens, i.e. words, matter. Next one.", ["Tokens, i.e. words, matter.", "Next one."]),
        ("See Fig. 3 for the curves. They rise.", ["See Fig. 3 for the curves.", "They rise."]),
        ("Coconut reaches 97.0 on ProsQA. CoT gets 77.5.", ["Coconut reaches 97.0 on ProsQA.", "CoT gets 77.5."]),
        ("As in Eq. (2), the loss is masked. We train.", ["As in Eq. (2), the loss is masked.", "We train."]),
        ("It works (Hao et al., 2024). We agree.", ["It works (Hao et al., 2024).", "We agree."]),
        ("Prior work [3, 4]. Then ours.", ["Prior work [3, 4].", "Then ours."]),
        ("Is it a or b? It is a! Fine.", ["Is it a or b?", "It is a!", "Fine."]),
        ("CoT vs. iCoT differ. Yes.", ["CoT vs. iCoT differ.", "Yes."]),
        ("Y. Deng and S. Shieber wrote it. It is short.", ["Y. Deng and S. Shieber wrote it.", "It is short."]),
        ("Training took 3.5 days. 8 GPUs were used.", ["Training took 3.5 days.", "8 GPUs were used."]),
        (
            "A line broken\nby the PDF. And a hyphen-\nated word.",
            ["A line broken by the PDF.", "And a hyphenated word."],
        ),
        ('He said "stop." Then left.', ['He said "stop."', "Then left."]),
        ("lower case. after a stop stays one", ["lower case. after a stop stays one"]),
        ("No final stop", ["No final stop"]),
        ("", []),
    ],
)
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected
