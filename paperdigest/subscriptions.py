"""Personal subscriptions: rules, their normal form, and which readers a new paper matches.

A rule is a category (`cs.CL`), an author (`Yuntian Deng`) or a keyword phrase (`latent
reasoning`). Each is stored normalised with a lookup `key` (models.SubscriptionRule), so a new
paper is matched by one indexed query, never by scanning every rule:

- category: the lower-cased category is the key; the paper's categories are looked up;
- author: the name folded (case, accents, dots and hyphens) is the key; the paper's authors too;
- keyword: the phrase's words, folded the same way and in the singular; its longest word is
  the key. The paper's title and abstract give a set of words to look up; each rule found is
  then checked for the whole phrase, word for word, in that text.

Plurals are folded (`language model` matches "Large Language Models", `LLM` matches "LLMs"),
nothing more: `reasoning` does not match `reason`, nor `transformer` "transformation", which a
stemmer would conflate.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from paperdigest.models import Paper, Subscriber, SubscriptionRule

CATEGORY, AUTHOR, KEYWORD = "category", "author", "keyword"
INSTANT, DAILY, OFF = "instant", "daily", "off"
DEFAULT_DIGEST_MINUTE = 9 * 60  # daily digests at 09:00 Moscow time unless the reader chose another
MAX_LOOKUP_WORDS = 800  # distinct words of a title and abstract sent in one IN (…): SQLite allows 32,766
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Rule:
    kind: str
    value: str  # normalised
    key: str  # what a paper is looked up by
    label: str  # as the reader wrote it


@dataclass(frozen=True)
class Match:
    user_id: int
    chat_id: str
    mode: str
    reason: str  # the label of the first rule that matched


# --- normal forms (pure) --------------------------------------------------------------------


def fold(text: str) -> str:
    """Lower case, accents off, NFKC: «Déng» and «deng» are one word."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return unicodedata.normalize("NFKC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def singular(word: str) -> str:
    """An English plural in the singular: the S-stemmer's rules (Harman, 1991), with -sses,
    -xes, -ches and -shes dropping their "es". Words of under 4 letters, and any that is not
    plain Latin letters, stay as they are: "gas", "corpus", "loss", "analysis", "gpt4"."""
    if len(word) < 4 or not (word.isascii() and word.isalpha()):
        return word
    if word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"  # queries, studies
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]  # classes, boxes, approaches
    if word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]  # images, features
    if word.endswith("s") and not word.endswith(("us", "ss", "is")):
        return word[:-1]  # models, llms
    return word


def singular_words(text: str) -> list[str]:
    return [singular(word) for word in words(text)]


def author_key(name: str) -> str:
    return " ".join(words(name.replace("_", " ")))


def category_rule(raw: str) -> Rule:
    value = raw.strip().lower()
    return Rule(CATEGORY, value, value, raw.strip())


def author_rule(raw: str) -> Rule:
    value = author_key(raw)
    return Rule(AUTHOR, value, value[:100], " ".join(raw.split()))


def keyword_rule(raw: str) -> Rule:
    phrase = singular_words(raw)
    return Rule(KEYWORD, " ".join(phrase), max(phrase, key=len)[:100], " ".join(raw.split()))


def paper_words(paper: Paper) -> list[str]:
    return singular_words(f"{paper.title}\n{paper.abstract}")


# --- matching -------------------------------------------------------------------------------


def matching_users(session: Session, paper: Paper) -> list[Match]:
    """Every reader (not turned off) with a rule this paper matches, once each, by user id.

    Two indexed queries: the keyword phrases whose key is a word of the paper (distinct
    phrases, read from the index alone), checked here for the whole phrase; then the rules
    that match — by category, author, or one of those phrases — with their readers."""
    text_words = paper_words(paper)
    categories = {c.lower() for c in (*paper.categories, paper.primary_category) if c}
    authors = {author_key(a) for a in paper.authors} - {""}
    _custom_plans(session)
    keys, phrases = _phrases_in(session, text_words)
    rule = SubscriptionRule
    found = or_(
        and_(rule.kind == CATEGORY, rule.key.in_(sorted(categories))),
        and_(rule.kind == AUTHOR, rule.key.in_(sorted(authors))),
        and_(rule.kind == KEYWORD, rule.key.in_(keys), rule.value.in_(phrases)),
    )
    query = (
        select(rule.user_id, rule.label, Subscriber.chat_id, Subscriber.mode)
        .join(Subscriber, Subscriber.user_id == rule.user_id)
        .where(found, Subscriber.mode != OFF)
        .order_by(rule.user_id, rule.id)
    )
    matches: dict[int, Match] = {}
    # Core rows, fetched at once: no ORM loading, and no fetch per row (psycopg's fetchone is 2 µs a row)
    for user_id, label, chat_id, mode in session.connection().execute(query).all():
        if user_id not in matches:
            matches[user_id] = Match(user_id, chat_id, mode, label)
    return list(matches.values())


def _custom_plans(session: Session) -> None:
    """PostgreSQL: plan these queries for this paper's lists of words each time. psycopg prepares
    a statement run 5 times (in committed transactions); 5 runs later PostgreSQL switches to one
    generic plan for any parameters, which took matching from 13 to 45 ms (bench/subscriptions.py).
    Holds for the rest of this transaction: the fan-out's inserts that follow lose nothing by it."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sql_text("SET LOCAL plan_cache_mode = force_custom_plan"))


def _phrases_in(session: Session, text_words: list[str]) -> tuple[list[str], list[str]]:
    """The keys and the distinct keyword phrases of every reader that occur in these words."""
    text = f" {' '.join(text_words)} "
    lookup = sorted(set(text_words), key=len, reverse=True)[:MAX_LOOKUP_WORDS]
    query = (
        select(SubscriptionRule.key, SubscriptionRule.value)
        .where(SubscriptionRule.kind == KEYWORD, SubscriptionRule.key.in_(lookup))
        .distinct()
    )
    found = [(key, value) for key, value in session.connection().execute(query).all() if f" {value} " in text]
    return sorted({key for key, _ in found}), sorted({value for _, value in found})


# --- a reader's rules and mode --------------------------------------------------------------


def subscriber(session: Session, user_id: int) -> Subscriber | None:
    return session.get(Subscriber, user_id)


def ensure_subscriber(session: Session, user_id: int, chat_id: str) -> Subscriber:
    """The reader's row, made on their first /subscribe or /digest (instant, 09:00 for daily)."""
    row = session.get(Subscriber, user_id)
    if row is None:
        row = Subscriber(user_id=user_id, chat_id=chat_id, mode=INSTANT, digest_minute=DEFAULT_DIGEST_MINUTE)
        session.add(row)
        session.flush()
    return row


def rules_of(session: Session, user_id: int) -> list[SubscriptionRule]:
    return list(
        session.scalars(
            select(SubscriptionRule).where(SubscriptionRule.user_id == user_id).order_by(SubscriptionRule.id)
        )
    )


def rule_count(session: Session, user_id: int) -> int:
    query = select(func.count()).select_from(SubscriptionRule).where(SubscriptionRule.user_id == user_id)
    return session.scalar(query) or 0


def find_rule(session: Session, user_id: int, rule: Rule) -> SubscriptionRule | None:
    query = select(SubscriptionRule).where(
        SubscriptionRule.user_id == user_id, SubscriptionRule.kind == rule.kind, SubscriptionRule.value == rule.value
    )
    return session.scalar(query)


def add_rule(session: Session, user_id: int, chat_id: str, rule: Rule) -> bool:
    """Subscribe; False when the reader has this rule already."""
    ensure_subscriber(session, user_id, chat_id)
    if find_rule(session, user_id, rule) is not None:
        return False
    session.add(SubscriptionRule(user_id=user_id, kind=rule.kind, value=rule.value, key=rule.key, label=rule.label))
    session.flush()
    return True


def remove_rule(session: Session, user_id: int, rule_id: int) -> SubscriptionRule | None:
    """Remove the reader's rule by id (another reader's is left alone); the rule removed, or None."""
    row = session.get(SubscriptionRule, rule_id)
    if row is None or row.user_id != user_id:
        return None
    session.delete(row)
    session.flush()
    return row


def remove_all(session: Session, user_id: int) -> int:
    statement = delete(SubscriptionRule).where(SubscriptionRule.user_id == user_id).returning(SubscriptionRule.id)
    return len(session.scalars(statement).all())
