"""What the bot says about /ask: short Russian sentences (the rest of its texts: bot/texts.py)."""

from __future__ import annotations

from datetime import datetime

from bot.texts import resets_at

ASK_USAGE = (
    "Задайте вопрос о статье: /ask 2412.06769 С чем сравнивали метод?\n"
    "Или ответьте командой /ask <вопрос> на сообщение бота с рецензией."
)
NO_PAPER_IN_REPLY = (
    "Не понял, о какой статье вопрос: в сообщении, на которое вы ответили, нет ссылки на arXiv. "
    "Напишите номер статьи: /ask 2412.06769 <вопрос>"
)
NEED_QUESTION = "Напишите сам вопрос после номера статьи: /ask {id} С чем сравнивали метод?"
NOT_REVIEWED = (
    "Текста статьи {id} у бота пока нет: вопросы можно задавать по статьям, на которые уже есть рецензия. "
    "Попросите её командой /review {id}, а потом спросите снова."
)
PASSAGES_HEAD = "🔎 Найденные места в статье (не ответ: языковая модель не подключена, это цитаты из текста):"
NOTHING_FOUND = (
    "🔎 В тексте статьи {id} не нашлось мест со словами вопроса. Без языковой модели бот ищет по словам: "
    "спросите терминами статьи (по-английски), например «baseline», «GSM8k»."
)
ANSWER_HEAD = "💬 Ответ по тексту статьи {id}:"
FOLLOW_UP = "Ответьте на это сообщение, чтобы спросить ещё."
NO_SECTION = "Ответ не ссылается на раздел статьи — сверьте его с текстом."
LLM_FAILED = "Не получилось ответить на вопрос: языковая модель сейчас недоступна. Попробуйте позже."


def questions_exceeded(limit: int, reset: datetime) -> str:
    return f"Дневной лимит вопросов исчерпан ({limit} в день). Он обновится в {resets_at(reset)}."


def budget_exceeded(reset: datetime) -> str:
    return f"Сервис на сегодня исчерпал бюджет языковой модели; на вопросы бот снова ответит после {resets_at(reset)}."


def passage_line(number: int, section: str, text: str) -> str:
    where = f"раздел «{section}»" if section else "начало статьи"
    return f"{number}. {where}:\n«{text}»"
