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


def no_worker(arxiv_id: str) -> str:
    return (
        f"⏳ Рецензия на {arxiv_id} в очереди, но обработчик рецензий сейчас не запущен. "
        "Запрос сохранён: рецензия придёт, как только он заработает; администраторы предупреждены."
    )


def no_worker_alarm(waiting: int) -> str:
    return (
        "⚠️ Ни один обработчик рецензий (paperdigest worker) не подаёт признаков жизни, а статьи ждут "
        f"рецензии (сейчас: {waiting}). Запустите paperdigest worker рядом с ботом или задайте REVIEWS_IN_BOT=true."
    )


MAYBE_UNANSWERED = (
    "⚠️ Бот перезапустился, пока отправлял ответ на ваш вопрос: возможно, он не дошёл. "
    "Если ответа нет выше, задайте вопрос ещё раз."
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


# --- personal subscriptions (bot/handlers/subscriptions.py) ---------------------------------

SUBSCRIBE_USAGE = (
    "Чтобы подписаться, напишите, на что:\n"
    "/subscribe cs.CL — категория arXiv\n"
    "/subscribe автор: Yuntian Deng — автор (имя и фамилия, как на arXiv)\n"
    "/subscribe latent reasoning — слово или фраза из названия или аннотации, по-английски "
    "(language model найдёт и «Large Language Models»)"
)
SUBSCRIPTIONS_PRIVATE = "Подписки работают в личном чате с ботом: напишите ему /subscribe."
BAD_CATEGORY = "«{value}» не похоже на категорию arXiv. Примеры: /subscribe cs.CL, /subscribe hep-th"
AUTHOR_NEEDS_NAME = "Напишите имя и фамилию автора, как на arXiv: /subscribe автор: Yuntian Deng"
KEYWORD_TOO_SHORT = "«{value}» слишком короткое: нужно хотя бы 3 буквы. Пример: /subscribe latent reasoning"
KEYWORD_NOT_LATIN = (
    "Фразы ищутся в названии и аннотации статьи, а на arXiv они по-английски: «{value}» не найдётся. "
    "Напишите по-английски, например: /subscribe latent reasoning"
)
KEYWORD_NO_WORDS = "В «{value}» нет ни одного слова. Пример: /subscribe latent reasoning"
TOO_LONG = "Слишком длинно ({length} символов, можно до {limit}). Сократите фразу или оставьте главные слова."
TOO_MANY_WORDS = "Во фразе {count} слов, можно до {limit}: длинная фраза почти никогда не встречается целиком."
TOO_MANY_RULES = "У вас уже {limit} подписок — это предел. Уберите лишние: /subscriptions"
SUBSCRIBED = "Подписка добавлена: {rule}.\n{mode}\nВсе подписки: /subscriptions"
ALREADY_SUBSCRIBED = "Такая подписка уже есть: {rule}. Все подписки: /subscriptions"
NO_SUBSCRIPTIONS = "Подписок пока нет.\n\n" + SUBSCRIBE_USAGE
SUBSCRIPTIONS_HEAD = "<b>Ваши подписки</b> (кнопка убирает подписку):"
UNSUBSCRIBE_USAGE = (
    "Напишите, от чего отписаться, как при подписке: /unsubscribe cs.CL, или /unsubscribe все. "
    "Список с кнопками: /subscriptions"
)
NOT_SUBSCRIBED = "Подписки «{rule}» у вас нет. Ваши подписки: /subscriptions"
UNSUBSCRIBED = "Подписка убрана: {rule}."
UNSUBSCRIBED_ALL = "Все подписки убраны ({count})."
BUTTON_REMOVED = "Подписка убрана"
BUTTON_GONE = "Этой подписки уже нет"
DIGEST_USAGE = (
    "Как присылать новые рецензии по подпискам:\n"
    "/digest instant — сразу, как выходит рецензия\n"
    "/digest daily — раз в день одним сообщением, в 09:00 по Москве; своё время: /digest daily 20:30\n"
    "/digest off — не присылать"
)
NO_SUBSCRIPTIONS_MODE = "Подписок пока нет: /subscribe cs.CL"
BAD_DIGEST_MODE = "Не понимаю «{value}». " + DIGEST_USAGE
BAD_DIGEST_TIME = "«{value}» — не время. Напишите часы и минуты по Москве, например: /digest daily 08:30"
DIGEST_SET = "Готово. {mode}"
RULE_KINDS = {"category": "категория", "author": "автор", "keyword": "фраза"}


def rule_text(kind: str, label: str) -> str:
    return f"{RULE_KINDS.get(kind, kind)} {label}"


def clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def digest_mode(mode: str, minute: int) -> str:
    if mode == "daily":
        return f"Новые рецензии по подпискам придут раз в день, в {clock(minute)} по Москве (/digest — изменить)."
    if mode == "off":
        return "Присылать рецензии по подпискам сейчас выключено; включить: /digest instant или /digest daily."
    return "Новые рецензии по подпискам придут сразу, как выйдут (/digest daily — раз в день)."


def subscription_note(reason: str) -> str:
    """Quoted under the header of a review sent by a subscription."""
    return f"🔔 По вашей подписке: {reason}. Настроить — /subscriptions"


def subscriber_digest(items: list[tuple[str, str, str]], more: int) -> str:
    """The daily message: (title, arxiv id, reason) per paper; plain text."""
    lines = [f"🔔 Новые рецензии по вашим подпискам: {len(items) + more}", ""]
    for title, arxiv_id, reason in items:
        lines += [f"• {title}", f"  /paper {arxiv_id} — по подписке: {reason}"]
    if more:
        lines += ["", f"…и ещё {more}: /latest"]
    return "\n".join([*lines, "", "Настроить — /subscriptions, /digest"])
