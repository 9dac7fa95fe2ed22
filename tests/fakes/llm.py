"""A local OpenAI-compatible chat server, for tests and the offline demo.

Why: the reviewer talks to "any OpenAI-compatible endpoint" through the openai SDK, and its
error handling must be tried against what OpenAI really answers — the JSON error shapes of
401, 429 (rate limit and exhausted quota), 500, 503 and context overflow, a Retry-After
header, a reply cut at ``finish_reason: "length"``, a server that never answers — without
reaching the internet or spending money::

    with FakeLLM(api_key="sk-test") as fake:
        client = openai.AsyncOpenAI(base_url=fake.base_url, api_key="sk-test")
        fake.fail_next("rate_limit", retry_after=2)

What it answers is ``fake.responder(request_json)``; by default ``russian_review``, a
deterministic review in the pipeline's Markdown shape that quotes only numbers and the
title it finds in the prompt. Tokens are estimated as ceil(characters / 4).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import re
import time
from dataclasses import dataclass
from typing import Callable

from aiohttp import web

from tests.fakes._server import FakeServer

FAULT_KINDS = ("rate_limit", "quota", "server", "overloaded", "hang", "length")
KEYS_URL = "https://platform.openai.com/account/api-keys"
STREAM_PIECE = 40  # characters of content per SSE chunk


@dataclass(frozen=True)
class FakeReply:
    content: str
    finish_reason: str = "stop"


@dataclass(frozen=True)
class LLMRequest:
    path: str
    body: dict
    headers: dict[str, str]
    at: float


@dataclass(frozen=True)
class Fault:
    kind: str
    retry_after: float | None = None


# --- pure pieces -----------------------------------------------------------------


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def message_text(message: dict) -> str:
    """The text of a chat message whose content is a string or a list of parts."""
    content = message.get("content") or ""
    if isinstance(content, str):
        return content
    return "\n".join(part.get("text", "") for part in content if isinstance(part, dict))


def prompt_tokens(messages: list[dict]) -> int:
    return sum(estimate_tokens(message_text(m)) for m in messages)


def error_body(message: str, type_: str, param: str | None = None, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def mask_key(key: str) -> str:
    """OpenAI shows only the last four characters of a wrong key (none of a short one)."""
    shown = key[-4:] if len(key) > 8 else ""
    return "*" * (len(key) - len(shown)) + shown


def fault_error(kind: str, model: str) -> tuple[int, dict]:
    if kind == "rate_limit":
        message = (
            f"Rate limit reached for {model} in organization org-fake on requests per "
            "min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s. Visit "
            "https://platform.openai.com/account/rate-limits to learn more."
        )
        return 429, error_body(message, "requests", None, "rate_limit_exceeded")
    if kind == "quota":
        message = "You exceeded your current quota, please check your plan and billing details."
        return 429, error_body(message, "insufficient_quota", None, "insufficient_quota")
    if kind == "server":
        message = "The server had an error while processing your request. Sorry about that!"
        return 500, error_body(message, "server_error")
    message = "The engine is currently overloaded, please try again later."
    return 503, error_body(message, "server_error")


def context_error(limit: int, prompt: int, completion: int | None) -> dict:
    """OpenAI's wording: the second form when the request asked for completion tokens."""
    head = f"This model's maximum context length is {limit} tokens. However, "
    if completion:
        tail = (
            f"you requested {prompt + completion} tokens ({prompt} in the messages, "
            f"{completion} in the completion). Please reduce the length of the messages "
            "or completion."
        )
    else:
        tail = f"your messages resulted in {prompt} tokens. Please reduce the length of the messages."
    return error_body(head + tail, "invalid_request_error", "messages", "context_length_exceeded")


def cut_reply(reply: FakeReply, max_tokens: int | None, forced: bool) -> FakeReply:
    """Cut at ``max_tokens`` like a real model; a scripted "length" fault cuts to a third."""
    if forced:
        return FakeReply(reply.content[: max(1, len(reply.content) // 3)], "length")
    if max_tokens and estimate_tokens(reply.content) > max_tokens:
        return FakeReply(reply.content[: max_tokens * 4], "length")
    return reply


def completion_json(cid: str, model: str, reply: FakeReply, prompt: int) -> dict:
    completion = estimate_tokens(reply.content)
    return {
        "id": cid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content, "refusal": None},
                "logprobs": None,
                "finish_reason": reply.finish_reason,
            }
        ],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
        "system_fingerprint": "fp_fake",
    }


def stream_chunks(full: dict, include_usage: bool) -> list[dict]:
    """The ``chat.completion.chunk`` objects OpenAI streams for the completion ``full``."""
    choice = full["choices"][0]
    content = choice["message"]["content"]
    head = {k: full[k] for k in ("id", "created", "model", "system_fingerprint")}
    head["object"] = "chat.completion.chunk"
    extra = {"usage": None} if include_usage else {}

    def chunk(delta: dict, finish: str | None = None) -> dict:
        choices = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        return head | {"choices": choices} | extra

    chunks = [chunk({"role": "assistant", "content": "", "refusal": None})]
    chunks += [chunk({"content": content[i : i + STREAM_PIECE]}) for i in range(0, len(content), STREAM_PIECE)]
    chunks.append(chunk({}, choice["finish_reason"]))
    if include_usage:
        chunks.append(head | {"choices": [], "usage": full["usage"]})
    return chunks


# --- the default responder --------------------------------------------------------

_PAPER = re.compile(r"<paper>(.*?)</paper>", re.DOTALL)
_TITLE = re.compile(r"^\s*Title:\s*(.+?)\s*$", re.MULTILINE)
_DECIMAL = re.compile(r"(?<![\w.])\d+(?:\.\d+)?%|(?<![\w.])\d+\.\d+(?![\w.]*\d)")
_INTEGER = re.compile(r"(?<![\w.])\d{2,}(?![\w.]*\d|%)")


_LABELS = re.compile(r"^#+ .*$|\b(?:Section|Sec\.|Table|Figure|Fig\.|Eq\.|Appendix)\s*[\d.]+", re.MULTILINE)


def quoted_numbers(text: str, limit: int = 3) -> list[str]:
    """Up to ``limit`` distinct numbers from ``text``, decimals and percentages first.

    Like a faithful model, it quotes results, not heading, section or table numbers."""
    text = _LABELS.sub(" ", text)
    found = [m.group(0) for m in _DECIMAL.finditer(text)]
    found += [m.group(0) for m in _INTEGER.finditer(text)]
    return list(dict.fromkeys(found))[:limit]


def russian_review(request: dict) -> str:
    """A deterministic review of the paper in the last user message; invents no numbers."""
    users = [message_text(m) for m in request.get("messages", []) if m.get("role") == "user"]
    # A follow-up turn (e.g. "fix these problems") carries no paper: read the turn that does.
    message = next((text for text in reversed(users) if _PAPER.search(text)), users[-1] if users else "")
    paper = _PAPER.search(message)
    numbers = quoted_numbers(paper.group(1) if paper else message)
    title = _TITLE.search(message)
    name = f"«{title.group(1)}»" if title else "этой статьи"
    if len(numbers) >= 2:
        figures = (
            f"Главные цифры, которые приводят авторы: {', '.join(numbers[:-1])} "
            f"и {numbers[-1]}; именно на них стоит смотреть в таблицах."
        )
    elif numbers:
        figures = f"Главная цифра, которую приводят авторы, — {numbers[0]}."
    else:
        figures = "Точных цифр в доступном тексте немного, поэтому судить лучше по таблицам."
    return REVIEW_TEMPLATE.format(name=name, figures=figures)


REVIEW_TEMPLATE = """\
**TL;DR:** Авторы {name} предлагают новый способ решать свою задачу и аккуратно проверяют \
его на стандартных бенчмарках. Подход выглядит простым, а выигрыш у сильных базовых моделей \
получается заметным и воспроизводимым.

## Суть

Работа {name} отвечает на вопрос, который давно волнует исследователей: можно ли добиться \
лучшего качества, не увеличивая модель и не собирая огромных новых датасетов. Авторы \
показывают, что во многих случаях достаточно изменить то, как модель рассуждает и как \
используется её внутреннее представление. Статья написана ясно, а главная идея \
формулируется буквально в одном абзаце введения.

## Метод

Метод строится поверх обычной языковой модели и не требует менять её архитектуру. \
Обучение идёт в несколько стадий: сначала модель учится на полных примерах с развёрнутыми \
рассуждениями, затем часть рассуждений постепенно заменяется внутренними состояниями, \
которые подаются обратно на вход. Такой curriculum позволяет модели плавно перейти от \
явного текста к скрытому представлению. Авторы подробно описывают выбор гиперпараметров и \
объясняют, почему каждая стадия нужна для устойчивого обучения.

## Эксперименты и результаты

Эксперименты проведены на нескольких наборах задач на логический вывод и арифметику, \
где сравниваются обычное обучение, цепочки рассуждений и предложенный подход. {figures} \
Авторы отдельно измеряют число сгенерированных токенов и показывают, что новый метод \
тратит заметно меньше вычислений на ответ. Абляции подтверждают, что выигрыш даёт именно \
постепенная замена рассуждений, а не просто более долгое обучение.

## Ограничения

Проверка ограничена сравнительно небольшими моделями и синтетическими задачами, поэтому \
перенос результатов на большие модели и реальные сценарии пока не доказан. Обучение по \
стадиям дороже обычного fine-tuning и требует аккуратной настройки. Кроме того, скрытые \
рассуждения труднее интерпретировать: человеку сложнее понять, почему модель пришла к \
своему ответу, и заметить ошибку по ходу решения.

## Почему это важно

Работа предлагает взглянуть на рассуждения модели не как на текст, а как на вычисление в \
пространстве представлений. Если идея масштабируется, она позволит строить модели, которые \
думают быстрее и дешевле, сохраняя качество. Даже при всех ограничениях статья задаёт \
понятное направление для следующих исследований и даёт удобную экспериментальную основу, \
которую легко воспроизвести и расширить.
"""


# --- the server ----------------------------------------------------------------------


class FakeLLM(FakeServer):
    """``POST /v1/chat/completions`` (plain and SSE) and ``GET /v1/models``.

    ``api_key=None`` accepts any key. ``responder`` maps the request JSON to a ``str`` or
    ``FakeReply``; ``latency_s`` delays every answer. Every request is logged in
    ``requests``, refused ones too.
    """

    def __init__(
        self,
        api_key: str | None = "sk-test",
        *,
        context_tokens: int = 128000,
        models: tuple[str, ...] = ("gpt-4o-mini",),
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host, port)
        self.api_key = api_key
        self.context_tokens = context_tokens
        self.models = models
        self.responder: Callable[[dict], str | FakeReply] = russian_review
        self.latency_s = 0.0
        self._ids = itertools.count(1)

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        return app

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def fail_next(self, kind: str, times: int = 1, retry_after: float | None = None) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {FAULT_KINDS}, not {kind!r}")
        self.script("fail", Fault(kind, retry_after), times)

    def reset(self) -> None:
        """Back to defaults: responder, no latency, no scripted faults, empty request log."""
        self.responder = russian_review
        self.latency_s = 0.0
        self.clear_scripts()
        self.clear_requests()

    def _json(self, data: dict, status: int = 200, retry_after: float | None = None) -> web.Response:
        headers = {"x-request-id": f"req_{next(self._ids):024x}"}
        if retry_after is not None:
            headers["retry-after"] = f"{retry_after:g}"
        return web.json_response(
            data, status=status, headers=headers, dumps=lambda d: json.dumps(d, ensure_ascii=False)
        )

    def _auth_error(self, request: web.Request) -> web.Response | None:
        if self.api_key is None:
            return None
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        if scheme == "Bearer" and key == self.api_key:
            return None
        if scheme != "Bearer" or not key.strip():
            message = (
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer "
                f"YOUR_KEY). You can obtain an API key from {KEYS_URL}."
            )
            return self._json(error_body(message, "invalid_request_error"), 401)
        message = f"Incorrect API key provided: {mask_key(key)}. You can find your API key at {KEYS_URL}."
        return self._json(error_body(message, "invalid_request_error", None, "invalid_api_key"), 401)

    async def _models(self, request: web.Request) -> web.Response:
        self.record(LLMRequest(request.path, {}, dict(request.headers), time.monotonic()))
        if (denied := self._auth_error(request)) is not None:
            return denied
        data = [{"id": m, "object": "model", "created": 1721172741, "owned_by": "system"} for m in self.models]
        return self._json({"object": "list", "data": data})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            body = None
        self.record(LLMRequest(request.path, body or {}, dict(request.headers), time.monotonic()))
        if (denied := self._auth_error(request)) is not None:
            return denied
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            message = "We could not parse the JSON body of your request, or 'messages' is missing."
            return self._json(error_body(message, "invalid_request_error"), 400)
        # The fault is this request's as soon as it arrived: taken after the latency, a client
        # that hung up meanwhile left it armed for the next request (a restarted bot's call hung).
        fault = self.take("fail")
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if fault is not None and fault.kind == "hang":
            await asyncio.sleep(3600)  # cancelled when the client gives up or on stop()
        model = body.get("model", "")
        if fault is not None and fault.kind not in ("hang", "length"):
            status, error = fault_error(fault.kind, model)
            return self._json(error, status, fault.retry_after)
        forced_length = fault is not None and fault.kind == "length"
        return await self._complete(request, body, forced_length)

    async def _complete(self, request: web.Request, body: dict, forced_length: bool) -> web.StreamResponse:
        prompt = prompt_tokens(body["messages"])
        max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
        if prompt + (max_tokens or 0) > self.context_tokens:
            return self._json(context_error(self.context_tokens, prompt, max_tokens), 400)
        reply = self.responder(body)
        reply = reply if isinstance(reply, FakeReply) else FakeReply(reply)
        reply = cut_reply(reply, max_tokens, forced_length)
        cid = f"chatcmpl-fake{next(self._ids):020d}"
        full = completion_json(cid, body.get("model", ""), reply, prompt)
        if not body.get("stream"):
            return self._json(full)
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return await _send_events(request, stream_chunks(full, include_usage))


async def _send_events(request: web.Request, chunks: list[dict]) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    for chunk in chunks:
        await response.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response
