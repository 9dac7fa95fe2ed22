"""One Router per feature, made fresh per Dispatcher; `get_routers()` gathers them in matching order."""

from __future__ import annotations

from aiogram import Router

from bot import reactions
from bot.handlers import admin, ask, browse, review, start, subscriptions


def get_routers() -> list[Router]:
    # review.router last: it also catches any plain text (a pasted link) after the commands.
    routers = [
        start.make_router(),
        admin.make_router(),
        browse.make_router(),
        subscriptions.make_router(),
        ask.make_router(),  # before review: a reply to an answer is a follow-up, not a pasted link
        review.make_router(),
    ]
    return [*routers, reactions.make_router()]  # channel posts' reaction counts (message_reaction_count)
