"""Waiting in the background loops: a pause that ends early when the process is stopping.

Every periodic task (the bot's sweep and status lines, the inbox's replay, the worker's poll)
sleeps the same way: until its `stop` event is set or its interval has passed, whichever comes
first, so a stopping process never waits out an interval.
"""

from __future__ import annotations

import asyncio


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Wait until `stop` is set or `seconds` have passed; True when it was `stop`."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except asyncio.TimeoutError:
        return False
    return True
