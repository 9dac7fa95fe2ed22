"""Ranking: TF-IDF offline, the LLM's JSON read defensively, and a failing LLM falling back."""

from __future__ import annotations

import json

import pytest

from paperdigest.settings import Settings
from summarizer.llm import LlmClient, make_openai_client
from summarizer.retry import BackoffPolicy
from tests.fakes.llm import FakeLLM, message_text
from tests.fakes.plugin import FAKE_LLM_KEY
from watcher.ranking import Item, Ranker, Score, parse_scores, rank_messages, terms, tfidf_scores

ITEMS = [
    Item(
        "2501.00001",
        "Continuous latent reasoning for language models",
        "Language models reason in a latent space instead of a chain of thought.",
    ),
    Item("2501.00002", "Glacier melt under warming", "We measure glacier melt with satellites."),
    Item("2501.00003", "Chain of thought prompting revisited", "Reasoning steps in text help language models."),
]
INTEREST = "latent reasoning in language models, chain of thought"


def test_terms_fold_plurals_and_drop_stopwords() -> None:
    assert terms("The Transformers and their losses, 42 networks") == ["transformer", "losse", "network"]


def test_tfidf_ranks_on_topic_papers_first_with_a_reason() -> None:
    scores = tfidf_scores(INTEREST, ITEMS)
    assert scores["2501.00001"].score > scores["2501.00003"].score > scores["2501.00002"].score == 0
    assert scores["2501.00001"].reason.startswith("близко к интересам: ") and "latent" in scores["2501.00001"].reason
    assert scores["2501.00002"].ranker == "tfidf" and all(0 <= s.score <= 10 for s in scores.values())


def test_tfidf_without_interest_scores_zero() -> None:
    assert {s.score for s in tfidf_scores("", ITEMS).values()} == {0.0}


def test_rank_prompt_numbers_items_and_cuts_long_abstracts() -> None:
    long = Item("2501.00009", "Long  one", "word " * 1000)
    [message] = rank_messages(INTEREST, [*ITEMS, long])
    text = message["content"]
    assert INTEREST in text and "[1] Continuous latent reasoning" in text and "[4] Long one" in text
    assert '{"scores": [{"id": 1, "score": 7, "reason": "..."}]}' in text and len(text) < 4000


@pytest.mark.parametrize(
    "answer, expected",
    [
        (
            '{"scores": [{"id": 1, "score": 9, "reason": "в точку"}, {"id": 2, "score": 0, "reason": "мимо"}]}',
            {"2501.00001": (9, "в точку"), "2501.00002": (0, "мимо")},
        ),
        (
            'Вот оценки:\n```json\n[{"id": "3", "score": "7.5", "reason": "про CoT"}]\n```\nГотово.',
            {"2501.00003": (7.5, "про CoT")},
        ),
        ('{"1": 12, "2": {"score": -3, "reason": "нет"}}', {"2501.00001": (10, ""), "2501.00002": (0, "нет")}),
        ('{"papers": [{"arxiv_id": "2501.00002v1", "relevance": 4}]}', {"2501.00002": (4, "")}),
        (
            '{"scores": [{"id": 1, "score": 8, "reason": "да"}, {"id": 2, "score": 3, "rea',
            {"2501.00001": (8, "да"), "2501.00002": (3, "")},
        ),
        (
            '{"scores": [{"id": 7, "score": 8}, {"id": 1, "score": "high"}, {"id": 2, "score": 5}, {"id": 2, "score": 9}]}',
            {"2501.00002": (5, "")},
        ),  # unknown ids, unreadable scores and repeats are ignored
        ("Не могу оценить эти статьи.", {}),
    ],
)
def test_parse_scores_defensively(answer, expected) -> None:
    found = parse_scores(answer, ITEMS, "llm:test")
    assert {key: (s.score, s.reason) for key, s in found.items()} == expected


@pytest.fixture
def llm(settings: Settings, fake_llm: FakeLLM):
    def build():
        client = make_openai_client(fake_llm.base_url, FAKE_LLM_KEY, 5.0)
        return LlmClient(client, "gpt-4o-mini", temperature=0.0, policy=BackoffPolicy(attempts=2, min_delay=0.01))

    return build


async def test_llm_ranks_in_batches_and_tfidf_fills_the_gaps(llm, fake_llm: FakeLLM) -> None:
    def respond(request: dict) -> str:
        text = message_text(request["messages"][-1])
        return json.dumps({"scores": [{"id": 1, "score": 6, "reason": "по теме"}]}) if "[2]" in text else "{}"

    fake_llm.responder = respond
    used = []
    scores = await Ranker(INTEREST, llm(), batch=2, on_usage=used.append).rank(ITEMS)
    assert len(fake_llm.requests) == 2 and len(used) == 2 and used[0].prompt_tokens > 0
    assert scores["2501.00001"] == Score(6, "по теме", "llm:gpt-4o-mini")
    assert scores["2501.00002"].ranker == "tfidf" and scores["2501.00002"].reason.startswith("LLM не оценила")
    assert scores["2501.00003"].ranker == "tfidf"


async def test_a_failing_llm_leaves_tfidf_scores(llm, fake_llm: FakeLLM) -> None:
    fake_llm.fail_next("quota")
    scores = await Ranker(INTEREST, llm(), batch=10).rank(ITEMS)
    assert {s.ranker for s in scores.values()} == {"tfidf"}
    assert scores["2501.00001"].score > scores["2501.00002"].score


async def test_no_interest_means_no_llm_call(llm, fake_llm: FakeLLM) -> None:
    scores = await Ranker("", llm()).rank(ITEMS)
    assert fake_llm.requests == [] and len(scores) == 3
