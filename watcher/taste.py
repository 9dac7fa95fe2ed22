"""The channel's taste, from readers' reactions to its past posts (post_reactions, stored by
the bot from Telegram's message_reaction_count updates; read by watcher/store.py
`channel_taste`).

A post's weight is how far its reactions rise above the channel's median:
`min(MAX_WEIGHT, reactions / max(median, 1) - 1)`, and only above the median. Liked posts
pull similar candidates up (watcher/ranking.py); posts at or below the median pull nothing
(they are the LLM's examples of what was ignored), so a quiet week cannot push a topic down.
Posts younger than MIN_AGE are left out: readers have not had time to react yet. A 👎 (and
the other NEGATIVE reactions) takes back a reaction and one more, so a post readers disliked
in numbers is not taken for a liked one.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from watcher.ranking import Item, Taste

POSTS = 300  # the channel's latest posts the taste is taken from
NEGATIVE = frozenset("👎 💩 🤮 🤡 🥱 😴".split())  # reactions that say "not this": they count against
MIN_AGE = timedelta(days=1)
MAX_WEIGHT = 4.0  # one viral post must not outweigh the rest


@dataclass(frozen=True)
class Reacted:
    item: Item  # the post's paper
    reactions: int


def taste_of(posts: Sequence[Reacted]) -> Taste:
    if not posts:
        return Taste()
    median = statistics.median(p.reactions for p in posts)
    base = max(median, 1.0)
    ranked = sorted(posts, key=lambda p: (-p.reactions, p.item.key))  # the order never depends on the input's
    liked = tuple((p.item, min(MAX_WEIGHT, p.reactions / base - 1)) for p in ranked if p.reactions > base)
    quiet = sorted((p for p in posts if p.reactions <= median), key=lambda p: (p.reactions, p.item.key))
    ignored = tuple(p.item for p in quiet)
    return Taste(liked, ignored, float(median))


def liking(counts: dict[str, int]) -> int:
    """Reactions for a post, less those against it (NEGATIVE), never below 0."""
    against = sum(n for emoji, n in counts.items() if emoji in NEGATIVE)
    return max(0, sum(counts.values()) - 2 * against)
