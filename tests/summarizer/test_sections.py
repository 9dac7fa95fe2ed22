"""Cutting extracted text into sections: pure cases, then a PDF round trip."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paperdigest.records import SECTION_KINDS
from paperdigest.sample import pdfmake
from summarizer.extract import PdfExtractor, clean_page_text
from summarizer.sections import (
    find_references,
    join_paragraphs,
    prepare_lines,
    split_sections,
    title_kind,
)

# Body lines as pdfium gives them for a one-column paper: about 90 characters, no blank lines.
BODY = [
    "Language models write out their reasoning one token at a time, and each token is a choice",
    "that the rest of the answer has to live with; we look at what happens when they need not.",
    "The experiments use small models so that every configuration can be run with three seeds,",
    "and the numbers we report are means with the spread between the seeds given in brackets.",
]


def page(*parts: str | list[str]) -> str:
    """One page of text: headings given as strings, body given as BODY-like lists."""
    lines: list[str] = []
    for part in parts:
        lines.extend(part if isinstance(part, list) else [part])
    return "\n".join(lines)


def titles(*parts: str | list[str]) -> list[str]:
    return [s.title for s in split_sections([page(*parts)]) if s.title]


# --- headings --------------------------------------------------------------------------

HEADING_CASES = {
    "numbered": (
        [
            "1 Introduction",
            BODY,
            "2 Related Work",
            BODY,
            "3 Method",
            BODY,
            "3.1 Setup",
            BODY,
            "4 Results",
            BODY,
        ],
        ["1 Introduction", "2 Related Work", "3 Method", "3.1 Setup", "4 Results"],
    ),
    "numbered with dots": (
        [
            "1. Introduction",
            BODY,
            "2. Approach",
            BODY,
            "2.1. Overview",
            BODY,
            "2.1.1. Reward",
            BODY,
            "3. Experiments",
            BODY,
        ],
        [
            "1. Introduction",
            "2. Approach",
            "2.1. Overview",
            "2.1.1. Reward",
            "3. Experiments",
        ],
    ),
    "roman": (
        [
            "I. INTRODUCTION",
            BODY,
            "II. RELATED WORK",
            BODY,
            "III. METHOD",
            BODY,
            "IV. EXPERIMENTS",
            BODY,
        ],
        ["I. INTRODUCTION", "II. RELATED WORK", "III. METHOD", "IV. EXPERIMENTS"],
    ),
    "unnumbered known headings": (
        [
            "Abstract",
            BODY,
            "Introduction",
            BODY,
            "Related Work",
            BODY,
            "Conclusions",
            BODY,
            "References",
            BODY,
        ],
        ["Abstract", "Introduction", "Related Work", "Conclusions", "References"],
    ),
    "figure caption is no heading": (
        [
            "1 Introduction",
            BODY,
            "Figure 2: Accuracy of the model",
            BODY,
            "2 Method",
            BODY,
            "3 Results",
            BODY,
        ],
        ["1 Introduction", "2 Method", "3 Results"],
    ),
    "table rows are no headings": (
        [
            "1 Introduction",
            BODY,
            "2 Method",
            BODY,
            "1 0.91 0.83",
            "2 0.95 0.78",
            "3 Results",
            BODY,
        ],
        ["1 Introduction", "2 Method", "3 Results"],
    ),
    "long sentence with a period is no heading": (
        [
            "1 Introduction",
            BODY,
            "2 Method",
            "3 models were trained for a week on eight GPUs with the same data.",
            BODY,
            "3 Results",
            BODY,
        ],
        ["1 Introduction", "2 Method", "3 Results"],
    ),
    "list item in prose is no heading": (
        [
            "1 Introduction",
            BODY[:2],
            "1. We propose a retrieval augmented prompt tuning method for the task",
            "of paraphrase generation.",
            "2 Method",
            BODY,
            "3 Results",
            BODY,
        ],
        ["1 Introduction", "2 Method", "3 Results"],
    ),
    "number out of sequence is no heading": (
        [
            "1 Introduction",
            BODY,
            "2 Method",
            BODY,
            "3 Results",
            "7 Revisions",
            BODY,
            "3.1 Main Results",
            BODY,
            "4 Conclusion",
            BODY,
        ],
        ["1 Introduction", "2 Method", "3 Results", "3.1 Main Results", "4 Conclusion"],
    ),
    "table of contents is skipped": (
        [
            "Contents",
            "1 Introduction 3",
            "2 Approach . . . . . . 5",
            "3 Experiments 11",
            "1 Introduction",
            BODY,
            "2 Approach",
            BODY,
            "3 Experiments",
            BODY,
        ],
        ["1 Introduction", "2 Approach", "3 Experiments"],
    ),
    "affiliations are no headings": (
        [
            "A Paper",
            "1 University of Somewhere",
            "2 Institute of Elsewhere",
            "Abstract",
            BODY,
            "Introduction",
            BODY,
            "Method",
            BODY,
        ],
        ["Abstract", "Introduction", "Method"],
    ),
    "wrapped heading is joined": (
        [
            "1 Introduction",
            BODY,
            "2 Preliminaries: Robust Table Encoding for Question Answering over",
            "Structured Data",
            BODY,
            "3 Method",
            BODY,
        ],
        [
            "1 Introduction",
            "2 Preliminaries: Robust Table Encoding for Question Answering over Structured Data",
            "3 Method",
        ],
    ),
    "number alone on its line": (
        [
            "A Title",
            "1",
            "Introduction",
            BODY,
            "2",
            "Related Work",
            BODY,
            "3",
            "Method",
            BODY,
        ],
        ["1 Introduction", "2 Related Work", "3 Method"],
    ),
    "appendix letters after references": (
        [
            "1 Introduction",
            BODY,
            "2 Method",
            BODY,
            "3 Results",
            BODY,
            "References",
            "[1] A. Author. A title. 2020.",
            "A Proof of Theorem 1",
            BODY,
            "B.2 Hyperparameters",
            BODY,
        ],
        [
            "1 Introduction",
            "2 Method",
            "3 Results",
            "References",
            "A Proof of Theorem 1",
            "B.2 Hyperparameters",
        ],
    ),
    "letter heading before references is prose": (
        [
            "1 Introduction",
            BODY,
            "A Harmless but Helpful Assistant",
            BODY,
            "2 Method",
            BODY,
            "3 Results",
            BODY,
        ],
        ["1 Introduction", "2 Method", "3 Results"],
    ),
    "author initials in references are no appendix": (
        [
            "1 Introduction",
            BODY,
            "2 Method",
            BODY,
            "3 Results",
            BODY,
            "References",
            "A. Vaswani, N. Shazeer, and N. Parmar.",
            "B. Smith, J. Doe. Another paper. 2021.",
            "Appendix A: Extra Results",
            BODY,
        ],
        [
            "1 Introduction",
            "2 Method",
            "3 Results",
            "References",
            "Appendix A: Extra Results",
        ],
    ),
}


@pytest.mark.parametrize(("parts", "expected"), HEADING_CASES.values(), ids=HEADING_CASES.keys())
def test_headings(parts, expected):
    assert titles(*parts) == expected


@pytest.mark.parametrize(
    ("line", "title", "text"),
    [
        (
            "Abstract—We study latent reasoning in small models.",
            "Abstract",
            "We study latent reasoning in small models.",
        ),
        ("ABSTRACT", "ABSTRACT", BODY[0]),
        (
            "Abstract: We study latent reasoning.",
            "Abstract",
            "We study latent reasoning.",
        ),
    ],
)
def test_abstract_variants(line, title, text):
    sections = split_sections(
        [
            page(
                "A Title",
                line,
                BODY,
                "1 Introduction",
                BODY,
                "2 Method",
                BODY,
                "3 Results",
                BODY,
            )
        ]
    )
    abstract = next(s for s in sections if s.kind == "abstract")
    assert abstract.title == title
    assert abstract.text.startswith(text)


def test_front_is_text_before_the_first_heading():
    sections = split_sections(
        [
            page(
                "Thinking Without Words",
                "Ada Example",
                "Abstract",
                BODY,
                "Introduction",
                BODY,
            )
        ]
    )
    assert (sections[0].title, sections[0].kind) == ("", "front")
    assert sections[0].text == "Thinking Without Words Ada Example"


def test_no_headings_gives_one_front_section():
    sections = split_sections([page(BODY)])
    assert [(s.title, s.kind) for s in sections] == [("", "front")]


def test_empty_input():
    assert split_sections([]) == []
    assert split_sections(["", ""]) == []


# --- kinds -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("Abstract", "abstract"),
        ("1 Introduction", "introduction"),
        ("2 Related Work", "related"),
        ("2 Background", "background"),
        ("2 Preliminaries: TAPAS", "background"),
        ("3 Method", "method"),
        ("3 Model Architecture", "method"),
        ("3. Our Approach", "method"),
        ("4 Experimental Setup", "experiments"),
        ("4 Evaluation", "experiments"),
        ("5 Results", "results"),
        ("5.4 Ablation Study", "results"),
        ("6 Discussion", "discussion"),
        ("5.7 Limitations of TableFormer", "limitations"),
        ("5. Conclusion, Limitations, and Future Work", "conclusion"),
        ("Acknowledgements", "acknowledgments"),
        ("Acknowledgments", "acknowledgments"),
        ("References", "references"),
        ("Bibliography", "references"),
        ("Supplementary Material", "appendix"),
        ("3.1 Task definition", None),
    ],
)
def test_title_kind(title, kind):
    assert title_kind(title) == kind


def test_kinds_in_a_paper():
    sections = split_sections(
        [
            page(
                "Abstract",
                BODY,
                "1 Introduction",
                BODY,
                "1.1 Contributions",
                BODY,
                "2 Method",
                BODY,
                "2.1 Continuous thoughts",
                BODY,
                "3 Experiments",
                BODY,
                "3.1 Training details",
                BODY,
                "4 Results",
                BODY,
                "References",
                "[1] A. Author. A title. 2020.",
                "Acknowledgments",
                BODY,
                "A Proof of Theorem 1",
                BODY,
                "A.1 A lemma",
                BODY,
            )
        ]
    )
    kinds = {s.title: s.kind for s in sections}
    assert kinds == {
        "Abstract": "abstract",
        "1 Introduction": "introduction",
        "1.1 Contributions": "introduction",  # inherits: its own title says nothing
        "2 Method": "method",
        "2.1 Continuous thoughts": "method",
        "3 Experiments": "experiments",
        "3.1 Training details": "experiments",  # "training" under experiments stays experiments
        "4 Results": "results",
        "References": "references",
        "Acknowledgments": "acknowledgments",
        "A Proof of Theorem 1": "appendix",
        "A.1 A lemma": "appendix",
    }
    assert all(s.kind in SECTION_KINDS for s in sections)
    assert [s.number for s in sections if s.number] == [
        "1",
        "1.1",
        "2",
        "2.1",
        "3",
        "3.1",
        "4",
        "A",
        "A.1",
    ]


def test_find_references():
    sections = split_sections(
        [
            page(
                "1 Introduction",
                BODY,
                "2 Method",
                BODY,
                "3 Results",
                BODY,
                "References",
                "[1] A. Author. A title. 2020.",
            )
        ]
    )
    refs = find_references(sections)
    assert refs is not None and refs.text == "[1] A. Author. A title. 2020."
    assert find_references(split_sections([page(BODY)])) is None


# --- lines and paragraphs --------------------------------------------------------------


@pytest.mark.parametrize(
    "stamp",
    [
        "arXiv:2412.06769v2 [cs.CL] 4 Nov 2024",
        "arXiv:1706.03762v7 [cs.CL] 2 Aug 2023",
        "arXiv:hep-th/9901001v1 [hep-th] 1 Jan 1999",
        "arXiv:2501.12948v1 [cs.CL] 22 Jan 2025",
    ],
)
def test_arxiv_stamp_is_dropped(stamp):
    assert prepare_lines([page(BODY[:2], stamp, BODY[2:])]) == BODY


@pytest.mark.parametrize("number", ["3", "12", "- 4 -", "Page 7", "7 of 12"])
def test_page_numbers_at_page_edges_are_dropped(number):
    assert prepare_lines([page(BODY, number), page(number, BODY)]) == BODY + BODY


def test_number_inside_a_page_is_kept():
    assert prepare_lines([page(BODY[:2], "42", BODY[2:])]) == [
        *BODY[:2],
        "42",
        *BODY[2:],
    ]


def test_running_header_is_dropped():
    header = "Thinking Without Words: A Small Study of Latent Reasoning"
    bodies = [BODY[n % 4 :] + BODY[: n % 4] for n in range(5)]  # different text on each page
    pages = [page(header, body, str(n)) for n, body in enumerate(bodies, 1)]
    assert prepare_lines(pages) == [line for body in bodies for line in body]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (BODY, " ".join(BODY)),
        (
            [BODY[0], "short end of a paragraph.", BODY[2]],
            f"{BODY[0]} short end of a paragraph.\n\n{BODY[2]}",
        ),
        ([BODY[0], "", BODY[2]], f"{BODY[0]}\n\n{BODY[2]}"),
        (
            [
                "[1] A. Author. Title one. 2020. In a long venue name that wraps onto the next line of",
                "the column.",
                "[2] B. Author. Title two.",
            ],
            "[1] A. Author. Title one. 2020. In a long venue name that wraps onto the next line of the column.\n\n[2] B. Author. Title two.",
        ),
        (
            ["a line broken in a compound: state-of-", "the-art results follow"],
            "a line broken in a compound: state-of-the-art results follow",
        ),
        (["• first point", "• second point"], "• first point\n\n• second point"),
    ],
)
def test_join_paragraphs(lines, expected):
    assert join_paragraphs(lines, width=90) == expected


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("pa\ufffe\r\npers", "papers"),
        ("transduc\ufffetion models", "transduction models"),
        ("state-of-the\ufffe\r\nart", "state-of-the-art"),
        ("MiniMax\ufffeM1", "MiniMax-M1"),
        ("English\ufffeto-German", "English-to-German"),
        ("soft\u00ad\r\nware and hy\u00adphen", "software and hyphen"),
        (
            "e\ufb03cient \ufb01ne \ufb02ow o\ufb00 ba\ufb04e",
            "efficient fine flow off baffle",
        ),
        ("line one\r\nline two\rline three", "line one\nline two\nline three"),
        ("nul\x00 and bell\x07 and tab\tgone", "nul and bell and tab gone"),
        ("lone \ud800surrogate", "lone surrogate"),
    ],
)
def test_clean_page_text(raw, clean):
    assert clean_page_text(raw) == clean


# --- round trip through a real PDF ----------------------------------------------------


@pytest.fixture(scope="module")
def sample_sections(tmp_path_factory):
    path = tmp_path_factory.mktemp("pdf") / "sample.pdf"
    path.write_bytes(pdfmake.sample_paper_pdf())
    with PdfExtractor(timeout_s=30) as extractor:
        return split_sections(extractor.extract(path).pages)


def test_round_trip_titles(sample_sections):
    expected = [
        "",
        "Abstract",
        *(t for t, _ in pdfmake.SAMPLE_SECTIONS),
        "References",
        *(t for t, _ in pdfmake.SAMPLE_APPENDIX),
    ]
    assert [s.title for s in sample_sections] == expected


def test_round_trip_kinds_and_text(sample_sections):
    by_title = {s.title: s for s in sample_sections}
    assert by_title[""].text.startswith(pdfmake.SAMPLE_TITLE)
    assert by_title["Abstract"].kind == "abstract"
    assert find_references(sample_sections).text.count("[") == len(pdfmake.SAMPLE_REFERENCES)
    assert [s.kind for s in sample_sections[-2:]] == ["appendix", "appendix"]
    intro = by_title["1 Introduction"].text
    assert intro.count("\n\n") == 1  # the two paragraphs survive
    assert intro.startswith("Chain-of-thought prompting made language models write down")


# --- never crash ------------------------------------------------------------------------

_LINE = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "1 Introduction",
            "2.1 Setup",
            "IV. RESULTS",
            "A Proof",
            "References",
            "Abstract—x",
            "3",
            "",
            "A.",
            "1.",
            "Appendix",
        ]
    ),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_LINE, max_size=30).map("\n".join), max_size=6))
def test_split_sections_never_crashes(pages):
    sections = split_sections(pages)
    assert all(s.kind in SECTION_KINDS for s in sections)
    assert all(s.title or s.kind == "front" for s in sections)
