import pytest

from summarizer.codelinks import find_code_link
from summarizer.paper import PaperMeta, Section


def meta(abstract: str = "", comment: str = "") -> PaperMeta:
    return PaperMeta("2412.06769", 1, "T", ["A"], abstract, comment=comment)


@pytest.mark.parametrize(("abstract", "found"), [
    ("Code is available at https://github.com/facebookresearch/coconut.", "https://github.com/facebookresearch/coconut"),
    ("See github.com/da03/Internalize_CoT_Step_by_Step", "https://github.com/da03/Internalize_CoT_Step_by_Step"),
    ("Released at https://gitlab.com/group/project.git)", "https://gitlab.com/group/project"),
    ("Models: https://huggingface.co/meta-llama/Llama-3-8B", "https://huggingface.co/meta-llama/Llama-3-8B"),
    ("Data: https://huggingface.co/datasets/openai/gsm8k", "https://huggingface.co/datasets/openai/gsm8k"),
    ("We thank https://github.com/about for nothing.", None),
    ("No links at all.", None),
])
def test_abstract_links(abstract: str, found: str | None) -> None:
    assert find_code_link(meta(abstract), []) == found


def test_comment_wins_and_references_are_ignored() -> None:
    sections = [Section("References", "references", "[1] Our code is at https://github.com/other/tool")]
    assert find_code_link(meta(comment="Code: https://github.com/me/repo"), sections) == "https://github.com/me/repo"
    assert find_code_link(meta(), sections) is None


def test_body_link_needs_a_code_cue_and_survives_line_breaks() -> None:
    sections = [
        Section("1 Introduction", "introduction", "We build on https://github.com/huggingface/transformers."),
        Section("2 Method", "method", "Our implementation is available at https://github.com/\nfacebookresearch/coconut."),
    ]
    assert find_code_link(meta(), sections) == "https://github.com/facebookresearch/coconut"
