import pytest

from paperdigest.records import Section
from summarizer.budget import fit_budget
from summarizer.tokens import count_tokens, head_tokens


def paper(**sizes: int) -> list[Section]:
    """Sections of the given kinds, each of about `size` tokens of distinct sentences."""

    def text(kind: str, size: int) -> str:
        return head_tokens(" ".join(f"{kind} sentence number {n}." for n in range(size)), size)

    return [Section(f"{i} {kind.title()}", kind, text(kind, size)) for i, (kind, size) in enumerate(sizes.items(), 1)]


def test_whole_body_goes_in_within_budget() -> None:
    sections = paper(abstract=200, introduction=500, method=800, references=3000)
    result = fit_budget(sections, 24000)
    assert [s.kind for s in result.sections] == ["abstract", "introduction", "method"]
    assert result.cuts == [] and result.notes() == []
    assert result.tokens == result.full_tokens


def test_references_and_acknowledgments_never_go_in() -> None:
    sections = paper(introduction=100, acknowledgments=100, references=100)
    assert [s.kind for s in fit_budget(sections, 10**6).sections] == ["introduction"]


def test_appendix_goes_first_when_over_budget() -> None:
    sections = paper(abstract=200, method=2000, results=2000, appendix=3000)
    result = fit_budget(sections, 4500)
    assert "appendix" not in [s.kind for s in result.sections]
    assert [c.kind for c in result.cuts] == ["appendix"] and result.cuts[0].tokens_after == 0
    assert result.tokens <= 4500


def test_low_priority_sections_are_cut_before_core_ones() -> None:
    sections = paper(abstract=200, introduction=1000, related=3000, method=3000, results=2000, conclusion=500)
    result = fit_budget(sections, 8000)
    cut_kinds = {c.kind for c in result.cuts}
    assert cut_kinds == {"related"}
    assert result.tokens <= 8000
    assert all(s.text.endswith("[…]") for s in result.sections if s.kind == "related")


@pytest.mark.parametrize("budget", [300, 1000, 3000, 6000, 9000])
def test_never_over_budget_and_every_cut_recorded(budget: int) -> None:
    sections = paper(
        front=100,
        abstract=200,
        introduction=1000,
        related=1500,
        method=3000,
        experiments=2000,
        results=1500,
        discussion=600,
        conclusion=400,
        appendix=2000,
        references=4000,
    )
    result = fit_budget(sections, budget)
    assert result.tokens <= budget
    sent = {s.title: count_tokens(s.title) + count_tokens(s.text) + 2 for s in result.sections}
    originals = {s.title: count_tokens(s.title) + count_tokens(s.text) + 2 for s in sections if s.kind != "references"}
    for title, size in originals.items():
        if sent.get(title, 0) < size:  # shortened or dropped: must be in the cuts
            assert title in {c.title for c in result.cuts}
    assert len(result.notes()) == len(result.cuts)


def test_notes_are_russian_and_say_how_much() -> None:
    result = fit_budget(paper(abstract=100, related=3000, method=1000), 1500)
    note = result.notes()[0]
    assert "сокращён" in note and "%" in note and "Related" in note


def test_head_tokens_cuts_at_sentence_end() -> None:
    text = "First sentence is here. Second sentence is a bit longer than the first. Third one."
    head = head_tokens(text, 16)
    assert head.endswith(".") and count_tokens(head) <= 16 and text.startswith(head)
    assert head_tokens(text, 1000) == text
    assert head_tokens(text, 0) == ""


def test_appendix_sections_that_fit_are_kept_in_order() -> None:
    sections = paper(method=1000) + [
        Section(f"A.{n} Proof", "appendix", head_tokens(" ".join(f"Appendix {n} line {k}." for k in range(600)), 600))
        for n in range(1, 5)
    ]
    result = fit_budget(sections, 2400)
    kept = [s.title for s in result.sections if s.kind == "appendix"]
    assert kept == ["A.1 Proof", "A.2 Proof"] and all(not s.text.endswith("[…]") for s in result.sections)
    assert [c.title for c in result.cuts] == ["A.3 Proof", "A.4 Proof"]
