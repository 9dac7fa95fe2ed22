"""Admin commands: /post, /regenerate, /stats, /pending. Only ADMIN_IDS may use them."""

from __future__ import annotations

import html

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message, Update

from bot import store, texts
from bot.handlers.review import parse_argument, request_review
from bot.service import ReviewService
from paperdigest import repo
from paperdigest.db import Database
from paperdigest.errors import BadArxivId
from paperdigest.settings import Settings

ADMIN_COMMANDS = ("post", "regenerate", "stats", "pending")


def make_router() -> Router:
    router = Router(name="admin")
    router.message.register(admin_gate, Command(*ADMIN_COMMANDS))
    return router


async def admin_gate(message: Message, is_admin: bool, command: CommandObject, event_update: Update,
                     service: ReviewService, db: Database, settings: Settings) -> None:
    if not is_admin:
        await message.answer(texts.ADMINS_ONLY)
        return
    handler = {"post": post, "regenerate": regenerate, "stats": stats, "pending": pending}[command.command]
    await handler(message, command.args or "", update_id=event_update.update_id, service=service, db=db,
                  settings=settings)


async def post(message: Message, args: str, *, update_id: int, service: ReviewService, db: Database,
               settings: Settings) -> None:
    if not settings.CHANNEL_ID:
        await message.answer(texts.NO_CHANNEL)
        return
    try:
        arxiv_id = parse_argument(args)
    except BadArxivId as err:
        await message.answer(err.user_message if args.strip() else texts.NEED_ID.replace("/review", "/post"))
        return
    with db.session() as session, session.begin():
        review = repo.latest_review(session, arxiv_id.base, arxiv_id.version)
        if review is not None:
            queued = service.publish(session, review)
            answer = (texts.POST_QUEUED if queued else texts.ALREADY_POSTED).format(id=arxiv_id, version=review.version)
    if review is not None:
        await message.answer(answer)
        return
    await request_review(message, args, update_id=update_id, service=service, db=db, settings=settings,
                         is_admin=True, publish=True)


async def regenerate(message: Message, args: str, *, update_id: int, service: ReviewService, db: Database,
                     settings: Settings) -> None:
    await request_review(message, args, update_id=update_id, service=service, db=db, settings=settings,
                         is_admin=True, force=True)


async def stats(message: Message, args: str, *, db: Database, **_: object) -> None:
    with db.read() as session:
        figures = store.stats(session)
    jobs = ", ".join(f"{state}: {count}" for state, count in sorted(figures["jobs"].items())) or "нет"
    await message.answer(
        "<b>Статистика</b>\n"
        f"Статей: {figures['papers']}, рецензий: {figures['reviews']}\n"
        f"Задачи: {html.escape(jobs)}\n"
        f"Токены сегодня: {figures['tokens_today']} (${figures['cost_today']:.4f}), "
        f"всего: {figures['tokens_total']} (${figures['cost_total']:.4f})\n"
        f"Сбои: задач {figures['failed_jobs']}, постов {figures['failed_posts']}", parse_mode="HTML")


async def pending(message: Message, args: str, *, db: Database, **_: object) -> None:
    with db.read() as session:
        jobs, posts = store.pending_overview(session)
    lines = ["<b>Задачи</b>"] + [
        f"• {html.escape(j.arxiv_id)}: {j.status}, шаг {j.step}" + (f" — {html.escape((j.error or '')[:200])}"
                                                                     if j.error else "") for j in jobs]
    lines += ["<b>Сообщения</b>"] + [
        f"• #{p.id} {p.kind} → {html.escape(p.chat_id)} ({html.escape(p.arxiv_id or '')}): {p.status}"
        + (f" — {html.escape((p.error or '')[:200])}" if p.error else "") for p in posts]
    if not jobs and not posts:
        lines = ["Очередь пуста, сбоев нет."]
    await message.answer("\n".join(lines)[:4000], parse_mode="HTML")
