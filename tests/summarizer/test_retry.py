import asyncio

import pytest

from paperdigest.errors import ArxivUnavailable, LlmQuotaExceeded
from summarizer.retry import BackoffPolicy, PacingGate, retrying


class FakeClock:
    """Time that moves only when someone sleeps: pacing is checked without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


async def test_gate_spaces_requests_and_runs_one_at_a_time() -> None:
    clock = FakeClock()
    gate = PacingGate(3.0, clock=clock, sleep=clock.sleep)
    starts, inside = [], []

    async def request(duration: float) -> None:
        async with gate.slot():
            inside.append(1)
            assert len(inside) == 1  # never two at once
            starts.append(clock.now)
            clock.now += duration
            await asyncio.sleep(0)
            inside.pop()

    await asyncio.gather(*(request(0.5) for _ in range(4)))
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert gaps == [3.5, 3.5, 3.5]  # 0.5 s request + 3 s from its end


async def test_retry_honours_retry_after_and_stops_at_attempts() -> None:
    clock = FakeClock()
    calls = []

    async def attempt() -> str:
        calls.append(clock.now)
        if len(calls) < 3:
            raise ArxivUnavailable("503", retry_after=7.0)
        return "ok"

    policy = BackoffPolicy(attempts=4, min_delay=1.0, jitter=0.0)
    assert await retrying(policy, attempt, what="test", sleep=clock.sleep) == "ok"
    assert clock.sleeps == [7.0, 7.0]


async def test_retry_gives_up_with_the_last_error() -> None:
    clock = FakeClock()

    async def attempt() -> None:
        raise ArxivUnavailable("still down")

    with pytest.raises(ArxivUnavailable, match="still down"):
        await retrying(
            BackoffPolicy(attempts=3, min_delay=1.0, factor=2.0, jitter=0.0), attempt, what="t", sleep=clock.sleep
        )
    assert clock.sleeps == [1.0, 2.0]


async def test_permanent_errors_are_not_retried() -> None:
    calls = 0

    async def attempt() -> None:
        nonlocal calls
        calls += 1
        raise LlmQuotaExceeded("insufficient_quota")

    with pytest.raises(LlmQuotaExceeded):
        await retrying(BackoffPolicy(attempts=5), attempt, what="t", sleep=FakeClock().sleep)
    assert calls == 1


@pytest.mark.parametrize(("attempt", "expected"), [(1, 2.0), (2, 4.0), (3, 8.0), (6, 30.0)])
def test_backoff_grows_and_caps(attempt: int, expected: float) -> None:
    assert BackoffPolicy(min_delay=2.0, max_delay=30.0, factor=2.0, jitter=0.0).delay(attempt) == expected


@pytest.mark.parametrize(
    ("header", "low", "high"),
    [
        ("7", 7.0, 7.0),
        ("0.5", 0.5, 0.5),
        ("-3", 0.0, 0.0),
        (None, None, None),
        ("soon", None, None),
    ],
)
def test_retry_after_header_in_seconds(header, low, high) -> None:
    from summarizer.retry import parse_retry_after

    value = parse_retry_after(header)
    assert value == low == high if low is None else low <= value <= high


def test_retry_after_header_as_http_date() -> None:
    import time as clock
    from email.utils import formatdate

    from summarizer.retry import parse_retry_after

    assert 25 <= parse_retry_after(formatdate(clock.time() + 30, usegmt=True)) <= 31
