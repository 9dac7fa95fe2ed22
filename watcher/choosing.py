"""The watcher's decisions, pure: which listings are candidates, which are reviewed, which
reviews may be posted, what a post's note says, when a category looks stale, what the daily
digest says.

Every function here takes plain values and returns plain values; watcher/round.py
feeds them from arXiv and the database.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from paperdigest.records import PaperMeta

AUTHOR_BONUS = 10.0  # a watched author's paper outranks any score (scores are 0…10)
STALE_HISTORY = 5  # weekday announcements a category's "normal" count is taken over


@dataclass(frozen=True)
class Screened:
    keep: bool
    reason: str  # why it was dropped, or what made it a candidate ("" when nothing special)
    watched_author: bool = False


def _finder(words: Iterable[str]) -> re.Pattern[str] | None:
    """Words and phrases that start at a word boundary, case-insensitive ("LLM" finds "LLMs")."""
    words = [w.strip() for w in words if w.strip()]
    if not words:
        return None
    return re.compile("|".join(rf"(?<!\w){re.escape(w)}" for w in words), re.IGNORECASE)


def screen(meta: PaperMeta, *, keywords: Sequence[str], exclude: Sequence[str], authors: Sequence[str]) -> Screened:
    """WATCH_EXCLUDE drops; WATCH_AUTHORS keeps; else WATCH_KEYWORDS (when set) must occur."""
    text = f"{meta.title}\n{meta.abstract}"
    if (excluded := _finder(exclude)) and (hit := excluded.search(text)):
        return Screened(False, f"исключено: «{hit.group(0)}»")
    if finder := _finder(authors):
        for name in meta.authors:
            if finder.search(name):
                return Screened(True, f"автор: {name}", watched_author=True)
    wanted = _finder(keywords)
    if wanted is None:
        return Screened(True, "")
    if hit := wanted.search(text):
        return Screened(True, f"ключевое слово «{hit.group(0)}»")
    return Screened(False, "нет ключевых слов")


def rank_key(arxiv_id: str, score: float | None) -> tuple[float, str]:
    """Higher score first; ties by id, so the order never depends on storage order."""
    return (-(score if score is not None else -1.0), arxiv_id)


def choose(scored: Iterable[tuple[str, float | None]], slots: int) -> list[str]:
    """The ids to review: the best `slots` by score."""
    ranked = sorted(scored, key=lambda item: rank_key(*item))
    return [arxiv_id for arxiv_id, _ in ranked[: max(0, slots)]]


def affordable(count: int, *, used: int, budget: int, per_review: int) -> int:
    """How many of `count` reviews fit in what is left of the daily token budget (0: none)."""
    if budget <= 0:
        return count
    left = budget - used
    if left <= 0:
        return 0
    return min(count, left // max(1, per_review))


def held_text(arxiv_id: str, review_id: int, suspects: Sequence[str]) -> str:
    """The admins' notice of a watched paper whose review failed the check and was not posted."""
    named = f" Сомнительные числа: {', '.join(suspects)}." if suspects else ""
    return (
        f"⚠️ Наблюдатель: рецензия #{review_id} на {arxiv_id} не прошла проверку по тексту статьи и "
        f"не опубликована.{named} Опубликовать как есть: /approve {review_id}; написать заново: "
        f"/regenerate {arxiv_id}; отклонить: /drop {review_id}."
    )


# --- notes on published posts -------------------------------------------------------------


def post_note(*, post_version: int, review_version: int, latest_version: int, withdrawn: bool) -> str | None:
    """What the channel post should say on top about later versions; None: nothing."""
    if withdrawn:
        return f"⚠️ Статья отозвана авторами на arXiv (v{latest_version}); рецензия описывает v{review_version}."
    if latest_version <= post_version:
        return None
    if review_version >= latest_version:
        return f"🔄 Обновлено до v{latest_version}: рецензия переписана по новой версии статьи."
    return f"🔄 Обновлено до v{latest_version} на arXiv; рецензия написана по v{review_version}."


# --- the staleness alarm --------------------------------------------------------------------


def is_stale(today: int, history: Sequence[int], minimum: int) -> bool:
    """No papers today in a category whose recent weekday announcements usually bring many."""
    recent = list(history)[-STALE_HISTORY:]
    if today > 0 or len(recent) < 2 or minimum <= 0:
        return False
    return statistics.median(recent) >= minimum


def stale_text(category: str, day: date, history: Sequence[int]) -> str:
    usual = int(statistics.median(list(history)[-STALE_HISTORY:]))
    return (
        f"⚠️ Наблюдатель: в объявлении arXiv за {day.isoformat()} нет ни одной статьи в {category}, "
        f"хотя обычно их около {usual}. Возможно, лента arXiv устарела или изменился запрос "
        "(WATCH_CATEGORIES, WATCH_QUERY)."
    )


# --- the daily digest -----------------------------------------------------------------------


def post_link(channel_id: str, message_id: int) -> str | None:
    """t.me link to a channel message: public by @name, private by its -100… id."""
    if channel_id.startswith("@"):
        return f"https://t.me/{channel_id[1:]}/{message_id}"
    if channel_id.startswith("-100") and channel_id[4:].isdigit():
        return f"https://t.me/c/{channel_id[4:]}/{message_id}"
    return None


@dataclass(frozen=True)
class DigestItem:
    title: str
    post_url: str | None
    page_url: str


def digest_text(day: date, items: Sequence[DigestItem]) -> str:
    lines = [f"Обзоры дня ({day.strftime('%d.%m.%Y')}): {len(items)}", ""]
    for number, item in enumerate(items, 1):
        lines.append(f"{number}. {item.title}")
        if item.post_url:
            lines.append(f"   Пост: {item.post_url}")
        lines.append(f"   На сайте: {item.page_url}")
    return "\n".join(lines)


def newest(moments: Iterable[datetime | None]) -> datetime | None:
    known = [m for m in moments if m is not None]
    return max(known) if known else None
