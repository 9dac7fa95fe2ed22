"""Retries and pacing as configuration, not loops sprinkled around.

`BackoffPolicy` says how often and how long to wait; `retrying()` runs a coroutine
under it with tenacity, retrying only errors marked `retryable` and honouring the
Retry-After a service sent. `PacingGate` keeps arXiv requests one at a time and at
least `delay_s` apart. It is hand-written (20 lines) because the rate-limit libraries
(aiolimiter and friends) count requests per window, while arXiv asks for a gap
between consecutive requests with no overlap.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from paperdigest.errors import PaperdigestError

log = logging.getLogger(__name__)
T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class BackoffPolicy:
    attempts: int = 4  # tries in all, the first included
    min_delay: float = 1.0
    max_delay: float = 60.0
    factor: float = 2.0
    jitter: float = 0.2  # share of the delay added at random

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed try number `attempt` (1-based)."""
        delay = min(self.max_delay, self.min_delay * self.factor ** (attempt - 1))
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_delay * 5))
        return delay * (1 + random.uniform(0, self.jitter))


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _is_retryable(err: BaseException) -> bool:
    return isinstance(err, PaperdigestError) and err.retryable


async def retrying(
    policy: BackoffPolicy, attempt: Callable[[], Awaitable[T]], *, what: str, sleep: Sleep = asyncio.sleep
) -> T:
    """Run `attempt()` until it succeeds, fails for good, or the policy gives up (the last error is raised)."""

    def wait(state: RetryCallState) -> float:
        err = state.outcome.exception() if state.outcome else None
        return policy.delay(state.attempt_number, getattr(err, "retry_after", None))

    def before_sleep(state: RetryCallState) -> None:
        err = state.outcome.exception() if state.outcome else None
        log.warning(
            "%s failed (try %d of %d): %s; retrying in %.1f s",
            what,
            state.attempt_number,
            policy.attempts,
            err,
            state.upcoming_sleep,
        )

    async def call() -> T:  # tenacity runs a plain callable (a lambda) without awaiting it
        return await attempt()

    retryer = AsyncRetrying(
        stop=stop_after_attempt(policy.attempts),
        wait=wait,
        sleep=sleep,
        retry=retry_if_exception(_is_retryable),
        before_sleep=before_sleep,
        reraise=True,
    )
    return await retryer(call)


class PacingGate:
    """One request at a time, each starting at least `delay_s` after the previous one ended."""

    def __init__(
        self, delay_s: float, *, clock: Callable[[], float] = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.delay_s = delay_s
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._last_end: float | None = None

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._lock:
            if self._last_end is not None:
                wait = self._last_end + self.delay_s - self._clock()
                if wait > 0:
                    await self._sleep(wait)
            try:
                yield
            finally:
                self._last_end = self._clock()
