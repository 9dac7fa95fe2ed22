"""The watcher's channel posts reach the readers whose subscriptions they match, once each."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.relay import OutboxRelay
from paperdigest import subscriptions as subs
from paperdigest.db import Database, upgrade
from paperdigest.models import WatchCandidate
from tests.fakes.arxiv_days import announcement_at
from tests.support.watch import CHANNEL, THU, llm_judge, relevant, round_at

ALICE, BOB, CAROL = 1001, 1002, 1003


def subscribe(url: str, user_id: int, rule: subs.Rule) -> None:
    db = Database(url)
    with db.session() as session, session.begin():
        subs.add_rule(session, user_id, str(user_id), rule)
    db.close()


async def deliver(settings, bot) -> None:
    db = Database(settings.DATABASE_URL)
    try:
        await OutboxRelay(bot, db, settings).deliver_due()  # subscribers' messages are paced: several passes
    finally:
        db.close()


def shown(fake, chat: int) -> list[str]:
    return [m.rich["html"] if m.rich is not None else m.source or m.text or "" for m in fake.messages_in(chat)]


async def test_the_watchers_posts_reach_matching_subscribers_once(
    watch_settings, fake_arxiv, fake_llm, fake_telegram, telegram_bot
) -> None:
    fake_llm.responder = llm_judge({"Latent Reasoning A": 9, "Latent Reasoning B": 8})
    relevant(fake_arxiv, THU, 500, "Latent Reasoning A")
    relevant(fake_arxiv, THU, 501, "Latent Reasoning B", cats=["cs.LG"])
    settings = watch_settings.replace(BOT_TOKEN=fake_telegram.token, TELEGRAM_API_URL=fake_telegram.url)
    upgrade(settings.DATABASE_URL)
    for reader, rule in ((ALICE, subs.category_rule("cs.LG")), (BOB, subs.keyword_rule("latent reasoning"))):
        fake_telegram.add_chat(reader, type="private")
        subscribe(settings.DATABASE_URL, reader, rule)
    fake_telegram.add_chat(CAROL, type="private")
    subscribe(settings.DATABASE_URL, CAROL, subs.category_rule("cs.CV"))
    moment = announcement_at(THU) + timedelta(hours=1)
    report = await round_at(settings, moment)
    await deliver(settings, telegram_bot)
    again = await round_at(settings, moment + timedelta(minutes=30))  # the next round: nothing new
    await deliver(settings, telegram_bot)
    assert len(report.posted) == 2 and again.posted == [] and len(fake_telegram.messages_in(CHANNEL)) == 2
    [alice] = shown(fake_telegram, ALICE)
    assert "Latent Reasoning B" in alice and "По вашей подписке: cs.LG" in alice
    assert len(fake_telegram.messages_in(BOB)) == 2 and fake_telegram.messages_in(CAROL) == []


async def test_with_no_channel_the_rounds_reviews_still_reach_subscribers_once(
    watch_settings, fake_arxiv, fake_llm, fake_telegram, telegram_bot
) -> None:
    fake_llm.responder = llm_judge({"Latent Reasoning A": 9, "Latent Reasoning B": 8})
    relevant(fake_arxiv, THU, 500, "Latent Reasoning A")
    relevant(fake_arxiv, THU, 501, "Latent Reasoning B", cats=["cs.LG"])
    settings = watch_settings.replace(
        BOT_TOKEN=fake_telegram.token, TELEGRAM_API_URL=fake_telegram.url, CHANNEL_ID=None
    )
    upgrade(settings.DATABASE_URL)
    fake_telegram.add_chat(BOB, type="private")
    subscribe(settings.DATABASE_URL, BOB, subs.keyword_rule("latent reasoning"))
    moment = announcement_at(THU) + timedelta(hours=1)
    await round_at(settings, moment)
    await deliver(settings, telegram_bot)
    await round_at(settings, moment + timedelta(minutes=30))  # the next round: nothing new
    await deliver(settings, telegram_bot)
    got = shown(fake_telegram, BOB)
    assert len(got) == 2 and any("Latent Reasoning A" in t for t in got) and any("Latent Reasoning B" in t for t in got)
    assert fake_telegram.messages_in(CHANNEL) == []
    db = Database(settings.DATABASE_URL)
    with db.read() as session:
        statuses = list(session.scalars(select(WatchCandidate.status)))
    db.close()
    assert statuses.count("announced") == 2
