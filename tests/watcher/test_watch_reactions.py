"""From readers' reactions to the next watcher round, end to end: the watcher posts Thursday's
papers, the real bot relays them to the fake Bot API and stores the `message_reaction_count`
updates readers' reactions bring, and Sunday's round ranks a candidate like the liked post
higher — by TF-IDF, and with the LLM, which sees the liked titles in its prompt — while
/candidates tells the admin why."""

from __future__ import annotations

from datetime import timedelta

import pytest

from paperdigest.settings import Settings
from tests.fakes.arxiv_days import announcement_at, arxiv_number
from tests.fakes.llm import FakeLLM, message_text
from tests.fakes.telegram import FakeTelegram
from tests.support.bot import eventually, react, running, texts_in
from tests.support.watch import (
    ADMIN,
    SUN,
    THU,
    channel_posts,
    llm_judge,
    posts_sent_at,
    relevant,
    round_at,
)

INTEREST = "language models for question answering"
THURSDAY = {  # posted on Thursday; readers react to the first
    "Speculative decoding with draft models": "A small draft model proposes tokens for language models.",
    "Protein folding with diffusion language models": "We fold proteins with a diffusion language model.",
    "Sparse attention kernels for language models": "Faster attention on long inputs of language models.",
}
LIKED, QUIET, MILD = THURSDAY
SPECULATIVE = "Tree drafts for speculative decoding"
RETRIEVAL = "Retrieval for question answering with language models"
SUNDAY = {  # by WATCH_INTEREST alone, retrieval is the better match
    SPECULATIVE: "Speculative decoding of language models: a draft model proposes a tree of tokens, verified at once.",
    RETRIEVAL: "Language models answer questions better with retrieved passages; question answering benchmarks.",
}
READERS = {LIKED: {"👍": 30, "🔥": 12}, QUIET: {"👍": 1}}  # the third post: no reaction


def watching(watch_settings: Settings, fake_telegram: FakeTelegram, *, llm: bool) -> Settings:
    """The simulated week's watcher, whose bot talks to the fake Bot API; without the LLM,
    TF-IDF ranks and the offline reviewer writes."""
    watch = watch_settings.replace(
        WATCH_INTEREST=INTEREST, BOT_TOKEN=fake_telegram.token, TELEGRAM_API_URL=fake_telegram.url
    )
    return watch if llm else watch.replace(OPENAI_BASE_URL=None, OPENAI_API_KEY=None)


def the_bot(settings: Settings) -> Settings:
    """The bot that relays the posts and hears the reactions; the rounds run on the simulated
    clock in the test, not on the wall clock beside the bot."""
    return settings.replace(WATCH_CATEGORIES=[])


async def thursday_with_reactions(settings: Settings, fake_arxiv, fake_telegram: FakeTelegram, reacted: bool) -> None:
    """Thursday's three posts go out through the bot; readers react to them (or not) on Friday."""
    for number, (title, abstract) in enumerate(THURSDAY.items(), 10):
        relevant(fake_arxiv, THU, number, title, abstract=abstract)
    await round_at(settings, announcement_at(THU) + timedelta(hours=1))
    async with running(the_bot(settings)):
        posts = await eventually(lambda: len(channel_posts(fake_telegram)) == 3 and channel_posts(fake_telegram))
        if reacted:
            await react(fake_telegram, settings, {posts[title]: counts for title, counts in READERS.items()})
    posts_sent_at(settings, announcement_at(THU) + timedelta(hours=1))


async def sunday_round(settings: Settings, fake_arxiv) -> None:
    for number, (title, abstract) in enumerate(SUNDAY.items(), 20):
        relevant(fake_arxiv, SUN, number, title, abstract=abstract)
    await round_at(settings.replace(WATCH_MAX_PER_DAY=1), announcement_at(SUN) + timedelta(hours=1))


@pytest.mark.parametrize("reacted", [True, False])
async def test_a_candidate_like_the_post_readers_liked_is_posted_next(
    watch_settings: Settings, fake_arxiv, fake_telegram: FakeTelegram, reacted: bool
) -> None:
    watch = watching(watch_settings, fake_telegram, llm=False)
    await thursday_with_reactions(watch, fake_arxiv, fake_telegram, reacted)
    await sunday_round(watch, fake_arxiv)
    async with running(the_bot(watch)):
        await eventually(lambda: len(channel_posts(fake_telegram)) == 4)
        fake_telegram.push_message(ADMIN, ADMIN, "/candidates")
        await eventually(lambda: texts_in(fake_telegram, ADMIN))
    first, second = (SPECULATIVE, RETRIEVAL) if reacted else (RETRIEVAL, SPECULATIVE)
    assert list(channel_posts(fake_telegram))[3] == first  # Sunday's one post
    [listing] = texts_in(fake_telegram, ADMIN)
    lines = listing.splitlines()
    ids = {SPECULATIVE: arxiv_number(SUN, 20), RETRIEVAL: arxiv_number(SUN, 21)}
    assert lines[2].startswith(f"1. {ids[first]} · ") and lines[4].startswith(f"2. {ids[second]} · ")
    liked_reason = f"похожа на понравившуюся: «{LIKED}»"
    assert lines[3 if reacted else 5].strip().endswith(liked_reason) is reacted
    assert "понравившуюся" not in lines[5 if reacted else 3]
    assert ("понравились 1 из 3 постов канала" in lines[1]) is reacted


async def test_the_llm_ranker_is_shown_the_titles_readers_liked_and_ignored(
    watch_settings: Settings, fake_arxiv, fake_llm: FakeLLM, fake_telegram: FakeTelegram
) -> None:
    fake_llm.responder = llm_judge({LIKED: 9, QUIET: 8, MILD: 7, SPECULATIVE: 6, RETRIEVAL: 5})
    watch = watching(watch_settings, fake_telegram, llm=True)
    await thursday_with_reactions(watch, fake_arxiv, fake_telegram, reacted=True)
    fake_llm.clear_requests()
    await sunday_round(watch, fake_arxiv)
    [prompt] = [p for r in fake_llm.requests if "Интересы канала" in (p := message_text(r.body["messages"][-1]))]
    assert (
        f"отметили реакциями больше обычного, например:\n- {LIKED}\n"
        f"И почти не отметили:\n- {MILD}\n- {QUIET}\n\n"  # fewest reactions first
    ) in prompt
