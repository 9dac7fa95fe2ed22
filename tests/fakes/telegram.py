"""A local Telegram Bot API server, for tests and the offline demo.

Why: the bot must meet what Telegram really answers — 400 "can't parse entities" for bad
HTML, "message is too long" past 4,096 UTF-16 units, "message is not modified", 429 with
``retry_after``, 409 when a second instance polls, 401 for a wrong token — and long polling
must deliver queued updates in order, while no test reaches the internet. aiogram's real
``Bot`` is pointed at it::

    with FakeTelegram(token="123456:TEST") as fake:
        bot = make_bot(fake)  # Bot(token, session=AiohttpSession(api=
                              #     TelegramAPIServer.from_base(fake.url)))
        fake.add_chat(-1001, type="channel", username="digest")
        fake.push_message(chat_id=42, user_id=42, text="/review 2412.06769")
        fake.flood_next("sendMessage", retry_after=3)

Routes: ``/bot{token}/{method}`` (GET or POST; query, JSON, urlencoded and multipart
bodies, as aiogram sends them) and ``/file/bot{token}/{path}``. HTML is checked by
``tests/fakes/telegram_html.py`` (stricter than Telegram where that keeps us honest).
Errors use Telegram's JSON shape ``{"ok": false, "error_code": …, "description": …}``,
except 502–504, which come as an nginx HTML page like Telegram's front end sends.

What the fake does not do: MarkdownV2 parse mode, media, inline mode, webhooks delivery
(setWebhook is stored so getUpdates answers 409 like Telegram, nothing is posted).
"""

from __future__ import annotations

import asyncio
import collections
import copy
import itertools
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

from bot.wire import WireAwareSession
from tests.fakes._server import FakeServer
from tests.fakes.telegram_html import (
    MESSAGE_LIMIT,
    RICH_BLOCK_LIMIT,
    RICH_CHAR_LIMIT,
    HtmlError,
    RichStats,
    parse_html,
    parse_rich_html,
    rich_blocks,
    utf16_len,
)

DEFAULT_TOKEN = "123456789:TEST-fake-token"
CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply "
    "markup are exactly the same as a current content and reply markup of the message"
)
JSON_FIELDS = {
    "rich_message",
    "reply_markup",
    "allowed_updates",
    "entities",
    "commands",
    "reply_parameters",
    "link_preview_options",
    "scope",
}
# Telegram leaves these out unless allowed_updates names them.
NOT_BY_DEFAULT = {"chat_member", "message_reaction", "message_reaction_count"}
NGINX_PAGE = (
    "<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n<center>"
    "<h1>{status} {phrase}</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)
PHRASES = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Time-out"}


class ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters


@dataclass
class FakeChat:
    id: int
    type: str  # private, group, supergroup, channel
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    admins: set[int] = field(default_factory=set)
    members: set[int] = field(default_factory=set)

    def as_dict(self) -> dict:
        fields = {
            "id": self.id,
            "type": self.type,
            "title": self.title,
            "username": self.username,
            "first_name": self.first_name,
        }
        return {k: v for k, v in fields.items() if v is not None}


@dataclass
class StoredMessage:
    """A message the bot sent, as the fake keeps it (``text`` is after entity parsing)."""

    chat_id: int
    message_id: int
    date: int
    text: str | None = None
    parse_mode: str | None = None
    entities: list[dict] = field(default_factory=list)
    source: str | None = None  # the text as sent, e.g. the HTML
    rich: dict | None = None  # the InputRichMessage as sent
    rich_blocks: list[dict] | None = None  # what Telegram would return for it
    reply_markup: dict | None = None
    edit_date: int | None = None
    reply_to: int | None = None  # the message it replies to (reply_parameters.message_id)

    def content(self) -> tuple:
        return self.text, self.entities, self.rich_blocks, self.reply_markup


@dataclass(frozen=True)
class RecordedCall:
    method: str
    params: dict
    at: float


@dataclass(frozen=True)
class Delivery:
    """A call Telegram carried out (not refused by a fault, an error or flood control)."""

    method: str
    chat_id: str
    at: float


@dataclass(frozen=True)
class Fault:
    status: int
    retry_after: int | None = None


class FakeTelegram(FakeServer):
    """The Bot API methods a polling bot and a channel publisher use; see the module doc."""

    # Telegram carries out a request it received whole even when the client has gone (a
    # timed-out sendMessage still arrives: python-telegram-bot issue #1045); so does the fake.
    cancel_on_disconnect = False

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_username: str = "paperdigest_test_bot",
    ) -> None:
        super().__init__(host, port)
        self.token = token
        self.bot_user = {
            "id": int(token.split(":")[0]),
            "is_bot": True,
            "first_name": "PaperDigest",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self._state = threading.RLock()
        self._handlers: dict[str, Callable[[dict], Any]] = {name.lower(): getattr(self, "_" + name) for name in METHODS}
        self._closing = False
        self._poll_event: asyncio.Event | None = None
        self._clear_state()

    def _clear_state(self) -> None:
        with self._state:
            self._chats: dict[int, FakeChat] = {}
            self._messages: dict[int, dict[int, StoredMessage]] = {}
            self._forwards: dict[tuple[int, int], dict] = {}  # automatic forwards into discussion groups
            self._next_id: dict[int, int] = {}
            self._sent: list[StoredMessage] = []
            self._updates: list[dict] = []
            self._update_ids = itertools.count(1000)
            self._allowed: set[str] | None = None
            self._webhook: dict = {}
            self._commands: list[dict] = []
            self._files: dict[str, bytes] = {}
            self._forbidden: dict[int, str] = {}
            self._conflict = False
            self._poll_generation = 0
            self._send_rate: float | None = None  # send/edit calls per second; no limit unless limit_sends()
            self._send_times: collections.deque[float] = collections.deque()
            self._delivered: list[Delivery] = []
            self._refused: list[Delivery] = []  # calls a scripted fault answered (nothing carried out)

    # --- lifecycle ---------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        return app

    def start(self) -> str:
        self._closing = False
        return super().start()

    def stop(self) -> None:
        """Answer waiting getUpdates calls with no updates, then stop serving."""
        if self._loop is not None and self._runner is not None:
            self._closing = True
            self._loop.call_soon_threadsafe(self._wake_pollers)
        super().stop()

    def reset(self) -> None:
        """Forget chats, messages, updates, faults, settings and the request log."""
        self._clear_state()
        self.clear_scripts()
        self.clear_requests()
        self._wake()

    # --- what a test sets up ------------------------------------------------------------

    def add_chat(
        self,
        chat_id: int,
        *,
        type: str = "channel",
        title: str | None = "Digest",
        username: str | None = None,
        admins: tuple[int, ...] = (),
    ) -> FakeChat:
        chat = FakeChat(
            chat_id,
            type,
            title if type != "private" else None,
            username.lstrip("@") if username else None,
            "User" if type == "private" else None,
            set(admins),
        )
        with self._state:
            self._chats[chat_id] = chat
        return chat

    def push_message(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        username: str | None = None,
        first_name: str = "Тест",
        reply_to: int | None = None,
    ) -> int:
        """Queue a user's text message as an update; returns its update_id. ``reply_to``: the id of
        the bot's message (or of an automatic forward, ``forward_to_discussion``) it replies to."""
        user = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "ru"}
        if username:
            user["username"] = username
        with self._state:
            chat = self._chats.get(chat_id) or self._private_or_group(chat_id, user)
            chat.members.add(user_id)
            message = {
                "message_id": self._take_message_id(chat_id),
                "date": int(time.time()),
                "chat": chat.as_dict(),
                "from": user,
                "text": text,
            }
            if reply_to is not None:
                forwarded = self._forwards.get((chat_id, reply_to))
                message["reply_to_message"] = forwarded or self._message_dict(chat, self._messages[chat_id][reply_to])
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        return self.push_update({"message": message})

    def push_update(self, update: dict) -> int:
        """Queue any update (``update_id`` is added when missing); returns its update_id."""
        update = dict(update)
        with self._state:
            update.setdefault("update_id", next(self._update_ids))
            self._updates.append(update)
            self._updates.sort(key=lambda u: u["update_id"])
        self._wake()
        return update["update_id"]

    def forward_to_discussion(self, group_id: int, channel_id: int, post_id: int) -> int:
        """Telegram's automatic forward of a channel post into the channel's linked discussion
        group (``is_automatic_forward``); returns its message id in the group."""
        with self._state:
            group, channel = self._chats[group_id], self._chats[channel_id]
            post = self._messages[channel_id][post_id]
            message = self._message_dict(channel, post)
            message.update(
                message_id=self._take_message_id(group_id),
                chat=group.as_dict(),
                is_automatic_forward=True,
                forward_origin={"type": "channel", "chat": channel.as_dict(), "message_id": post_id, "date": post.date},
            )
            self._forwards[(group_id, message["message_id"])] = message
        return message["message_id"]

    def push_callback(self, chat_id: int, user_id: int, message_id: int, data: str) -> int:
        """Queue a press of an inline button under the bot's message ``message_id``; returns its update_id."""
        user = {"id": user_id, "is_bot": False, "first_name": "Тест", "language_code": "ru"}
        with self._state:
            chat = self._chats[chat_id]
            message = self._message_dict(chat, self._messages[chat_id][message_id])
            query_id = f"{chat_id}:{message_id}:{time.time_ns()}"
        query = {"id": query_id, "from": user, "chat_instance": str(chat_id), "message": message, "data": data}
        return self.push_update({"callback_query": query})

    def push_reaction_count(
        self, chat_id: int, message_id: int, reactions: dict[str, int], *, date: int | None = None
    ) -> int:
        """Queue a `message_reaction_count` update: the current counts of a channel message's
        reactions (emoji → count; "custom:<id>" for a custom emoji, "paid" for stars), as
        Telegram sends to a bot that administers the channel; returns its update_id."""
        with self._state:
            chat = self._chats.get(chat_id) or FakeChat(chat_id, "channel", "Digest")
        update = {
            "message_reaction_count": {
                "chat": chat.as_dict(),
                "message_id": message_id,
                "date": int(time.time()) if date is None else date,
                "reactions": [{"type": _reaction_type(key), "total_count": n} for key, n in reactions.items()],
            }
        }
        return self.push_update(update)

    def add_file(self, file_id: str, data: bytes) -> str:
        """Serve ``data`` for getFile(file_id); returns its file_path."""
        with self._state:
            self._files[file_id] = data
        return f"documents/{file_id}"

    def forbid(self, chat_id: int, description: str = "Forbidden: bot was blocked by the user") -> None:
        """Sends to ``chat_id`` answer 403 from now on."""
        with self._state:
            self._forbidden[chat_id] = description

    # --- faults ------------------------------------------------------------------------

    def flood_next(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer 429 with ``retry_after``."""
        self.script(("fail", method.lower()), Fault(429, retry_after), times)

    def fail_next(self, method: str, status: int = 500, times: int = 1) -> None:
        self.script(("fail", method.lower()), Fault(status), times)

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        """Carry out the next call(s), then hold the answer: the caller cannot know the outcome."""
        self.script(("delay", method.lower()), seconds, times)

    def limit_sends(self, per_second: float | None = 30.0) -> None:
        """Telegram's flood control for a whole bot: at most ``per_second`` send/edit calls in
        any second, the rest answered 429 with retry_after in whole seconds (None: no limit)."""
        with self._state:
            self._send_rate = per_second
            self._send_times.clear()

    def _flooded(self, key: str) -> int | None:
        """Seconds to wait if a send now would pass the limit; records the send otherwise."""
        if self._send_rate is None or not key.startswith(("send", "edit")):
            return None
        now = time.monotonic()
        with self._state:
            while self._send_times and self._send_times[0] <= now - 1.0:
                self._send_times.popleft()
            if len(self._send_times) >= self._send_rate:
                return max(1, math.ceil(self._send_times[0] + 1.0 - now))
            self._send_times.append(now)
        return None

    def conflict_polling(self, active: bool = True) -> None:
        """getUpdates answers 409, as when another instance polls the same token."""
        with self._state:
            self._conflict = active
        self._wake()

    # --- what a test reads --------------------------------------------------------------

    def delivered(self, *methods: str) -> list[Delivery]:
        """The calls of these methods (none named: of every method) that were carried out, oldest
        first (cheap: no deep copy)."""
        wanted = {m.lower() for m in methods}
        with self._state:
            return [d for d in self._delivered if not wanted or d.method.lower() in wanted]

    def refused(self, *methods: str) -> list[Delivery]:
        """The calls of these methods (none named: of every method) that a scripted fault (5xx,
        429) or the send limit answered: not carried out."""
        wanted = {m.lower() for m in methods}
        with self._state:
            return [d for d in self._refused if not wanted or d.method.lower() in wanted]

    @property
    def sent(self) -> list[StoredMessage]:
        """Every message the bot sent, as it was when sent (edits are not applied)."""
        with self._state:
            return copy.deepcopy(self._sent)

    def messages_in(self, chat_id: int | str) -> list[StoredMessage]:
        """The bot's messages now in the chat, oldest first, edits applied, deletions gone."""
        with self._state:
            chat_id = self._resolve(chat_id)
            messages = self._messages.get(chat_id, {})
            return [copy.deepcopy(messages[k]) for k in sorted(messages)]

    def calls(self, method: str) -> list[RecordedCall]:
        return [c for c in self.requests if c.method.lower() == method.lower()]

    @property
    def pending_updates(self) -> list[dict]:
        with self._state:
            return copy.deepcopy(self._updates)

    @property
    def commands(self) -> list[dict]:
        with self._state:
            return copy.deepcopy(self._commands)

    # --- HTTP ------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _error(ApiError(401, "Unauthorized"))
        method = request.match_info["method"]
        try:
            params = await _params(request)
        except ApiError as err:
            return _error(err)
        self.record(RecordedCall(method, params, time.monotonic()))
        key = method.lower()
        if (fault := self.take(("fail", key))) is not None:
            with self._state:
                self._refused.append(Delivery(method, str(params.get("chat_id")), time.monotonic()))
            return _fault(fault)
        if (wait := self._flooded(key)) is not None:
            with self._state:
                self._refused.append(Delivery(method, str(params.get("chat_id")), time.monotonic()))
            return _fault(Fault(429, wait))
        handler = self._handlers.get(key)
        try:
            if handler is None:
                raise ApiError(404, "Not Found")
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
        except ApiError as err:
            return _error(err)
        with self._state:
            self._delivered.append(Delivery(method, str(params.get("chat_id")), time.monotonic()))
        if (seconds := self.take(("delay", key))) is not None:
            await asyncio.sleep(seconds)
        return web.json_response({"ok": True, "result": result})

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401, text="Unauthorized")
        file_id = request.match_info["path"].rsplit("/", 1)[-1]
        with self._state:
            data = self._files.get(file_id)
        if data is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=data, content_type="application/octet-stream")

    # --- chats and messages --------------------------------------------------------------

    def _private_or_group(self, chat_id: int, user: dict) -> FakeChat:
        kind = "private" if chat_id > 0 else "supergroup" if chat_id < -(10**12) else "group"
        chat = FakeChat(
            chat_id,
            kind,
            None if kind == "private" else "Group",
            user.get("username") if kind == "private" else None,
            user["first_name"] if kind == "private" else None,
        )
        self._chats[chat_id] = chat
        return chat

    def _resolve(self, chat_ref: Any) -> int:
        text = str(chat_ref).strip()
        if text.lstrip("-").isdigit():
            return int(text)
        name = text.lstrip("@").lower()
        for chat in self._chats.values():
            if chat.username and chat.username.lower() == name:
                return chat.id
        raise ApiError(400, "Bad Request: chat not found")

    def _chat(self, params: dict) -> FakeChat:
        if params.get("chat_id") in (None, ""):
            raise ApiError(400, "Bad Request: chat_id is empty")
        chat = self._chats.get(self._resolve(params["chat_id"]))
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        if chat.id in self._forbidden:
            raise ApiError(403, self._forbidden[chat.id])
        return chat

    def _replied(self, chat: FakeChat, replying: dict | None) -> int | None:
        """The id a message replies to; Telegram refuses one that never existed unless told to send anyway."""
        if not replying:
            return None
        message_id = int(replying.get("message_id", 0))
        if not 0 < message_id <= self._next_id.get(chat.id, 0):
            if replying.get("allow_sending_without_reply"):
                return None
            raise ApiError(400, "Bad Request: message to be replied not found")
        return message_id

    def _take_message_id(self, chat_id: int) -> int:
        self._next_id[chat_id] = self._next_id.get(chat_id, 0) + 1
        return self._next_id[chat_id]

    def _message_dict(self, chat: FakeChat, stored: StoredMessage) -> dict:
        message = {"message_id": stored.message_id, "date": stored.date, "chat": chat.as_dict()}
        if chat.type == "channel":
            message["sender_chat"] = chat.as_dict()
        else:
            message["from"] = self.bot_user
        if stored.rich_blocks is not None:
            message["rich_message"] = {"blocks": stored.rich_blocks}
        else:
            message["text"] = stored.text
            if stored.entities:
                message["entities"] = stored.entities
        if stored.reply_markup:
            message["reply_markup"] = stored.reply_markup
        if stored.edit_date:
            message["edit_date"] = stored.edit_date
        return message

    def _store(self, chat: FakeChat, content: dict) -> dict:
        stored = StoredMessage(chat.id, self._take_message_id(chat.id), int(time.time()), **content)
        self._messages.setdefault(chat.id, {})[stored.message_id] = stored
        self._sent.append(copy.deepcopy(stored))
        return self._message_dict(chat, stored)

    def _find(self, params: dict, missing: str) -> tuple[FakeChat, StoredMessage]:
        if params.get("inline_message_id"):
            raise ApiError(400, "Bad Request: inline messages are not supported by the fake")
        chat = self._chat(params)
        try:
            message_id = int(params.get("message_id", ""))
        except ValueError:
            raise ApiError(400, "Bad Request: message identifier is not specified") from None
        stored = self._messages.get(chat.id, {}).get(message_id)
        if stored is None:
            raise ApiError(400, f"Bad Request: {missing}")
        return chat, stored

    # --- methods: see METHODS below --------------------------------------------------------

    def _getMe(self, params: dict) -> dict:
        return self.bot_user

    def _sendMessage(self, params: dict) -> dict:
        with self._state:
            chat = self._chat(params)
            content = _text_content(params) | {"reply_markup": params.get("reply_markup")}
            return self._store(chat, content | {"reply_to": self._replied(chat, params.get("reply_parameters"))})

    def _sendRichMessage(self, params: dict) -> dict:
        with self._state:
            chat = self._chat(params)
            content = _rich_content(params.get("rich_message"))
            return self._store(chat, content | {"reply_markup": params.get("reply_markup")})

    def _editMessageText(self, params: dict) -> dict:
        with self._state:
            chat, stored = self._find(params, "message to edit not found")
            if params.get("rich_message"):
                content = _rich_content(params["rich_message"])
            else:
                content = _text_content(params) | {"rich": None, "rich_blocks": None}
            content["reply_markup"] = params.get("reply_markup")
            before = stored.content()
            for key, value in content.items():
                setattr(stored, key, value)
            if stored.content() == before:
                raise ApiError(400, NOT_MODIFIED)
            stored.edit_date = int(time.time())
            return self._message_dict(chat, stored)

    def _deleteMessage(self, params: dict) -> bool:
        with self._state:
            chat, stored = self._find(params, "message to delete not found")
            del self._messages[chat.id][stored.message_id]
            return True

    def _sendChatAction(self, params: dict) -> bool:
        with self._state:
            self._chat(params)
        if not params.get("action"):
            raise ApiError(400, "Bad Request: action is empty")
        return True

    def _answerCallbackQuery(self, params: dict) -> bool:
        if not params.get("callback_query_id"):
            raise ApiError(400, "Bad Request: query_id is empty")
        return True

    def _setMyCommands(self, params: dict) -> bool:
        with self._state:
            self._commands = list(params.get("commands") or [])
        return True

    def _getMyCommands(self, params: dict) -> list:
        return self.commands

    def _setWebhook(self, params: dict) -> bool:
        with self._state:
            self._webhook = {"url": params.get("url", "")}
            if params.get("allowed_updates") is not None:  # as getUpdates: kept until changed
                self._allowed = set(params["allowed_updates"]) or None
            if params.get("drop_pending_updates") in ("true", True):
                self._updates.clear()
        self._wake()
        return True

    def _deleteWebhook(self, params: dict) -> bool:
        with self._state:
            self._webhook = {}
            if params.get("drop_pending_updates") in ("true", True):
                self._updates.clear()
        return True

    def _getWebhookInfo(self, params: dict) -> dict:
        with self._state:
            return {
                "url": self._webhook.get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            } | ({"allowed_updates": sorted(self._allowed)} if self._allowed else {})

    def _getChat(self, params: dict) -> dict:
        with self._state:
            chat = self._chat(params)
        gifts = dict.fromkeys(
            ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription", "gifts_from_channels"), False
        )
        return chat.as_dict() | {"accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": gifts}

    def _getChatMember(self, params: dict) -> dict:
        with self._state:
            chat = self._chat(params)
            user_id = int(params.get("user_id") or 0)
            is_bot = user_id == self.bot_user["id"]
            user = self.bot_user if is_bot else {"id": user_id, "is_bot": False, "first_name": "User"}
            if is_bot and chat.type == "channel" or user_id in chat.admins:
                return _administrator(user, chat.type == "channel")
            if is_bot or user_id in chat.members or chat.type == "private" and user_id == chat.id:
                return {"status": "member", "user": user}
            return {"status": "left", "user": user}

    def _getFile(self, params: dict) -> dict:
        file_id = params.get("file_id", "")
        with self._state:
            data = self._files.get(file_id)
        if data is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": len(data),
            "file_path": f"documents/{file_id}",
        }

    async def _getUpdates(self, params: dict) -> list[dict]:
        offset, limit = _int(params, "offset", 0), min(max(_int(params, "limit", 100), 1), 100)
        deadline = asyncio.get_running_loop().time() + max(_int(params, "timeout", 0), 0)
        with self._state:
            if self._webhook:
                raise ApiError(409, WEBHOOK_CONFLICT)
            if params.get("allowed_updates") is not None:
                self._allowed = set(params["allowed_updates"]) or None
            self._confirm(offset)
            self._poll_generation += 1
            generation = self._poll_generation
        self._wake_pollers()  # an older poll still waiting is terminated, as by Telegram
        while True:
            event = self._poll_event = self._poll_event or asyncio.Event()
            with self._state:
                if self._conflict or generation != self._poll_generation:
                    raise ApiError(409, CONFLICT)
                updates = self._deliverable(limit)
            remaining = deadline - asyncio.get_running_loop().time()
            if updates or self._closing or remaining <= 0:
                return updates
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                pass

    # --- polling internals -------------------------------------------------------------------

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _deliverable(self, limit: int) -> list[dict]:
        def allowed(update: dict) -> bool:
            kind = next(k for k in update if k != "update_id")
            return kind in self._allowed if self._allowed else kind not in NOT_BY_DEFAULT

        return copy.deepcopy([u for u in self._updates if allowed(u)][:limit])

    def _wake(self) -> None:
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._wake_pollers)

    def _wake_pollers(self) -> None:
        # Runs in the server loop: wake every poll waiting on the current event.
        event, self._poll_event = self._poll_event, None
        if event is not None:
            event.set()


METHODS = (
    "getMe",
    "getUpdates",
    "deleteWebhook",
    "setWebhook",
    "getWebhookInfo",
    "setMyCommands",
    "getMyCommands",
    "sendMessage",
    "editMessageText",
    "deleteMessage",
    "sendChatAction",
    "answerCallbackQuery",
    "sendRichMessage",
    "getChat",
    "getChatMember",
    "getFile",
)


# --- a client for it --------------------------------------------------------------------------


class LocalSession(WireAwareSession):
    """The bot's session (aiogram's, plus the trace that tells the relay when a request has
    left), closed without aiogram's 250 ms wait for TLS shutdown: the fake is plain HTTP on
    127.0.0.1, and that wait would add a quarter second to every test."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def make_bot(fake: FakeTelegram, token: str | None = None, timeout: float = 10) -> Bot:
    """An aiogram Bot that talks to ``fake`` (the caller closes ``bot.session``)."""
    session = LocalSession(api=TelegramAPIServer.from_base(fake.url), timeout=timeout)
    return Bot(token or fake.token, session=session)


# --- message content -------------------------------------------------------------------------


def _text_content(params: dict) -> dict:
    text = params.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    parse_mode = params.get("parse_mode") or None
    if parse_mode is None:
        plain, entities = text, list(params.get("entities") or [])
    elif str(parse_mode).lower() == "html":
        try:
            plain, entities = parse_html(text)
        except HtmlError as err:
            raise ApiError(400, f"Bad Request: can't parse entities: {err}") from None
    else:
        raise ApiError(400, "Bad Request: unsupported parse_mode (the fake knows only HTML)")
    if not plain.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if utf16_len(plain) > MESSAGE_LIMIT:
        raise ApiError(400, "Bad Request: message is too long")
    return {"text": plain, "parse_mode": parse_mode, "entities": entities, "source": text}


def _rich_content(rich: Any) -> dict:
    if not isinstance(rich, dict):
        raise ApiError(400, "Bad Request: rich_message must be an InputRichMessage object")
    given = [key for key in ("html", "markdown", "blocks") if rich.get(key)]
    if len(given) != 1:
        raise ApiError(
            400, "Bad Request: exactly one of html, markdown or blocks must be specified in the rich message"
        )
    if given == ["html"]:
        try:
            root, stats = parse_rich_html(rich["html"])
        except HtmlError as err:
            raise ApiError(400, f"Bad Request: can't parse rich message: {err}") from None
        blocks = rich_blocks(root)
    elif given == ["markdown"]:
        stats = RichStats(utf16_len(rich["markdown"]), rich["markdown"].count("\n\n") + 1)
        blocks = [{"type": "paragraph", "text": rich["markdown"]}]
    else:
        blocks, stats = rich["blocks"], _block_stats(rich["blocks"])
    _check_rich_limits(stats, blocks)
    return {"rich": rich, "rich_blocks": blocks, "text": None, "entities": [], "parse_mode": None, "source": None}


def _check_rich_limits(stats: RichStats, blocks: list) -> None:
    if not blocks:
        raise ApiError(400, "Bad Request: rich message is empty")
    if stats.chars > RICH_CHAR_LIMIT:
        raise ApiError(
            400, f"Bad Request: rich message is too long ({stats.chars} characters, at most {RICH_CHAR_LIMIT})"
        )
    if stats.blocks > RICH_BLOCK_LIMIT:
        raise ApiError(
            400, f"Bad Request: rich message has too many blocks ({stats.blocks}, at most {RICH_BLOCK_LIMIT})"
        )


def _block_stats(value: Any) -> RichStats:
    """Size of the ``blocks`` form: every block and list item counts, every string counts."""
    stats = RichStats()

    def walk(node: Any, is_block: bool) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, is_block)
        elif isinstance(node, dict):
            stats.blocks += is_block
            for key, item in node.items():
                walk(item, key in ("blocks", "items"))
        elif isinstance(node, str):
            stats.chars += utf16_len(node)

    walk(value, True)
    return stats


def _reaction_type(key: str) -> dict:
    if key == "paid":
        return {"type": "paid"}
    if key.startswith("custom:"):
        return {"type": "custom_emoji", "custom_emoji_id": key.removeprefix("custom:")}
    return {"type": "emoji", "emoji": key}


def _administrator(user: dict, channel: bool) -> dict:
    rights = dict.fromkeys(
        (
            "can_be_edited",
            "is_anonymous",
            "can_manage_chat",
            "can_delete_messages",
            "can_manage_video_chats",
            "can_restrict_members",
            "can_promote_members",
            "can_change_info",
            "can_invite_users",
            "can_post_stories",
            "can_edit_stories",
            "can_delete_stories",
            "can_send_welcome_messages",
        ),
        True,
    )
    rights |= {"can_be_edited": False, "is_anonymous": False}
    if channel:
        rights |= {"can_post_messages": True, "can_edit_messages": True}
    return {"status": "administrator", "user": user} | rights


# --- HTTP helpers ------------------------------------------------------------------------------


async def _params(request: web.Request) -> dict:
    params: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.body_exists:
        if request.content_type == "application/json":
            try:
                params.update(await request.json())
            except ValueError:
                raise ApiError(400, "Bad Request: can't parse JSON request body") from None
        else:
            for key, value in (await request.post()).items():
                params[key] = value if isinstance(value, str) else value.file.read()
    for key in JSON_FIELDS & params.keys():
        if isinstance(params[key], str):
            try:
                params[key] = json.loads(params[key])
            except ValueError:
                raise ApiError(400, f"Bad Request: can't parse {key} JSON object") from None
    return params


def _int(params: dict, key: str, default: int) -> int:
    try:
        return int(params.get(key, default))
    except (TypeError, ValueError):
        raise ApiError(400, f"Bad Request: {key} must be a number") from None


def _error(err: ApiError) -> web.Response:
    body = {"ok": False, "error_code": err.code, "description": err.description}
    if err.parameters:
        body["parameters"] = err.parameters
    return web.json_response(body, status=err.code)


def _fault(fault: Fault) -> web.Response:
    if fault.status == 429:
        return _error(
            ApiError(429, f"Too Many Requests: retry after {fault.retry_after}", {"retry_after": fault.retry_after})
        )
    if fault.status in (502, 503, 504):
        page = NGINX_PAGE.format(status=fault.status, phrase=PHRASES[fault.status])
        return web.Response(status=fault.status, text=page, content_type="text/html")
    return _error(ApiError(fault.status, PHRASES.get(fault.status, "Internal Server Error")))
