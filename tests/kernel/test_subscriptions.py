"""Matching a new paper to readers' rules, and the fan-out of its review: once per reader and
paper version, never a failed review. On SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, select, text

from paperdigest import fanout, outbox
from paperdigest import subscriptions as subs
from paperdigest.db import Database, alembic_config, normalize_url, upgrade
from paperdigest.models import OutboxMessage, Paper, Review, SubscriptionDelivery
from tests.support.reviews import stored_review

ARXIV_ID = "2412.06769"


@pytest.fixture
def db(database_url: str):
    upgrade(database_url)
    database = Database(database_url)
    with database.session() as session, session.begin():
        session.add(
            Paper(
                arxiv_id=ARXIV_ID,
                title="Training Large Language Models to Reason in a Continuous Latent Space",
                authors=["Shibo Hao", "Yuntian Déng", "Yuandong Tian"],
                abstract="We study latent reasoning: thoughts as hidden states, not tokens.",
                categories=["cs.CL", "cs.AI"],
                primary_category="cs.CL",
            )
        )
    yield database
    database.close()


def review(session, *, validation: str = "passed", version: int = 1, moderation: str | None = None) -> Review:
    return stored_review(
        session, ARXIV_ID, version=version, markdown="# T", validation=validation, moderation=moderation
    )


def subscribe(session, user_id: int, *rules: subs.Rule, mode: str = subs.INSTANT) -> None:
    for rule in rules:
        subs.add_rule(session, user_id, str(user_id), rule)
    subs.subscriber(session, user_id).mode = mode


@pytest.mark.parametrize(
    "rule, matches",
    [
        (subs.category_rule("cs.CL"), True),
        (subs.category_rule("CS.ai"), True),
        (subs.category_rule("stat.ML"), False),
        (subs.author_rule("yuntian deng"), True),  # case and accents folded
        (subs.author_rule("Yuntian"), False),  # the whole name, not a part
        (subs.keyword_rule("Latent Reasoning"), True),
        (subs.keyword_rule("continuous latent space"), True),  # from the title
        (subs.keyword_rule("reasoning latent"), False),  # the phrase, in its order
        (subs.keyword_rule("thought"), True),  # "thoughts": plurals are folded
        (subs.keyword_rule("large language model"), True),  # "Large Language Models"
        (subs.keyword_rule("hidden state"), True),
        (subs.keyword_rule("reason"), True),  # the title's own word
        (subs.keyword_rule("continuity"), False),  # no stemming beyond plurals: "continuous"
    ],
)
def test_a_rule_matches_the_paper_or_not(db: Database, rule: subs.Rule, matches: bool) -> None:
    with db.session() as session, session.begin():
        subscribe(session, 7, rule)
        found = subs.matching_users(session, session.get(Paper, ARXIV_ID))
    assert [(m.user_id, m.reason) for m in found] == ([(7, rule.label)] if matches else [])


@pytest.mark.parametrize(
    "plural, singular",
    [
        ("models", "model"),
        ("LLMs", "llm"),
        ("queries", "query"),
        ("approaches", "approach"),
        ("classes", "class"),
        ("features", "feature"),
        ("corpus", "corpus"),
        ("loss", "loss"),
        ("analysis", "analysis"),
        ("gpt4", "gpt4"),
        ("gas", "gas"),
        ("модели", "модели"),  # Latin words only
    ],
)
def test_keywords_are_folded_to_the_singular(plural: str, singular: str) -> None:
    assert subs.singular(subs.fold(plural)) == singular
    assert subs.singular(singular) == singular  # the migration relies on it (0011)


def test_a_plural_and_its_singular_are_one_rule_of_a_reader(db: Database) -> None:
    with db.session() as session, session.begin():
        assert subs.add_rule(session, 1, "1", subs.keyword_rule("Language Models"))
        assert not subs.add_rule(session, 1, "1", subs.keyword_rule("language model"))
        assert [r.label for r in subs.rules_of(session, 1)] == ["Language Models"]


def test_a_reader_with_several_matching_rules_is_found_once_and_off_is_left_out(db: Database) -> None:
    with db.session() as session, session.begin():
        subscribe(session, 1, subs.category_rule("cs.CL"), subs.keyword_rule("latent reasoning"))
        subscribe(session, 2, subs.category_rule("cs.CL"), mode=subs.OFF)
        found = subs.matching_users(session, session.get(Paper, ARXIV_ID))
    assert [(m.user_id, m.reason) for m in found] == [(1, "cs.CL")]


def test_fan_out_queues_each_reader_once_per_paper_version(db: Database) -> None:
    with db.session() as session, session.begin():
        subscribe(session, 1, subs.category_rule("cs.CL"))
        subscribe(session, 2, subs.author_rule("Shibo Hao"), mode=subs.DAILY)
        subscribe(session, 3, subs.category_rule("math.AG"))
        first = review(session)
        assert fanout.queue_for_subscribers(session, first) == 2
        assert fanout.queue_for_subscribers(session, first) == 0  # published again
        assert fanout.queue_for_subscribers(session, review(session)) == 0  # a new review, same version
        second = review(session, version=2)
        assert fanout.queue_for_subscribers(session, second) == 2  # a new version
    with db.read() as session:
        rows = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        deliveries = list(session.scalars(select(SubscriptionDelivery).order_by(SubscriptionDelivery.id)))
    # What the relay claims and sends (status, no parts sent yet) and the review it renders.
    assert [(r.kind, r.chat_id, r.version, r.priority, r.text, r.status, r.message_ids) for r in rows] == [
        (fanout.SUBSCRIPTION, "1", 1, outbox.BULK, "cs.CL", "pending", []),
        (fanout.SUBSCRIPTION, "1", 2, outbox.BULK, "cs.CL", "pending", []),
    ]
    assert [r.review_id for r in rows] == [first.id, second.id]
    assert [d.review_id for d in deliveries] == [first.id, first.id, second.id, second.id]
    assert [(d.user_id, d.version, d.status, d.reason) for d in deliveries] == [
        (1, 1, fanout.QUEUED, "cs.CL"),
        (2, 1, fanout.PENDING, "Shibo Hao"),  # for the daily digest, with the rule it matched
        (1, 2, fanout.QUEUED, "cs.CL"),
        (2, 2, fanout.PENDING, "Shibo Hao"),
    ]


@pytest.mark.parametrize(
    "validation, moderation", [("failed", "waiting"), ("failed", "approved"), ("passed", "dropped")]
)
def test_a_failed_or_dropped_review_reaches_no_subscriber(db: Database, validation: str, moderation: str) -> None:
    with db.session() as session, session.begin():
        subscribe(session, 1, subs.category_rule("cs.CL"))
        assert fanout.queue_for_subscribers(session, review(session, validation=validation, moderation=moderation)) == 0
        assert fanout.queue_for_subscribers(session, review(session)) == 1  # its passing successor does


def test_the_migration_folds_stored_keyword_rules_and_keeps_one_of_each_readers_doubles(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "0010")
    engine = create_engine(normalize_url(database_url))
    rules = [  # as 0007-0010 stored them: the folded words as written
        (1, "keyword", "language models", "language", "Language Models"),
        (1, "keyword", "language model", "language", "language model"),  # one rule with the first now
        (2, "keyword", "language model", "language", "language model"),  # another reader's
        (2, "keyword", "llms", "llms", "LLMs"),
        (2, "category", "cs.cl", "cs.cl", "cs.CL"),
    ]
    with engine.begin() as connection:
        for user_id in (1, 2):
            connection.execute(
                text(
                    "INSERT INTO subscribers (user_id, chat_id, mode, digest_minute, created_at, updated_at)"
                    " VALUES (:u, :c, 'instant', 540, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"u": user_id, "c": str(user_id)},
            )
        for user_id, kind, value, key, label in rules:
            connection.execute(
                text(
                    "INSERT INTO subscription_rules (user_id, kind, value, key, label, created_at)"
                    " VALUES (:u, :k, :v, :key, :l, CURRENT_TIMESTAMP)"
                ),
                {"u": user_id, "k": kind, "v": value, "key": key, "l": label},
            )
    stored = "SELECT user_id, kind, value, key, label FROM subscription_rules ORDER BY id"
    upgrade(database_url)
    with engine.connect() as connection:
        assert [tuple(row) for row in connection.execute(text(stored))] == [
            (1, "keyword", "language model", "language", "Language Models"),
            (2, "keyword", "language model", "language", "language model"),
            (2, "keyword", "llm", "llm", "LLMs"),
            (2, "category", "cs.cl", "cs.cl", "cs.CL"),
        ]
    command.downgrade(alembic_config(database_url), "0010")
    with engine.connect() as connection:
        assert [tuple(row)[2:4] for row in connection.execute(text(stored))] == [
            ("language models", "language"),
            ("language model", "language"),
            ("llms", "llms"),
            ("cs.cl", "cs.cl"),
        ]
    engine.dispose()
