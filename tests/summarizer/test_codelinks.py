import pytest

from paperdigest.records import PaperMeta, Section
from summarizer.codelinks import find_code_link


def meta(abstract: str = "", comment: str = "") -> PaperMeta:
    return PaperMeta("2412.06769", 1, "T", ["A"], abstract, comment=comment)


@pytest.mark.parametrize(
    ("abstract", "found"),
    [
        (
            "Code is available at https://github.com/facebookresearch/coconut.",
            "https://github.com/facebookresearch/coconut",
        ),
        ("See github.com/da03/Internalize_CoT_Step_by_Step", "https://github.com/da03/Internalize_CoT_Step_by_Step"),
        ("Released at https://gitlab.com/group/project.git)", "https://gitlab.com/group/project"),
        ("Models: https://huggingface.co/meta-llama/Llama-3-8B", "https://huggingface.co/meta-llama/Llama-3-8B"),
        ("Data: https://huggingface.co/datasets/openai/gsm8k", "https://huggingface.co/datasets/openai/gsm8k"),
        ("We thank https://github.com/about for nothing.", None),
        ("No links at all.", None),
    ],
)
def test_abstract_links(abstract: str, found: str | None) -> None:
    assert find_code_link(meta(abstract), []) == found


def test_comment_wins_and_references_are_ignored() -> None:
    sections = [Section("References", "references", "[1] Our code is at https://github.com/other/tool")]
    assert find_code_link(meta(comment="Code: https://github.com/me/repo"), sections) == "https://github.com/me/repo"
    assert find_code_link(meta(), sections) is None


def test_body_link_needs_a_code_cue_and_survives_line_breaks() -> None:
    sections = [
        Section("1 Introduction", "introduction", "We build on https://github.com/huggingface/transformers."),
        Section(
            "2 Method", "method", "Our implementation is available at https://github.com/\nfacebookresearch/coconut."
        ),
    ]
    assert find_code_link(meta(), sections) == "https://github.com/facebookresearch/coconut"


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Our code: https://github.com/ diptodip/counting.", "https://github.com/diptodip/counting"),
        (
            "Code is available at https://github.com/ tensorflow/tensor2tensor.",
            "https://github.com/tensorflow/tensor2tensor",
        ),
        (
            "Code is available at https://github.com/ \n tensorflow/tensor2tensor.",
            "https://github.com/tensorflow/tensor2tensor",
        ),
        (
            "Data is available at https://huggingface.co/ datasets/openai/gsm8k",
            "https://huggingface.co/datasets/openai/gsm8k",
        ),
        ("Code: https://github.com/\tme/repo", "https://github.com/me/repo"),
        ("See https://github.com/ for our code.", None),  # a bare host is not a repository
        # 2203.00274, once the section cutter has turned the line end into a space
        (
            "1Code has been released at https://github. com/google-research/tapas/blob/master/ TABLEFORMER.md",
            "https://github.com/google-research/tapas",
        ),
    ],
)
def test_a_gap_after_the_host_is_closed(text: str, found: str | None) -> None:
    assert find_code_link(meta(text), []) == found
    assert find_code_link(meta(), [Section("", "front", text)]) == found


# 2503.20783's first page: the footnote marker runs into the URL; the footnote repeats it.
R1_ZERO_FRONT = (
    "Understanding R1-Zero-Like Training: A Critical Perspective\n"
    "Code: https://github.com/sail-sg/understand-r1-zero1\n"
    "Abstract follows.\n1https://github.com/sail-sg/understand-r1-zero\n"
)


@pytest.mark.parametrize(
    ("sections", "found"),
    [
        ([Section("", "front", R1_ZERO_FRONT)], "https://github.com/sail-sg/understand-r1-zero"),
        # the unglued form elsewhere in the paper, in a section with no code cue of its own
        (
            [
                Section("", "front", "Code: https://github.com/sail-sg/understand-r1-zero1"),
                Section("5 Conclusion", "conclusion", "See https://github.com/sail-sg/understand-r1-zero"),
            ],
            "https://github.com/sail-sg/understand-r1-zero",
        ),
        # the marker after the sentence's full stop; a two-digit footnote
        (
            [
                Section(
                    "", "front", "Our code is available at https://github.com/me/tool.1\n1https://github.com/me/tool"
                )
            ],
            "https://github.com/me/tool",
        ),
        (
            [
                Section(
                    "",
                    "front",
                    "The data is available at https://github.com/anthropics/hh-rlhf11\n"
                    "11The data is available at https://github.com/anthropics/hh-rlhf",
                )
            ],
            "https://github.com/anthropics/hh-rlhf",
        ),
        # names that end in digits keep them when nothing shows the digits are a marker
        (
            [Section("", "front", "Our code is available at https://github.com/me/llama2\n2 Related work")],
            "https://github.com/me/llama2",
        ),
        (
            [Section("", "front", "Code: https://github.com/me/gpt2\n1https://github.com/me/gpt-neo")],
            "https://github.com/me/gpt2",
        ),
        ([Section("", "front", "Code: https://github.com/QwenLM/Qwen2.5")], "https://github.com/QwenLM/Qwen2.5"),
    ],
)
def test_a_footnote_marker_glued_to_the_url_is_dropped_only_on_evidence(sections, found: str) -> None:
    assert find_code_link(meta(), sections) == found


def test_the_abstract_link_loses_a_glued_marker_the_body_shows() -> None:
    sections = [Section("1 Introduction", "introduction", "Code at https://github.com/sail-sg/understand-r1-zero.")]
    abstract = "Our code is available at https://github.com/sail-sg/understand-r1-zero1."
    assert find_code_link(meta(abstract), sections) == "https://github.com/sail-sg/understand-r1-zero"
    assert find_code_link(meta(abstract), []) == "https://github.com/sail-sg/understand-r1-zero1"  # no evidence


@pytest.mark.parametrize(
    ("text", "found"),
    [
        # 1706.03762 and 2506.13585: the URL ends its sentence at a line or paragraph end
        (
            "The code we used is available at https://github.com/ tensorflow/tensor2tensor.\n\nAcknowledgements We",
            "https://github.com/tensorflow/tensor2tensor",
        ),
        (
            "We publicly release MiniMax-M1 at https://github.com/MiniMax-AI/MiniMax-M1.\nAIME 2024 LiveCodeBench",
            "https://github.com/MiniMax-AI/MiniMax-M1",
        ),
        ("Code: https://github.com/me/my-\nrepo and more", "https://github.com/me/my-repo"),
        ("Code: https://github.com/me/\n\nNext paragraph/here", None),
    ],
)
def test_a_line_end_after_the_url_is_not_joined_into_it(text: str, found: str | None) -> None:
    assert find_code_link(meta(), [Section("7 Conclusion", "conclusion", text)]) == found
