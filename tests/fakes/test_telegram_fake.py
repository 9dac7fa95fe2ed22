"""The fake Bot API answers aiogram's real Bot the way Telegram does.

Every test drives ``FakeTelegram`` through aiogram over HTTP, so a fake that drifts from
what aiogram sends or expects fails here first.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    AiogramError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import BotCommand, InputRichMessage, Message

from tests.fakes.telegram import FakeTelegram, make_bot
from tests.fakes.telegram_html import HtmlError, parse_html, parse_rich_html

CHANNEL = -1001234567890
USER = 4242


@pytest.fixture
def channel(fake_telegram: FakeTelegram) -> int:
    fake_telegram.add_chat(CHANNEL, type="channel", title="Paper digest", username="digest_test")
    return CHANNEL


# --- sending and editing ----------------------------------------------------------------------


async def test_send_message_parses_html_into_entities(telegram_bot: Bot, fake_telegram, channel: int) -> None:
    first = await telegram_bot.send_message(channel, "<b>Суть</b> &amp; 😀 <i>итог</i>", parse_mode="HTML")
    second = await telegram_bot.send_message("@digest_test", "второе")

    assert (first.message_id, second.message_id) == (1, 2)
    assert first.text == "Суть & 😀 итог"
    assert [(e.type, e.offset, e.length) for e in first.entities] == [
        ("bold", 0, 4),
        ("italic", 10, 4),
    ]  # offsets in UTF-16: the emoji counts 2
    assert first.sender_chat.id == channel
    stored = fake_telegram.sent[0]
    assert (stored.chat_id, stored.parse_mode, stored.source) == (channel, "HTML", "<b>Суть</b> &amp; 😀 <i>итог</i>")


async def test_message_ids_count_per_chat(telegram_bot: Bot, fake_telegram, channel: int) -> None:
    fake_telegram.push_message(USER, USER, "/start")  # the user's message takes id 1
    in_private = await telegram_bot.send_message(USER, "привет")
    in_channel = await telegram_bot.send_message(channel, "пост")
    assert (in_private.message_id, in_channel.message_id) == (2, 1)


async def test_edit_applies_and_identical_edit_is_refused(telegram_bot: Bot, fake_telegram, channel: int) -> None:
    sent = await telegram_bot.send_message(channel, "метаданные…")
    edited = await telegram_bot.edit_message_text(
        "<b>PDF…</b>", chat_id=channel, message_id=sent.message_id, parse_mode="HTML"
    )
    assert edited.text == "PDF…" and edited.edit_date is not None
    assert [m.text for m in fake_telegram.messages_in(channel)] == ["PDF…"]
    assert fake_telegram.sent[0].text == "метаданные…"  # the send log keeps what was sent

    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await telegram_bot.edit_message_text(
            "<b>PDF…</b>", chat_id=channel, message_id=sent.message_id, parse_mode="HTML"
        )
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await telegram_bot.edit_message_text("x", chat_id=channel, message_id=99)


async def test_delete_message(telegram_bot: Bot, fake_telegram, channel: int) -> None:
    sent = await telegram_bot.send_message(channel, "временное")
    assert await telegram_bot.delete_message(channel, sent.message_id) is True
    assert fake_telegram.messages_in(channel) == []
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await telegram_bot.delete_message(channel, sent.message_id)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("x < y", 'Unsupported start tag "" at byte offset 2'),
        ("a & b", 'Unescaped "&" at byte offset 2'),
        ("<b>жирный", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("<h1>x</h1>", 'Unsupported start tag "h1"'),
        ("<code><b>x</b></code>", 'Tag "b" can\'t be nested inside "code"'),
        ("<blockquote><blockquote>x</blockquote></blockquote>", "Blockquotes can't be nested"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
        ("<a>x</a>", 'Tag "a" must have a non-empty attribute "href"'),
        ("Ж<b", "Unclosed start tag at byte offset 2"),  # byte offsets: "Ж" is 2 bytes
        ("&foo;", 'Unescaped "&"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
    ],
)
async def test_bad_html_is_refused_like_telegram(
    telegram_bot: Bot, fake_telegram, channel: int, text: str, error: str
) -> None:
    with pytest.raises(TelegramBadRequest, match="can't parse entities: " + _escape(error)):
        await telegram_bot.send_message(channel, text, parse_mode="HTML")
    assert fake_telegram.sent == []


@pytest.mark.parametrize(
    "text",
    [
        '<a href="https://arxiv.org/abs/2412.06769?a=1&amp;b=2">arXiv</a>',
        '<pre><code class="language-python">print("&lt;")</code></pre>',
        "<blockquote expandable>заметка</blockquote>",
        '<tg-spoiler>s</tg-spoiler> <span class="tg-spoiler">s</span> <u>u</u> <s>s</s>',
        "<b>жирный <i>и курсив <code>код</code></i></b> &#128512; &#x1F9E0; &quot; &gt; >",
    ],
)
def test_good_html_is_accepted(text: str) -> None:
    parse_html(text)


async def test_length_is_counted_in_utf16_after_parsing(telegram_bot: Bot, channel: int) -> None:
    await telegram_bot.send_message(channel, "😀" * 2048)  # 4,096 UTF-16 units
    await telegram_bot.send_message(channel, "<b>" + "я" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await telegram_bot.send_message(channel, "😀" * 2048 + "!")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await telegram_bot.send_message(channel, "&amp;" * 4097, parse_mode="HTML")


@pytest.mark.parametrize("text", ["", "   ", "<b> </b>"])
async def test_empty_text_is_refused(telegram_bot: Bot, channel: int, text: str) -> None:
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await telegram_bot.send_message(channel, text, parse_mode="HTML")


async def test_unknown_chat_and_blocked_user(telegram_bot: Bot, fake_telegram) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await telegram_bot.send_message(777, "кто здесь?")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await telegram_bot.send_message("@nobody", "кто здесь?")
    fake_telegram.push_message(USER, USER, "/start")
    fake_telegram.forbid(USER)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await telegram_bot.send_message(USER, "привет")


# --- rich messages ------------------------------------------------------------------------------


async def test_rich_message_is_stored_and_returned_as_blocks(telegram_bot: Bot, fake_telegram, channel: int) -> None:
    html = (
        '<h1>Coconut</h1><p>Статья: <a href="https://arxiv.org/abs/2412.06769">arxiv</a>'
        "</p><h2>Метод</h2><ul><li>шаг <tg-math>h_t</tg-math></li></ul>"
        "<tg-math-block>\\frac{a}{b}</tg-math-block>"
    )
    sent = await telegram_bot.send_rich_message(channel, InputRichMessage(html=html))

    types = [block.type for block in sent.rich_message.blocks]
    assert types == ["heading", "paragraph", "heading", "list", "mathematical_expression"]
    stored = fake_telegram.messages_in(channel)[0]
    assert stored.rich == {"html": html} and stored.text is None

    edited = await telegram_bot.edit_message_text(
        chat_id=channel, message_id=sent.message_id, rich_message=InputRichMessage(html="<p>ok</p>")
    )
    assert [b.type for b in edited.rich_message.blocks] == ["paragraph"]


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("<p>x</p>" * 501, "too many blocks"),
        ("<ul>" + "<li>x</li>" * 500 + "</ul>", "too many blocks"),  # 1 list + 500 items
        ("<p>" + "я" * 32769 + "</p>", "rich message is too long"),
        ("<p><tg-math>" + "x" * 32768 + "</tg-math>a</p>", "rich message is too long"),
        ("<p>x<p>y</p></p>", 'Block tag "p" can\'t be inside "p"'),
        ("<ul>x</ul>", 'Text can\'t be directly inside "ul"'),
        ("<p>a &amp b</p>", 'Unescaped "&"'),
        ("<tg-math><b>x</b></tg-math>", 'can\'t be nested inside "tg-math"'),
        ("<marquee>x</marquee>", 'Unsupported start tag "marquee"'),
    ],
)
async def test_rich_limits_and_structure(telegram_bot: Bot, channel: int, html: str, error: str) -> None:
    with pytest.raises(TelegramBadRequest, match=_escape(error)):
        await telegram_bot.send_rich_message(channel, InputRichMessage(html=html))


def test_rich_limits_count_what_telegram_counts() -> None:
    _, stats = parse_rich_html("<p>x</p>" * 499 + "<hr/>")
    assert stats.blocks == 500
    _, stats = parse_rich_html("<ul><li>a<ul><li>b</li></ul></li></ul>loose text")
    assert (stats.blocks, stats.depth) == (2 + 2 + 2 + 1, 4)  # lists, items, item texts, loose
    with pytest.raises(HtmlError, match="deeper than 16"):
        parse_rich_html("<blockquote>" * 17 + "x" + "</blockquote>" * 17)


# --- faults ---------------------------------------------------------------------------------------


async def test_flood_control_answers_429_with_retry_after(telegram_bot: Bot, fake_telegram, channel: int) -> None:
    fake_telegram.flood_next("sendMessage", retry_after=7, times=2)
    for _ in range(2):
        with pytest.raises(TelegramRetryAfter) as caught:
            await telegram_bot.send_message(channel, "пост")
        assert caught.value.retry_after == 7
    await telegram_bot.send_message(channel, "пост")  # the third goes through
    assert len(fake_telegram.sent) == 1
    assert len(fake_telegram.calls("sendMessage")) == 3


async def test_a_send_rate_limit_answers_429_until_a_second_has_passed(
    telegram_bot: Bot, fake_telegram, channel: int
) -> None:
    fake_telegram.limit_sends(3)
    for _ in range(3):
        await telegram_bot.send_message(channel, "пост")
    with pytest.raises(TelegramRetryAfter) as caught:
        await telegram_bot.send_message(channel, "пост")
    assert caught.value.retry_after == 1
    await telegram_bot.get_me()  # not a send: never limited
    await asyncio.sleep(1.05)
    await telegram_bot.send_message(channel, "пост")
    assert len(fake_telegram.sent) == 4
    assert [d.method for d in fake_telegram.refused()] == ["sendMessage"]  # the 429, counted as refused


async def test_server_errors(telegram_bot: Bot, fake_telegram, channel: int) -> None:
    fake_telegram.fail_next("sendMessage", status=500)
    with pytest.raises(TelegramServerError):
        await telegram_bot.send_message(channel, "пост")
    fake_telegram.fail_next("sendMessage", status=502)
    with pytest.raises(AiogramError):  # an nginx HTML page: aiogram cannot decode it
        await telegram_bot.send_message(channel, "пост")
    assert fake_telegram.sent == []


async def test_delay_makes_the_outcome_unknown(fake_telegram, channel: int) -> None:
    bot = make_bot(fake_telegram, timeout=0.3)
    fake_telegram.delay_next("sendMessage", 1.0)
    try:
        with pytest.raises(TelegramNetworkError, match="timeout"):
            await bot.send_message(channel, "пост")
    finally:
        await bot.session.close()
    assert [m.text for m in fake_telegram.sent] == ["пост"]  # sent, though the caller can't know


async def test_wrong_token_is_unauthorized(fake_telegram) -> None:
    bot = make_bot(fake_telegram, token="999:WRONG")
    try:
        with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
            await bot.get_me()
    finally:
        await bot.session.close()


# --- polling --------------------------------------------------------------------------------------


async def test_polling_delivers_queued_updates_in_order(telegram_bot: Bot, fake_telegram) -> None:
    for text in ("/start", "/review 2412.06769", "https://arxiv.org/abs/2405.14838"):
        fake_telegram.push_message(USER, USER, text, username="reader")
    seen: list[str] = []
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def collect(message: Message) -> None:
        seen.append(message.text)
        if len(seen) == 3:
            await dispatcher.stop_polling()

    await asyncio.wait_for(
        dispatcher.start_polling(telegram_bot, handle_signals=False, close_bot_session=False, polling_timeout=1),
        timeout=10,
    )
    assert seen == ["/start", "/review 2412.06769", "https://arxiv.org/abs/2405.14838"]
    offsets = [c.params.get("offset") for c in fake_telegram.calls("getUpdates")]
    assert offsets[0] is None


async def test_get_updates_confirms_by_offset(telegram_bot: Bot, fake_telegram) -> None:
    ids = [fake_telegram.push_message(USER, USER, text) for text in ("a", "b", "c")]
    assert [u.update_id for u in await telegram_bot.get_updates()] == ids
    assert [u.update_id for u in await telegram_bot.get_updates(offset=ids[1])] == ids[1:]
    assert await telegram_bot.get_updates(offset=ids[2] + 1) == []
    assert fake_telegram.pending_updates == []


async def test_allowed_updates_filter(telegram_bot: Bot, fake_telegram) -> None:
    fake_telegram.push_update(
        {
            "callback_query": {
                "id": "1",
                "from": {"id": USER, "is_bot": False, "first_name": "T"},
                "chat_instance": "c",
                "data": "post",
            }
        }
    )
    fake_telegram.push_message(USER, USER, "текст")
    updates = await telegram_bot.get_updates(allowed_updates=["message"])
    assert [u.message.text for u in updates] == ["текст"]
    updates = await telegram_bot.get_updates(allowed_updates=["callback_query"])
    assert updates[0].callback_query.data == "post"


async def test_reaction_counts_come_only_when_asked_for(telegram_bot: Bot, fake_telegram) -> None:
    fake_telegram.add_chat(-100777, type="channel", username="digest")
    fake_telegram.push_reaction_count(-100777, 12, {"👍": 3, "custom:555": 1, "paid": 2}, date=1_700_000_000)
    fake_telegram.push_message(USER, USER, "текст")
    assert [u.message.text for u in await telegram_bot.get_updates()] == ["текст"]  # like Telegram: not by default
    [update] = await telegram_bot.get_updates(allowed_updates=["message_reaction_count"])
    counted = update.message_reaction_count
    assert (counted.chat.id, counted.chat.username, counted.message_id) == (-100777, "digest", 12)
    assert [(r.type.type, r.total_count) for r in counted.reactions] == [("emoji", 3), ("custom_emoji", 1), ("paid", 2)]
    assert counted.reactions[0].type.emoji == "👍" and counted.date.timestamp() == 1_700_000_000


async def test_a_webhook_keeps_its_allowed_updates(telegram_bot: Bot, fake_telegram) -> None:
    await telegram_bot.set_webhook("https://example.org/hook", allowed_updates=["message", "message_reaction_count"])
    assert (await telegram_bot.get_webhook_info()).allowed_updates == ["message", "message_reaction_count"]
    await telegram_bot.delete_webhook()


async def test_long_poll_waits_then_returns_when_an_update_arrives(telegram_bot: Bot, fake_telegram) -> None:
    started = time.monotonic()
    assert await telegram_bot.get_updates(timeout=1) == []
    assert time.monotonic() - started >= 0.9

    asyncio.get_running_loop().call_later(0.2, fake_telegram.push_message, USER, USER, "ага")
    started = time.monotonic()
    updates = await telegram_bot.get_updates(timeout=10)
    assert [u.message.text for u in updates] == ["ага"]
    assert time.monotonic() - started < 2


async def test_long_poll_returns_when_the_server_stops() -> None:
    fake = FakeTelegram()
    fake.start()
    bot = make_bot(fake)
    try:
        poll = asyncio.ensure_future(bot.get_updates(timeout=20))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        await asyncio.to_thread(fake.stop)
        assert await asyncio.wait_for(poll, 5) == []
        assert time.monotonic() - started < 2
    finally:
        await bot.session.close()
        fake.stop()


async def test_conflict_when_another_instance_polls(telegram_bot: Bot, fake_telegram) -> None:
    first = asyncio.ensure_future(telegram_bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    second = asyncio.ensure_future(telegram_bot.get_updates(timeout=5))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await first
    fake_telegram.push_message(USER, USER, "ещё")
    assert [u.message.text for u in await second] == ["ещё"]  # the newer poll lives on

    fake_telegram.conflict_polling()
    with pytest.raises(TelegramConflictError, match="only one bot instance is running"):
        await telegram_bot.get_updates()
    fake_telegram.conflict_polling(False)
    assert len(await telegram_bot.get_updates()) == 1


async def test_webhook_blocks_polling_until_deleted(telegram_bot: Bot, fake_telegram) -> None:
    await telegram_bot.set_webhook("https://example.org/hook")
    assert (await telegram_bot.get_webhook_info()).url == "https://example.org/hook"
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await telegram_bot.get_updates()
    await telegram_bot.delete_webhook(drop_pending_updates=True)
    assert await telegram_bot.get_updates() == []


@pytest.mark.parametrize("how", ["get", "json", "form", "multipart"])
async def test_every_body_encoding_is_read(fake_telegram, channel: int, how: str) -> None:
    url = f"{fake_telegram.url}/bot{fake_telegram.token}/sendMessage"
    params = {"chat_id": str(channel), "text": "<b>тело</b>", "parse_mode": "HTML"}
    async with aiohttp.ClientSession() as http:
        if how == "get":
            response = await http.get(url, params=params)
        elif how == "json":
            response = await http.post(url, json=params | {"chat_id": channel})
        elif how == "form":
            response = await http.post(url, data=params)
        else:
            form = aiohttp.FormData(params)
            form.add_field("document", b"ignored", filename="x.bin")  # forces multipart
            response = await http.post(url, data=form)
        body = await response.json()
    assert body["ok"] is True and body["result"]["text"] == "тело"
    assert fake_telegram.calls("sendMessage")[0].params["parse_mode"] == "HTML"


# --- the rest of what the bot calls -------------------------------------------------------------


async def test_chat_info_commands_and_actions(telegram_bot: Bot, fake_telegram, channel: int) -> None:
    me = await telegram_bot.get_me()
    assert me.is_bot and me.id == int(fake_telegram.token.split(":")[0])
    assert (await telegram_bot.get_chat("@digest_test")).title == "Paper digest"
    assert (await telegram_bot.get_chat_member(channel, me.id)).status == "administrator"
    assert (await telegram_bot.get_chat_member(channel, USER)).status == "left"
    await telegram_bot.set_my_commands([BotCommand(command="review", description="обзор")])
    assert fake_telegram.commands == [{"command": "review", "description": "обзор"}]
    assert await telegram_bot.send_chat_action(channel, "typing") is True
    assert await telegram_bot.answer_callback_query("cb-1", text="ok") is True


async def test_file_download(telegram_bot: Bot, fake_telegram) -> None:
    fake_telegram.add_file("doc-1", b"%PDF-1.4 test")
    file = await telegram_bot.get_file("doc-1")
    data = await telegram_bot.download_file(file.file_path)
    assert data.read() == b"%PDF-1.4 test"


def _escape(text: str) -> str:
    import re

    return re.escape(text)
