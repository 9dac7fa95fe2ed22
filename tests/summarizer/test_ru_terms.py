"""A Russian question finds the English passage that answers it: the glossary's words."""

from __future__ import annotations

import pytest

from paperdigest.records import Section
from summarizer.passages import find_passages
from summarizer.ru_terms import english_terms

SECTIONS = [
    Section("1 Introduction", "body", "We study latent reasoning. Chain of thought is costly to decode."),
    Section("3.1 Training", "body", "We train for 3 epochs with the Adam optimizer on 8 GPUs, which takes 2 days."),
    Section("5 Limitations", "body", "Our method is limited to synthetic tasks; real tasks are future work."),
    Section("4 Results", "body", "Coconut reaches 34.1% accuracy on GSM8k, below CoT."),
]


@pytest.mark.parametrize(
    "question, terms",
    [
        ("Какой оптимизатор использовали при обучении?", {"optimizer", "training"}),
        ("Сколько видеокарт понадобилось?", {"gpus"}),
        ("Какие ограничения у метода?", {"limitations", "method"}),
        ("Какая ТОЧНОСТЬ?", {"accuracy"}),  # any case
        ("Сколько часов?", {"hours"}),
    ],
)
def test_russian_words_give_the_field_s_english_ones(question: str, terms: set[str]) -> None:
    assert terms <= set(english_terms(question))


def test_a_word_is_looked_up_by_its_start_not_by_any_shared_letters() -> None:
    assert "hours" not in english_terms("Какая часть статьи главная?")  # «часть» is not «часов»
    assert "layers" in english_terms("Сколько слоёв?")  # ё is read as е


@pytest.mark.parametrize("question", ["Что и как?", "GSM8k"])
def test_words_the_glossary_does_not_know_give_nothing(question: str) -> None:
    assert english_terms(question) == []


@pytest.mark.parametrize(
    "question, section",
    [
        ("Какой оптимизатор использовали и сколько видеокарт понадобилось?", "3.1 Training"),
        ("А что с ограничениями?", "5 Limitations"),
        ("Какая точность получилась?", "4 Results"),
    ],
)
def test_a_russian_question_with_no_english_word_finds_its_passage(question: str, section: str) -> None:
    assert find_passages(SECTIONS, question)[0].section == section
