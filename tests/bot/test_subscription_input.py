"""What a reader writes after /subscribe, /unsubscribe and /digest, read as a rule or a mode (pure)."""

from __future__ import annotations

import pytest

from bot.handlers.subscriptions import parse_digest
from bot.subscription_input import BadRule, parse_rule, rule_to_add


@pytest.mark.parametrize(
    "text, kind, value, label",
    [
        ("cs.CL", "category", "cs.cl", "cs.CL"),
        ("stat.ML", "category", "stat.ml", "stat.ML"),
        ("hep-th", "category", "hep-th", "hep-th"),
        ("cond-mat.str-el", "category", "cond-mat.str-el", "cond-mat.str-el"),
        ("категория: astro-ph.CO", "category", "astro-ph.co", "astro-ph.CO"),
        ("автор: Yuntian Deng", "author", "yuntian deng", "Yuntian Deng"),
        ("Author:  Yuntian  Déng ", "author", "yuntian deng", "Yuntian Déng"),
        ("latent reasoning", "keyword", "latent reasoning", "latent reasoning"),
        ("Chain-of-Thought", "keyword", "chain of thought", "Chain-of-Thought"),
        ("llama.cpp", "keyword", "llama cpp", "llama.cpp"),  # shaped like a category, but no arXiv archive
        ("трансформеры", "keyword", "трансформеры", "трансформеры"),  # /unsubscribe finds an old one
        ("Large Language Models", "keyword", "large language model", "Large Language Models"),
        ("LLMs", "keyword", "llm", "LLMs"),
    ],
)
def test_a_rule_is_read_and_normalised(text: str, kind: str, value: str, label: str) -> None:
    rule = parse_rule(text)
    assert (rule.kind, rule.value, rule.label) == (kind, value, label)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", "Чтобы подписаться"),
        ("автор:", "имя и фамилию"),
        ("автор: Deng", "имя и фамилию"),
        ("категория: cats.dogs", "не похоже на категорию"),
        ("ab", "слишком короткое"),
        ("!!!", "нет ни одного слова"),
        ("one two three four five six seven", "можно до 6"),
        ("x" * 120, "Слишком длинно (120 символов"),
    ],
)
def test_a_useless_rule_is_refused_saying_why(text: str, expected: str) -> None:
    with pytest.raises(BadRule) as refused:
        parse_rule(text)
    assert expected in refused.value.user_message


@pytest.mark.parametrize(
    "text, added",
    [("трансформеры", False), ("Трансформер Vaswani", True), ("GPT-4 и LLaMA", True), ("1000", True)],
)
def test_subscribe_refuses_a_phrase_in_russian_alone(text: str, added: bool) -> None:
    if added:
        assert rule_to_add(text) == parse_rule(text)
        return
    with pytest.raises(BadRule) as refused:
        rule_to_add(text)
    assert "по-английски" in refused.value.user_message and "«трансформеры»" in refused.value.user_message


@pytest.mark.parametrize(
    "text, expected",
    [
        ("instant", ("instant", None)),
        ("daily", ("daily", None)),
        ("daily 8:05", ("daily", 8 * 60 + 5)),
        ("ежедневно 23.59", ("daily", 23 * 60 + 59)),
        ("OFF", ("off", None)),
    ],
)
def test_a_digest_mode_is_read(text: str, expected: tuple[str, int | None]) -> None:
    assert parse_digest(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [("", "/digest daily 20:30"), ("weekly", "Не понимаю"), ("daily 24:00", "не время"), ("instant 10:00", "не время")],
)
def test_a_bad_digest_mode_is_refused_saying_why(text: str, expected: str) -> None:
    with pytest.raises(BadRule) as refused:
        parse_digest(text)
    assert expected in refused.value.user_message
