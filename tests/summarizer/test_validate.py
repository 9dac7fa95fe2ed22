import pytest

from summarizer.evidence import Evidence
from summarizer.review_format import SECTION_TITLES, ReviewBody, parse_body
from summarizer.validate import (
    LINK_REMOVED,
    check_links,
    check_russian,
    cyrillic_share,
    find_links,
    strip_foreign_links,
    validate_review,
)
from summarizer.validate import check_numbers as check_against_evidence

PAPER = (
    "Coconut reaches 97.0% accuracy on ProsQA with 14.2 tokens, CoT 77.5% with 49.4 tokens. "
    "AutoScholarQuery includes 33,511 queries. Accuracy 0.945 on 7x7. GPT-2 has 124M parameters. "
    "It is 11 times faster. Learning rate 1e-4. Published 2024."
)
CODE = "https://github.com/facebookresearch/coconut"
EVIDENCE = Evidence.from_text(PAPER)


def check_numbers(review: str, paper: str) -> list[str]:
    return check_against_evidence(review, Evidence.from_text(paper))[0]


def body(text: str = "Это русский текст раздела о статье.") -> ReviewBody:
    return ReviewBody("Коротко: статья о латентных рассуждениях.", {t: text for t in SECTION_TITLES})


def test_good_review_passes() -> None:
    result = validate_review(
        body("Coconut достигает 97.0% на ProsQA при 14.2 токенах против 77.5% у CoT."),
        evidence=EVIDENCE,
        code_url=CODE,
        finish_reason="stop",
    )
    assert result.passed, result.problems


@pytest.mark.parametrize(
    "quoted",
    [
        "97.0%",
        "97,0 %",
        "97%",
        "14.2",
        "33,511",
        "33 511",
        "33\u00a0511",
        "94.5%",
        "0.945",
        "124M",
        "2024",
        "1e-4",
        "3 модели",
        "в 11 раз",
    ],
)
def test_numbers_from_the_paper_pass(quoted: str) -> None:
    assert check_numbers(f"Результат: {quoted}.", PAPER) == []


@pytest.mark.parametrize("invented", ["98.3%", "12.5", "33,512", "0.96", "77.6", "1000", "42"])
def test_invented_numbers_fail(invented: str) -> None:
    problems = check_numbers(f"Результат: {invented} в среднем.", PAPER)
    assert problems and invented.split("%")[0] in problems[0]


def test_indices_and_ids_are_not_checked_but_numbers_in_formulas_are() -> None:
    assert check_numbers("Формула $x_{123} = 14.2$ и статья 2412.06769v2.", PAPER) == []
    assert "4567" in " ".join(check_numbers("Формула $x_{123} = 4567$.", PAPER))


@pytest.mark.parametrize(
    ("link", "ok"),
    [
        ("https://arxiv.org/abs/2412.06769", True),
        ("https://" + "export." + "arxiv.org/abs/2412.06769", True),  # parsed only, never contacted
        ("https://doi.org/10.1000/xyz", True),
        (CODE, True),
        (CODE + "/blob/main/README.md", True),
        ("https://github.com/someone-else/coconut", False),
        ("https://evil.example.com/phish", False),
        ("www.example.com", False),
        ("bit.ly/abc", False),
        ("https://arxiv.org.evil.com/abs/1", False),
        ("[текст](https://t.me/joinchat/xyz)", False),
    ],
)
def test_links(link: str, ok: bool) -> None:
    problems = check_links(f"См. {link} для деталей.", CODE)
    assert (problems == []) is ok


def test_russian_share_ignores_formulas_and_links() -> None:
    assert cyrillic_share("Модель $\\mathrm{softmax}(QK^T)$ см. https://arxiv.org/abs/1") > 0.9
    assert check_russian("This review is written in English, which is wrong.")
    assert check_russian("Это рецензия с терминами CoT и BFS, написанная по-русски.") == []


def test_missing_sections_and_length_cutoff_reported() -> None:
    partial = ReviewBody("", {"Суть": "Текст."})
    problems = validate_review(partial, evidence=EVIDENCE, code_url=None, finish_reason="length").problems
    text = " ".join(problems)
    assert "finish_reason=length" in text and "TL;DR" in text and "Ограничения" in text


def test_parse_body_accepts_llm_variations() -> None:
    markdown = """TL;DR: Статья про латентные мысли.

## 1. Суть:
Суть текста.

### **Метод**
Метод текста.
#### Детали обучения
Подробности.

## Эксперименты и результаты
Числа.
## Ограничения
Минусы.
## Почему это важно / мнение
Мнение."""
    parsed = parse_body(markdown.replace("## 1. Суть:", "## Суть:"))
    assert parsed.tldr == "Статья про латентные мысли."
    assert parsed.missing_sections() == []
    assert "Подробности" in parsed.sections["Метод"]
    assert parsed.sections["Почему это важно"] == "Мнение."


@pytest.mark.parametrize(
    ("text", "kept", "removed"),
    [
        ("См. https://evil.example/x и https://arxiv.org/abs/1.", "https://arxiv.org/abs/1", "evil.example"),
        ("[код](https://github.com/facebookresearch/coconut) и [тут](https://t.me/spam)", CODE, "t.me"),
        ("Заходите на bit.ly/abc!", "Заходите", "bit.ly"),
        ("Ссылка www.example.com/path", "Ссылка", "example.com"),
    ],
)
def test_foreign_links_are_removed_before_publishing(text: str, kept: str, removed: str) -> None:
    cleaned = strip_foreign_links(text, CODE)
    assert kept in cleaned and removed not in cleaned and LINK_REMOVED in cleaned
    assert check_links(cleaned, CODE) == []


@pytest.mark.parametrize(
    "prose",
    [
        "модуль torch.nn и np.array",
        "см. рис. 3, т.е. вывод",
        "e.g. the model",
        "версия 2.0.1",
        "файл model.pt",
        "arXiv:2412.06769v2",
    ],
)
def test_prose_that_only_looks_dotted_is_not_a_link(prose: str) -> None:
    assert find_links(prose) == [] and strip_foreign_links(prose, None) == prose
