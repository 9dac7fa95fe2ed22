"""Admin commands: /post, /regenerate, /stats, /pending, /candidates, /approve, /drop. Only ADMIN_IDS may use them."""

from __future__ import annotations

import html

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message, Update

from bot import store, texts
from bot.answers import HELD, QUEUED
from bot.handlers import moderation
from bot.handlers.review import parse_argument, request_review
from bot.service import ReviewService
from digest.rebuild import SiteRebuilder
from paperdigest import repo
from paperdigest.db import Database
from paperdigest.errors import BadArxivId
from paperdigest.models import utcnow
from paperdigest.settings import Settings
from watcher import store as watch_store
from watcher.store import Taste

ADMIN_COMMANDS = ("post", "regenerate", "stats", "pending", "candidates", "approve", "drop")
STATUS_NAMES = {
    "new": "ждёт",
    "chosen": "выбрана",
    "reviewed": "рецензия готова",
    "posted": "пост в канал",
    "announced": "разослана подписчикам (канала нет)",
    "failed": "сбой",
    "missed": "не успели",
    "filtered": "отсеяна",
    "held": "не прошла проверку, ждёт решения",
    "dropped": "отклонена",
}
CANDIDATES_SHOWN = 15
REASON_SHOWN = 300  # the ranker's reason, the liked post it resembles («похожа на понравившуюся»), the filter's


def make_router() -> Router:
    router = Router(name="admin")
    router.message.register(admin_gate, Command(*ADMIN_COMMANDS))
    return router


async def admin_gate(
    message: Message,
    is_admin: bool,
    command: CommandObject,
    event_update: Update,
    service: ReviewService,
    db: Database,
    settings: Settings,
    rebuilder: SiteRebuilder,
) -> None:
    if not is_admin:
        await message.answer(texts.ADMINS_ONLY)
        return
    handler = {
        "post": post,
        "regenerate": regenerate,
        "stats": stats,
        "pending": pending,
        "candidates": candidates,
        "approve": moderation.approve,
        "drop": moderation.drop,
    }[command.command]
    await handler(
        message,
        command.args or "",
        update_id=event_update.update_id,
        service=service,
        db=db,
        settings=settings,
        rebuilder=rebuilder,
    )


async def post(
    message: Message,
    args: str,
    *,
    update_id: int,
    service: ReviewService,
    db: Database,
    settings: Settings,
    **_: object,
) -> None:
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
            outcome = service.publish(session, review)
            answer = (
                texts.held(review.id, review.arxiv_id)
                if outcome == HELD
                else (texts.POST_QUEUED if outcome == QUEUED else texts.ALREADY_POSTED).format(
                    id=arxiv_id, version=review.version
                )
            )
    if review is not None:
        await message.answer(answer)
        return
    await request_review(
        message, args, update_id=update_id, service=service, db=db, settings=settings, is_admin=True, publish=True
    )


async def regenerate(
    message: Message,
    args: str,
    *,
    update_id: int,
    service: ReviewService,
    db: Database,
    settings: Settings,
    **_: object,
) -> None:
    """/regenerate <arxiv id | review id>: a new review of the paper (of the review's version), as /pending offers."""
    word = args.split()[0] if args.split() else ""
    if word.removeprefix("#").isdigit():  # a review number, as /approve and /drop take
        with db.read() as session:
            review = moderation.find_review(session, int(word.removeprefix("#")))
            if isinstance(review, str):
                await message.answer(review)
                return
            args = f"{review.arxiv_id}v{review.version}"
    await request_review(
        message, args, update_id=update_id, service=service, db=db, settings=settings, is_admin=True, force=True
    )


async def stats(message: Message, args: str, *, db: Database, **_: object) -> None:
    with db.read() as session:
        figures = store.stats(session)
        readers, asked = store.subscriber_stats(session), store.question_stats(session)
    jobs = ", ".join(f"{state}: {count}" for state, count in sorted(figures["jobs"].items())) or "нет"
    await message.answer(
        "<b>Статистика</b>\n"
        f"Статей: {figures['papers']}, рецензий: {figures['reviews']}\n"
        f"Задачи: {html.escape(jobs)}\n"
        f"Токены сегодня: {figures['tokens_today']} (${figures['cost_today']:.4f}), "
        f"всего: {figures['tokens_total']} (${figures['cost_total']:.4f})\n"
        f"Сбои: задач {figures['failed_jobs']}, постов {figures['failed_posts']}\n"
        f"{_readers_lines(readers)}\n"
        f"Вопросы /ask сегодня: {asked['asked']} (ответила модель: {asked['llm']}, "
        f"найдены места в статье: {asked['passages']})",
        parse_mode="HTML",
    )


def _readers_lines(readers: dict[str, int]) -> str:
    """Personal subscriptions: readers with a rule (by mode), rules, their messages today and waiting."""
    off = f", выключено: {readers['off']}" if readers["off"] else ""  # a reader keeps rules with delivery off
    return (
        f"Подписчики: {readers['subscribers']} (сразу: {readers['instant']}, раз в день: {readers['daily']}{off}), "
        f"правил: {readers['rules']}\n"
        f"Сообщения подписчикам: сегодня отправлено {readers['sent_today']}, ждут отправки {readers['waiting']}, "
        f"ждут дневной сводки {readers['in_digest']}"
    )


async def pending(message: Message, args: str, *, db: Database, **_: object) -> None:
    with db.read() as session:
        jobs, posts = store.pending_overview(session)
        held = moderation.held_lines(store.held_reviews(session))
    lines = ["<b>Ждут решения</b> (не прошли проверку по тексту статьи)", *held] if held else []
    lines += ["<b>Задачи</b>"] + [
        f"• {html.escape(j.arxiv_id)}: {j.status}, шаг {j.step}"
        + (f" — {html.escape((j.error or '')[:200])}" if j.error else "")
        for j in jobs
    ]
    lines += ["<b>Сообщения</b>"] + [
        f"• #{p.id} {p.kind} → {html.escape(p.chat_id)} ({html.escape(p.arxiv_id or '')}): {p.status}"
        + (f" — {html.escape((p.error or '')[:200])}" if p.error else "")
        for p in posts
    ]
    if not jobs and not posts and not held:
        lines = ["Очередь пуста, сбоев нет, решений не ждёт ни одна рецензия."]
    await message.answer(_fit("\n".join(lines)), parse_mode="HTML")


async def candidates(message: Message, args: str, *, db: Database, settings: Settings, **_: object) -> None:
    """The watcher's candidates of the latest announcement, best first, with score and reason."""
    with db.read() as session:
        day = watch_store.latest_day(session)
        rows = watch_store.day_candidates(session, day) if day else []
        taste = watch_store.channel_taste(session, settings.CHANNEL_ID, utcnow()) if settings.CHANNEL_ID else None
    if not rows:
        await message.answer("Кандидатов пока нет: наблюдатель ещё ничего не нашёл (WATCH_CATEGORIES).")
        return
    ranked = [r for r in rows if r.status != "filtered"]
    lines = [
        f"<b>Кандидаты объявления {day.isoformat()}</b>: {len(ranked)}, отсеяно фильтрами {len(rows) - len(ranked)}",
        *([_taste_line(*taste)] if taste else []),  # no channel: no reactions
    ]
    for row in ranked[:CANDIDATES_SHOWN]:
        score = f"{row.score:.1f}" if row.score is not None else "—"
        lines.append(
            f"{row.rank or '·'}. <code>{html.escape(row.arxiv_id)}</code> · {score} · "
            f"{STATUS_NAMES.get(row.status, row.status)} — {html.escape(row.title[:90])}"
        )
        if row.reason:
            lines.append(f"    <i>{html.escape(row.reason[:REASON_SHOWN])}</i>")
    lines.append("Опубликовать вручную: /post &lt;id&gt;")
    await message.answer(_fit("\n".join(lines)), parse_mode="HTML")


def _taste_line(taste: Taste, posts: int) -> str:
    """How much the readers' reactions count in the ranking now (watcher/taste.py)."""
    if not taste:
        return "Реакции читателей: пока нет постов с реакциями выше обычного — ранжирование только по интересам."
    return (
        f"Реакции читателей: понравились {len(taste.liked)} из {posts} постов канала "
        f"(реакций больше медианы, {taste.median:g}); похожие на них поднимаются выше."
    )


def _fit(text: str, limit: int = 4000) -> str:
    """Cut at a line break so no HTML tag is left open."""
    if len(text) <= limit:
        return text
    return text[: text.rfind("\n", 0, limit)]
