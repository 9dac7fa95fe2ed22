"""/stats: the admin's figures, after a whole conversation against the fake Bot API and LLM —
readers who subscribed, a review fanned out to them, questions answered by the model and offline."""

from __future__ import annotations

from bot import relay as relay_module
from paperdigest.models import Question
from paperdigest.settings import Settings
from tests.fakes.llm import FakeLLM, message_text, russian_review
from tests.fakes.telegram import FakeTelegram
from tests.support.bot import ADMIN, ALICE, BOB, answer_to, eventually, review_messages, running, texts_in
from tests.support.papers import PAPER_ID, rows

CAROL, DAVE = 1003, 1004


def answers_questions(request: dict) -> str:
    """Reviews as usual; the /ask prompt gets a short grounded answer."""
    messages = request.get("messages", [])
    if "вопрос читателя" not in message_text(messages[0]):
        return russian_review(request)
    return "Coconut достигает 97,0% на ProsQA (см. раздел 3 Experiments)."


async def test_stats_counts_subscribers_their_messages_and_questions(
    bot_settings: Settings, fake_telegram: FakeTelegram, fake_llm: FakeLLM, monkeypatch
) -> None:
    monkeypatch.setattr(relay_module, "DIGEST_CHECK_S", 3600.0)  # daily digests: only the check at a start
    fake_llm.responder = answers_questions
    async with running(bot_settings.replace(OPENAI_BASE_URL=None, OPENAI_API_KEY=None)):  # offline, unpublished
        fake_telegram.push_message(BOB, BOB, f"/review {PAPER_ID}")
        await eventually(lambda: review_messages(fake_telegram, BOB), 20)
        quoted = await answer_to(fake_telegram, BOB, f"/ask {PAPER_ID} What accuracy does Coconut reach on ProsQA?")
    async with running(bot_settings):
        await answer_to(fake_telegram, ALICE, "/subscribe cs.CL")
        await answer_to(fake_telegram, ALICE, "/subscribe latent reasoning")
        await answer_to(fake_telegram, CAROL, "/subscribe автор: Yuandong Tian")
        await answer_to(fake_telegram, CAROL, "/digest daily")  # after this start's check: her match waits
        await answer_to(fake_telegram, DAVE, "/subscribe cs.CL")
        await answer_to(fake_telegram, DAVE, "/digest off")
        await answer_to(fake_telegram, BOB, "/subscribe cs.CL")
        await answer_to(fake_telegram, BOB, "/unsubscribe все")  # a reader left with no rule: not counted
        await answer_to(fake_telegram, ADMIN, f"/post {PAPER_ID}")  # to the channel, and to the subscribers
        await eventually(lambda: review_messages(fake_telegram, ALICE), 20)
        asked = await answer_to(fake_telegram, ALICE, f"/ask {PAPER_ID} Какая точность на ProsQA?")
        await eventually(lambda: all(q.answer_message_id for q in rows(bot_settings, Question)))  # both answered
        shown = await answer_to(fake_telegram, ADMIN, "/stats")
    assert asked.startswith("💬") and quoted.startswith("🔎")  # one answered by the model, one by passages
    assert [t for t in texts_in(fake_telegram, CAROL) if t.startswith("🔔")] == []  # no check since she chose daily
    assert "Подписчики: 3 (сразу: 1, раз в день: 1, выключено: 1), правил: 4" in shown
    assert "Сообщения подписчикам: сегодня отправлено 1, ждут отправки 0, ждут дневной сводки 1" in shown
    assert "Вопросы /ask сегодня: 2 (ответила модель: 1, найдены места в статье: 1)" in shown
