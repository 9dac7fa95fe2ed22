"""The LLM client: one chat completion through the openai SDK, with retries owned here.

The SDK is built with `max_retries=0` so retries are not multiplied (its own and ours):
`retrying()` retries 429s (except `insufficient_quota`, which waiting cannot fix), 5xx,
timeouts and dropped connections, honouring Retry-After. A context-length error becomes
`LlmContextTooLong`, which the pipeline answers by shrinking the input once.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass

import openai

from paperdigest.errors import LlmContextTooLong, LlmQuotaExceeded, LlmRejected, LlmUnavailable, PaperdigestError
from summarizer.retry import BackoffPolicy, parse_retry_after, retrying

log = logging.getLogger(__name__)
_CONTEXT_LIMIT = re.compile(r"maximum context length is (\d+)")
NO_KEY = "no-key"  # local servers (vLLM, Ollama, llama.cpp) accept any key; the SDK insists on one


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    model: str


def make_openai_client(base_url: str | None, api_key: str | None, timeout_s: float) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=base_url, api_key=api_key or NO_KEY, timeout=timeout_s, max_retries=0)


class LlmClient:
    def __init__(
        self,
        client: openai.AsyncOpenAI,
        model: str,
        *,
        max_output_tokens: int = 4000,
        temperature: float = 0.3,
        policy: BackoffPolicy = BackoffPolicy(),
        concurrency: int = 4,
    ) -> None:
        self._client = client
        # At most this many calls in flight, whoever asks (CLI batches, the bot, the watcher).
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self.model = model
        self.max_output_tokens = max_output_tokens
        self._temperature = temperature
        self._policy = policy

    async def complete(self, messages: list[dict[str, str]]) -> Completion:
        return await retrying(self._policy, lambda: self._once(messages), what=f"LLM call ({self.model})")

    async def _once(self, messages: list[dict[str, str]]) -> Completion:
        async with self._slots:
            started = time.monotonic()
            try:
                response = await self._client.chat.completions.create(
                    model=self.model,
                    messages=messages,
                    max_tokens=self.max_output_tokens,
                    temperature=self._temperature,
                )
            except openai.OpenAIError as err:
                raise classify(err, self.model) from err
        choice = response.choices[0]
        usage = response.usage
        completion = Completion(
            text=choice.message.content or "",
            finish_reason=choice.finish_reason,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            model=response.model or self.model,
        )
        log.info(
            "LLM %s: %d+%d tokens, finish=%s, %.1f s",
            self.model,
            completion.prompt_tokens,
            completion.completion_tokens,
            completion.finish_reason,
            time.monotonic() - started,
        )
        return completion


def _error_code(err: openai.APIStatusError) -> str:
    body = err.body if isinstance(err.body, dict) else {}
    inner = body.get("error", body) if isinstance(body.get("error", body), dict) else body
    return str(getattr(err, "code", None) or inner.get("code") or inner.get("type") or "")


def classify(err: openai.OpenAIError, model: str) -> PaperdigestError:
    """Map an SDK error to ours: retryable or not, with a message that names no secret."""
    if isinstance(err, openai.APITimeoutError):
        return LlmUnavailable(f"LLM endpoint did not answer in time ({model})")
    if isinstance(err, openai.APIConnectionError):
        return LlmUnavailable(f"cannot reach the LLM endpoint ({type(err).__name__}); check OPENAI_BASE_URL")
    if not isinstance(err, openai.APIStatusError):
        return LlmRejected(f"LLM client error: {type(err).__name__}")
    code, status = _error_code(err), err.status_code
    if code == "insufficient_quota":
        return LlmQuotaExceeded(
            "the LLM account has no quota left (insufficient_quota); top it up or change OPENAI_API_KEY"
        )
    if code == "context_length_exceeded" or _CONTEXT_LIMIT.search(str(err.message)):
        found = _CONTEXT_LIMIT.search(str(err.message))
        return LlmContextTooLong(
            f"the input is longer than {model}'s context", limit_tokens=int(found.group(1)) if found else None
        )
    if status == 429 or status >= 500:
        return LlmUnavailable(
            f"LLM endpoint answered HTTP {status} ({code or 'no code'})",
            retry_after=parse_retry_after(err.response.headers.get("retry-after")),
        )
    if status in (401, 403):
        return LlmRejected(f"LLM endpoint refused the key (HTTP {status}); check OPENAI_API_KEY")
    if status == 404:
        return LlmRejected(f"LLM endpoint does not know model {model!r} (HTTP 404); check LLM_MODEL")
    return LlmRejected(f"LLM endpoint rejected the request (HTTP {status}, {code or 'no code'})")
