"""/start and /help: what the bot does, the commands, the accepted forms, the user's quota."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message

from bot import store, texts
from paperdigest.db import Database
from paperdigest.settings import Settings


def make_router() -> Router:
    router = Router(name="start")
    router.message.register(help_command, CommandStart())
    router.message.register(help_command, Command("help"))
    return router


async def help_command(message: Message, db: Database, settings: Settings, is_admin: bool) -> None:
    limit = settings.USER_DAILY_REVIEWS
    quota = None
    if limit > 0 and message.from_user:
        with db.read() as session:
            quota = max(0, limit - store.charged_today(session, message.from_user.id))
    await message.answer(
        texts.help_text(is_admin=is_admin, quota=quota, quota_total=limit, site_url=settings.SITE_URL),
        parse_mode="HTML",
        disable_web_page_preview=True,
    )
