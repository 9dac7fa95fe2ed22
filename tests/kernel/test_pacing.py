"""paperdigest.pacing.wait_or_stop: the one pause of every background loop."""

from __future__ import annotations

import asyncio
import time

from paperdigest.pacing import wait_or_stop


async def test_a_stop_set_meanwhile_ends_the_wait_at_once() -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, stop.set)
    started = time.monotonic()
    assert await asyncio.wait_for(wait_or_stop(stop, 30), 5) is True
    assert time.monotonic() - started < 2  # not the 30 s interval


async def test_a_stop_already_set_does_not_wait() -> None:
    stop = asyncio.Event()
    stop.set()
    assert await asyncio.wait_for(wait_or_stop(stop, 30), 1) is True


async def test_the_interval_passing_ends_the_wait_without_stop() -> None:
    stop = asyncio.Event()
    started = time.monotonic()
    assert await asyncio.wait_for(wait_or_stop(stop, 0.1), 5) is False
    assert time.monotonic() - started >= 0.09  # it did wait the interval
    assert not stop.is_set()


async def test_a_loop_on_it_runs_once_an_interval_and_ends_on_stop() -> None:
    stop = asyncio.Event()
    rounds = 0

    async def loop() -> None:
        nonlocal rounds
        while not await wait_or_stop(stop, 0.02):
            rounds += 1

    task = asyncio.create_task(loop())
    await asyncio.sleep(0.2)
    stop.set()
    await asyncio.wait_for(task, 1)
    assert 1 <= rounds <= 12  # about one round each 0.02 s of the 0.2 s, none after stop
