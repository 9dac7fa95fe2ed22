"""What the bot says: short Russian sentences, and the help page from templates/telegram/."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from paperdigest.resources import TEMPLATES_DIR

TEMPLATES = TEMPLATES_DIR / "telegram"
MOSCOW = timezone(timedelta(hours=3))

NEED_ID = "Пришлите идентификатор или ссылку, например: /review 2412.06769"
NOT_ALLOWED = "Этот бот работает только для приглашённых пользователей."
ADMINS_ONLY = "Эта команда только для администраторов."
NO_REVIEW_YET = "Рецензии на {id} пока нет. Попросите её командой /review {id}"
REVIEW_DROPPED = (
    "Рецензия на {id} снята: она не прошла проверку по тексту статьи, и администратор её отклонил. "
    "Новую можно запросить командой /review {id}"
)
NOTHING_FOUND = "Ничего не нашлось по запросу «{query}»."
NO_REVIEWS = "Рецензий пока нет — пришлите ссылку на статью."
SEARCH_USAGE = "Напишите, что искать: /search latent reasoning"
QUEUED = "Запрос принят: пришлю рецензию на {id}, как только она будет готова."
ALREADY_POSTED = "Рецензия на {id} (v{version}) уже опубликована в канале."
POST_QUEUED = "Рецензия на {id} поставлена в очередь публикации в канале."
NO_CHANNEL = "Канал не настроен (CHANNEL_ID): публиковать некуда."
ERROR = "Что-то пошло не так; попробуйте ещё раз чуть позже."
UNKNOWN_TEXT = "Пришлите ссылку на статью arXiv или её номер (например, 2412.06769). Все команды — /help"


MODERATION_USAGE = (
    "Укажите номер рецензии или статью: /{command} 12 или /{command} 2412.06769 "
    "(рецензии, ждущие решения, — в /pending)."
)
NO_SUCH_REVIEW = "Рецензии #{id} нет; рецензии, ждущие решения, — в /pending."
NO_REVIEW_OF = "Рецензии на {id} нет."
NOT_HELD = (
    "Рецензия #{id} на {arxiv_id} прошла проверку по тексту статьи: решения не требуется. "
    "Опубликовать её: /post {arxiv_id}"
)
APPROVED = "Рецензия #{id} на {arxiv_id} одобрена и поставлена в очередь публикации в канале."
APPROVED_POSTED = "Рецензия #{id} на {arxiv_id} одобрена; в канале она (v{version}) уже опубликована."
APPROVED_NO_CHANNEL = "Рецензия #{id} на {arxiv_id} одобрена, но канал не настроен (CHANNEL_ID): публиковать некуда."
APPROVED_OTHER_VERSION = (
    "Рецензия #{id} на {arxiv_id} (v{version}) одобрена. В канале уже есть пост этой статьи "
    "(v{posted}), второго поста не будет{watching}. Отдельный пост этой версии: "
    "/post {arxiv_id}v{version}"
)
WATCHER_WILL_EDIT = ": наблюдатель обновит существующий по этой рецензии"
DROPPED = (
    "Рецензия #{id} на {arxiv_id} отклонена: в канал она не попадёт, сайт её не покажет. "
    "Написать заново: /regenerate {arxiv_id}"
)
DROP_POSTED = "Рецензия #{id} на {arxiv_id} уже в канале: /drop её оттуда не уберёт, удалите пост вручную."


def maybe_undelivered(arxiv_id: str) -> str:
    return (
        f"⚠️ Бот перезапустился, пока отправлял вам рецензию на {arxiv_id}: возможно, она не дошла. "
        f"Если её нет выше, пришлите /paper {arxiv_id}"
    )


def held(review_id: int, arxiv_id: str) -> str:
    """Why a review was not posted: it failed the check and waits for an admin."""
    return (
        f"Рецензия #{review_id} на {arxiv_id} не прошла проверку по тексту статьи и в канал не отправлена. "
        f"Опубликовать как есть: /approve {review_id}; написать заново: /regenerate {arxiv_id}; "
        f"отклонить: /drop {review_id}."
    )


def resets_at(reset: datetime) -> str:
    return reset.astimezone(MOSCOW).strftime("%H:%M по Москве")


def quota_exceeded(limit: int, reset: datetime) -> str:
    return (
        f"Дневной лимит новых рецензий исчерпан ({limit} в день). Он обновится в {resets_at(reset)}. "
        "Уже готовые рецензии можно получать без ограничений: /latest, /paper <id>."
    )


def budget_exceeded(reset: datetime) -> str:
    return (
        f"Сервис на сегодня исчерпал бюджет языковой модели; новые рецензии снова будут после "
        f"{resets_at(reset)}. Готовые рецензии доступны: /latest, /paper <id>."
    )


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def help_text(*, is_admin: bool, quota: int | None, quota_total: int, site_url: str | None) -> str:
    return (
        _environment()
        .get_template("help.html.j2")
        .render(is_admin=is_admin, quota=quota, quota_total=quota_total, site_url=site_url)
        .strip()
    )
