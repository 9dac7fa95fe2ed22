"""`paperdigest watch [--once]`: the watcher alone, beside its own pipeline.

Alone, the watcher only queues posts in the outbox; the bot process's relay sends them
(two relays on one outbox could send a row twice, so `watch` never starts one).
"""

from __future__ import annotations

import asyncio
import signal

from paperdigest.settings import Settings
from paperdigest.wiring import open_pipeline
from watcher.report import RoundReport
from watcher.run import open_watcher


async def watch(settings: Settings, *, once: bool) -> RoundReport | None:
    """`paperdigest watch`: one round (`once`), or rounds until SIGINT/SIGTERM."""
    async with open_pipeline(settings) as pipeline, open_watcher(settings, pipeline) as watcher:
        if once:
            return await watcher.round()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await watcher.run(stop)
        return None


def run_watch(settings: Settings, *, once: bool = False) -> RoundReport | None:
    return asyncio.run(watch(settings, once=once))
