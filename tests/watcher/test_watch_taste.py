"""The watcher learns the channel's taste: posts readers reacted to more than usual pull
similar candidates up (TF-IDF), reach the LLM's prompt as examples, and /candidates names
the liked post a candidate resembles."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.reactions import store_counts
from paperdigest import outbox, repo
from paperdigest.db import Database
from paperdigest.records import PaperMeta
from paperdigest.settings import Settings
from summarizer.llm import LlmClient, make_openai_client
from summarizer.retry import BackoffPolicy
from tests.fakes.arxiv_days import announcement_at, arxiv_number, submitted_at
from tests.fakes.llm import FakeLLM, message_text
from tests.fakes.plugin import FAKE_LLM_KEY
from tests.fakes.telegram import FakeTelegram
from tests.support import channel
from tests.support.bot import eventually, running, texts_in
from tests.support.watch import ADMIN, CATS, CHANNEL, PDF, THU, round_at
from watcher.choosing import choose
from watcher.ranking import Item, Ranker, Taste, rank_messages, tfidf_scores
from watcher.store import reacted_posts
from watcher.taste import Reacted, liking, taste_of

LIKED = Item("2412.00001", "Speculative decoding with draft models", "A small draft model proposes tokens.")
QUIET = Item("2412.00002", "Protein folding with diffusion", "We fold proteins.")
MILD = Item("2412.00003", "Sparse attention kernels", "Faster attention on long inputs.")
SPECULATIVE = Item(
    "2501.00010",
    "Tree drafts for speculative decoding",
    "Speculative decoding of language models: a draft model proposes a tree of tokens, verified at once.",
)
RETRIEVAL = Item(
    "2501.00011",
    "Retrieval for question answering with language models",
    "Language models answer questions better with retrieved passages; question answering benchmarks.",
)
INTEREST = "language models for question answering"


def posts(*counts: tuple[Item, int]) -> list[Reacted]:
    return [Reacted(item, n) for item, n in counts]


def test_weights_rise_with_reactions_above_the_median_and_stop_there() -> None:
    taste = taste_of(posts((LIKED, 30), (QUIET, 0), (MILD, 3), (Item("x", "Viral", ""), 900), (Item("y", "Y", ""), 3)))
    assert taste.median == 3
    assert [(i.title, w) for i, w in taste.liked] == [("Viral", 4.0), ("Speculative decoding with draft models", 4.0)]
    assert [i.title for i in taste.ignored] == ["Protein folding with diffusion", "Sparse attention kernels", "Y"]
    assert not taste_of(posts((LIKED, 0), (QUIET, 0))) and not taste_of([])  # nobody reacted: no taste


def test_a_liked_post_pulls_a_similar_candidate_up_and_the_reason_names_it() -> None:
    plain = tfidf_scores(INTEREST, [SPECULATIVE, RETRIEVAL])
    assert plain[RETRIEVAL.key].score > plain[SPECULATIVE.key].score  # by WATCH_INTEREST alone
    taste = taste_of(posts((LIKED, 40), (QUIET, 1), (MILD, 2)))
    scored = tfidf_scores(INTEREST, [SPECULATIVE, RETRIEVAL], taste)
    assert scored[SPECULATIVE.key].score > scored[RETRIEVAL.key].score
    assert scored[SPECULATIVE.key].explained.endswith(
        "похожа на понравившуюся: «Speculative decoding with draft models»"
    )
    assert scored[RETRIEVAL.key].liked == "" and "понравившуюся" not in scored[RETRIEVAL.key].explained


def test_ignored_posts_pull_nothing() -> None:
    ignored_only = Taste(ignored=(SPECULATIVE, LIKED))
    assert tfidf_scores(INTEREST, [SPECULATIVE, RETRIEVAL], ignored_only) == tfidf_scores(
        INTEREST, [SPECULATIVE, RETRIEVAL]
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_on_a_simulated_channel_the_liked_topic_fills_more_of_the_top_five(seed: int) -> None:
    papers = channel.announcement(seed, 40)
    topic = {p.item.key: p.topic for p in papers}
    reacted = [r for r, _ in channel.past_posts(seed, 120)]

    def on_topic(taste: Taste | None) -> int:
        scores = tfidf_scores(channel.INTEREST, [p.item for p in papers], taste)
        return sum(topic[k] == channel.FAVOURITE for k in choose(((k, s.score) for k, s in scores.items()), 5))

    without, with_reactions = on_topic(None), on_topic(taste_of(reacted))
    assert with_reactions >= 4 and with_reactions > without


def test_the_llm_prompt_shows_a_few_liked_and_ignored_titles_in_a_fixed_order() -> None:
    many = [(Item(f"2412.{n:05d}", f"Liked paper {n}", ""), 50 + n) for n in range(6)]
    taste = taste_of(posts(*many, (QUIET, 0), (MILD, 1), (Item("z", "Z" * 300, ""), 0), (LIKED, 1)))
    [message] = rank_messages(INTEREST, [SPECULATIVE], taste)
    text = message["content"]
    liked_block = text.split("больше обычного, например:\n")[1].split("И почти не отметили:\n")
    assert liked_block[0].splitlines() == ["- Liked paper 5", "- Liked paper 4", "- Liked paper 3"]
    ignored = liked_block[1].split("\n\n")[0].splitlines()
    assert ignored[0] == "- Protein folding with diffusion" and ignored[1].startswith("- ZZZ") and len(ignored) == 3
    assert len(ignored[1]) < 130  # titles cut short
    shuffled = taste_of(list(reversed(posts(*many, (QUIET, 0), (MILD, 1), (Item("z", "Z" * 300, ""), 0), (LIKED, 1)))))
    assert rank_messages(INTEREST, [SPECULATIVE], shuffled) == [message]  # the same prompt, whatever the order
    assert "реакциями" not in rank_messages(INTEREST, [SPECULATIVE])[0]["content"]


async def test_the_llm_ranker_sees_the_examples_and_keeps_the_liked_post_in_its_reason(
    settings: Settings, fake_llm: FakeLLM
) -> None:
    fake_llm.responder = lambda request: json.dumps({"scores": [{"id": 1, "score": 8, "reason": "про ускорение"}]})
    client = make_openai_client(fake_llm.base_url, FAKE_LLM_KEY, 5.0)
    llm = LlmClient(client, "gpt-4o-mini", temperature=0.0, policy=BackoffPolicy(attempts=2, min_delay=0.01))
    taste = taste_of(posts((LIKED, 40), (QUIET, 0), (MILD, 1)))
    scores = await Ranker(INTEREST, llm).rank([SPECULATIVE], taste)
    assert "- Speculative decoding with draft models" in message_text(fake_llm.requests[0].body["messages"][-1])
    assert scores[SPECULATIVE.key].explained == (
        "про ускорение · похожа на понравившуюся: «Speculative decoding with draft models»"
    )


def past_post(
    db: Database,
    item: Item,
    message_id: int,
    reactions: dict[str, int],
    days_ago: float,
    more: dict[int, dict[str, int]] | None = None,
) -> None:
    """A channel post of the paper sent `days_ago` before the announcement, with its readers'
    reactions stored as the bot stores them (`more`: the other messages of a classic post)."""
    sent = announcement_at(THU) - timedelta(days=days_ago)
    parts = {message_id: reactions, **(more or {})}
    with db.session() as session, session.begin():
        repo.upsert_paper(session, PaperMeta(item.key, 1, item.title, ["A. Author"], item.abstract))
        outbox.enqueue(
            session,
            kind="channel",
            chat_id=str(CHANNEL),
            arxiv_id=item.key,
            version=1,
            status="sent",
            message_ids=list(parts),
            sent_at=sent,
        )
        for part, counts in parts.items():
            if counts:
                assert store_counts(session, str(CHANNEL), CHANNEL, part, counts, sent + timedelta(hours=5))


@pytest.mark.parametrize(
    "counts, expected",
    [
        ({"👍": 5, "🔥": 2}, 7),
        ({"👍": 2, "👎": 3}, 0),
        ({"❤": 10, "💩": 2}, 8),
        ({}, 0),
        ({"custom:9": 1, "paid": 4}, 5),
    ],
)
def test_reactions_against_a_post_count_against_it(counts: dict[str, int], expected: int) -> None:
    assert liking(counts) == expected


def test_the_taste_reads_the_channel_posts_old_enough_with_their_reactions(database_url: str) -> None:
    db = Database(database_url)
    past_post(db, LIKED, 501, {"👍": 30}, days_ago=3, more={502: {"🔥": 4}})  # a classic post of two messages
    past_post(db, QUIET, 503, {"👎": 9, "👍": 1}, days_ago=2)
    past_post(db, MILD, 504, {}, days_ago=4)
    past_post(db, Item("2412.00009", "Yesterday's post", "Too new to judge."), 505, {"👍": 50}, days_ago=0.5)
    with db.read() as session:
        found = reacted_posts(session, str(CHANNEL), announcement_at(THU))
        other_channel = reacted_posts(session, "@another", announcement_at(THU))
    assert [(r.item.title, r.reactions) for r in found] == [
        ("Protein folding with diffusion", 0),
        ("Speculative decoding with draft models", 34),
        ("Sparse attention kernels", 0),
    ]  # newest first; the one posted half a day ago is left out
    assert other_channel == []
    with db.session() as session, session.begin():  # a late report of older counts changes nothing
        assert not store_counts(
            session, str(CHANNEL), CHANNEL, 501, {"👎": 99}, announcement_at(THU) - timedelta(days=3)
        )
    with db.read() as session:
        assert reacted_posts(session, str(CHANNEL), announcement_at(THU))[1].reactions == 34
    db.close()


async def test_candidates_names_the_liked_post_a_candidate_resembles(
    settings: Settings, fake_arxiv, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.add_chat(CHANNEL, type="channel", title="Digest")
    for number, item in ((10, SPECULATIVE), (11, RETRIEVAL)):
        fake_arxiv.add_paper(
            arxiv_number(THU, number),
            title=item.title,
            authors=["Ada Reasoner"],
            categories=["cs.CL"],
            abstract=item.abstract,
            published=submitted_at(THU, 0.5),
            versions={1: PDF},
        )
    watch = settings.replace(
        WATCH_CATEGORIES=CATS,
        WATCH_INTEREST=INTEREST,
        WATCH_MAX_PER_DAY=1,
        CHANNEL_ID=str(CHANNEL),
        ADMIN_IDS=[ADMIN],
        BOT_TOKEN=fake_telegram.token,
        TELEGRAM_API_URL=fake_telegram.url,
        TELEGRAM_TIMEOUT_S=3.0,
    )
    db = Database(watch.DATABASE_URL)
    past_post(db, LIKED, 501, {"👍": 30, "🔥": 12}, days_ago=3)
    past_post(db, QUIET, 502, {"👍": 1}, days_ago=2)
    past_post(db, MILD, 503, {}, days_ago=4)
    past_post(db, Item("2412.00009", "Yesterday's post", "Too new to judge."), 504, {}, days_ago=0.5)
    db.close()
    await round_at(watch, announcement_at(THU) + timedelta(hours=1))
    async with running(watch):
        fake_telegram.push_message(ADMIN, ADMIN, "/candidates")
        await eventually(lambda: texts_in(fake_telegram, ADMIN))
    [listing] = texts_in(fake_telegram, ADMIN)
    lines = listing.splitlines()
    # now, days after the round, yesterday's post is old enough to count too
    assert lines[1].startswith("Реакции читателей: понравились 1 из 4 постов канала (реакций больше медианы, 0.5)")
    assert lines[2].startswith(f"1. {arxiv_number(THU, 10)} · ") and "Tree drafts for speculative decoding" in lines[2]
    assert lines[3].strip().endswith("похожа на понравившуюся: «Speculative decoding with draft models»")
    assert lines[4].startswith(f"2. {arxiv_number(THU, 11)} · ") and "понравившуюся" not in lines[5]
