"""/subscribe, /subscriptions (with a button per rule to remove it), /unsubscribe and /digest.

Personal, so private chats only. Each handler writes in one transaction and answers after it
(a write lock held across an await stalls every writer). What the rules mean and how papers
are matched: paperdigest/subscriptions.py; how matches are sent: paperdigest/fanout.py.
"""

from __future__ import annotations

import html
import re

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot import texts
from bot.relay import OutboxRelay
from bot.subscriber_digest import set_mode
from bot.subscription_input import BadRule, parse_rule, rule_to_add
from paperdigest import subscriptions as subs
from paperdigest.db import Database
from paperdigest.models import SubscriptionRule

MAX_RULES = 50
UNSUB = "unsub:"
EVERYTHING = ("все", "всё", "all")
MODES = {"instant": subs.INSTANT, "сразу": subs.INSTANT, "daily": subs.DAILY, "ежедневно": subs.DAILY}
MODES |= {"off": subs.OFF, "выкл": subs.OFF, "выключить": subs.OFF}
_TIME = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")


def make_router() -> Router:
    router = Router(name="subscriptions")
    router.message.register(subscribe, Command("subscribe"))
    router.message.register(list_subscriptions, Command("subscriptions"))
    router.message.register(unsubscribe, Command("unsubscribe"))
    router.message.register(digest, Command("digest"))
    router.callback_query.register(remove_button, F.data.startswith(UNSUB))
    return router


async def _reader(message: Message) -> int | None:
    """The reader's user id in a private chat; elsewhere None, and they are told where to write."""
    if message.chat.type == "private" and message.from_user is not None:
        return message.from_user.id
    await message.answer(texts.SUBSCRIPTIONS_PRIVATE)
    return None


async def subscribe(message: Message, command: CommandObject, db: Database) -> None:
    user_id = await _reader(message)
    if user_id is None:
        return
    try:
        rule = rule_to_add(command.args or "")
    except BadRule as err:
        await message.answer(err.user_message)
        return
    with db.session() as session, session.begin():
        full = subs.rule_count(session, user_id) >= MAX_RULES
        added = not full and subs.add_rule(session, user_id, str(message.chat.id), rule)
        reader = subs.subscriber(session, user_id)
        mode = texts.digest_mode(reader.mode, reader.digest_minute) if reader else ""
    named = texts.rule_text(rule.kind, rule.label)
    if full:
        await message.answer(texts.TOO_MANY_RULES.format(limit=MAX_RULES))
    elif added:
        await message.answer(texts.SUBSCRIBED.format(rule=named, mode=mode))
    else:
        await message.answer(texts.ALREADY_SUBSCRIBED.format(rule=named))


def listing(rules: list[SubscriptionRule], mode: str, minute: int) -> tuple[str, InlineKeyboardMarkup | None]:
    """The /subscriptions message: HTML text and a remove button per rule."""
    if not rules:
        return html.escape(texts.NO_SUBSCRIPTIONS), None
    lines = [f"• {html.escape(texts.rule_text(r.kind, r.label))}" for r in rules]
    text = "\n".join([texts.SUBSCRIPTIONS_HEAD, *lines, "", html.escape(texts.digest_mode(mode, minute))])
    buttons = [[InlineKeyboardButton(text=f"✖ {r.label[:40]}", callback_data=f"{UNSUB}{r.id}")] for r in rules]
    return text, InlineKeyboardMarkup(inline_keyboard=buttons)


def _listing_of(db: Database, user_id: int) -> tuple[str, InlineKeyboardMarkup | None]:
    with db.read() as session:
        reader = subs.subscriber(session, user_id)
        rules = subs.rules_of(session, user_id)
        mode, minute = (reader.mode, reader.digest_minute) if reader else (subs.INSTANT, subs.DEFAULT_DIGEST_MINUTE)
    return listing(rules, mode, minute)


async def list_subscriptions(message: Message, db: Database) -> None:
    user_id = await _reader(message)
    if user_id is None:
        return
    text, markup = _listing_of(db, user_id)
    await message.answer(text, parse_mode="HTML", reply_markup=markup)


async def remove_button(callback: CallbackQuery, db: Database) -> None:
    rule_id = (callback.data or "")[len(UNSUB) :]
    removed = None
    if rule_id.isdigit():
        with db.session() as session, session.begin():
            removed = subs.remove_rule(session, callback.from_user.id, int(rule_id))
    await callback.answer(texts.BUTTON_REMOVED if removed else texts.BUTTON_GONE)
    if isinstance(callback.message, Message):
        text, markup = _listing_of(db, callback.from_user.id)
        await callback.message.edit_text(text, parse_mode="HTML", reply_markup=markup)


async def unsubscribe(message: Message, command: CommandObject, db: Database) -> None:
    user_id = await _reader(message)
    if user_id is None:
        return
    args = " ".join((command.args or "").split())
    if not args:
        await message.answer(texts.UNSUBSCRIBE_USAGE)
        return
    if args.lower() in EVERYTHING:
        with db.session() as session, session.begin():
            count = subs.remove_all(session, user_id)
        await message.answer(texts.UNSUBSCRIBED_ALL.format(count=count))
        return
    try:
        rule = parse_rule(args)
    except BadRule as err:
        await message.answer(err.user_message)
        return
    with db.session() as session, session.begin():
        found = subs.find_rule(session, user_id, rule)
        if found is not None:
            session.delete(found)
    named = texts.rule_text(rule.kind, found.label if found else rule.label)  # as they subscribed
    await message.answer((texts.UNSUBSCRIBED if found else texts.NOT_SUBSCRIBED).format(rule=named))


def parse_digest(args: str) -> tuple[str, int | None]:
    """`daily 20:30` → ("daily", 1230); raises BadRule with what to write instead."""
    words = args.lower().split()
    if not words or words[0] not in MODES or len(words) > 2:
        raise BadRule(texts.BAD_DIGEST_MODE.format(value=args[:40]) if words else texts.DIGEST_USAGE)
    mode = MODES[words[0]]
    if len(words) == 1:
        return mode, None
    shaped = _TIME.match(words[1])
    if mode != subs.DAILY or shaped is None:
        raise BadRule(texts.BAD_DIGEST_TIME.format(value=words[1][:20]))
    return mode, int(shaped.group(1)) * 60 + int(shaped.group(2))


async def digest(message: Message, command: CommandObject, db: Database, relay: OutboxRelay) -> None:
    user_id = await _reader(message)
    if user_id is None:
        return
    if not (command.args or "").strip():  # what it is now, and how to change it
        with db.read() as session:
            reader = subs.subscriber(session, user_id)
            now = texts.digest_mode(reader.mode, reader.digest_minute) if reader else texts.NO_SUBSCRIPTIONS_MODE
        await message.answer(f"{now}\n\n{texts.DIGEST_USAGE}")
        return
    try:
        mode, minute = parse_digest(command.args or "")
    except BadRule as err:
        await message.answer(err.user_message)
        return
    with db.session() as session, session.begin():
        reader = subs.ensure_subscriber(session, user_id, str(message.chat.id))
        set_mode(session, reader, mode, minute)
        shown = texts.digest_mode(reader.mode, reader.digest_minute)
    relay.wake()  # a switch to instant may have queued what waited for the digest
    await message.answer(texts.DIGEST_SET.format(mode=shown))
