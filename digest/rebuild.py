"""Rebuild the site after new or changed reviews, in the background of a long-running process.

The bot and the watcher store reviews one by one; each store schedules a rebuild a little
later (`DEBOUNCE_S`), so a burst of reviews costs one incremental build, and the build runs
in a thread after the storing transaction has committed. A failed build is logged, never
raised: the site is a view of the database, the next review rebuilds it.
"""

from __future__ import annotations

import asyncio
import logging

from digest.build import build_site
from paperdigest.settings import Settings

log = logging.getLogger(__name__)
DEBOUNCE_S = 2.0


class SiteRebuilder:
    def __init__(self, settings: Settings, *, debounce_s: float = DEBOUNCE_S) -> None:
        self.settings = settings
        self.debounce_s = debounce_s
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self.builds = 0

    def schedule(self, *_: object) -> None:
        """Ask for a rebuild (usable as a Pipeline.on_stored hook: it ignores its arguments)."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._run(), name="site rebuild")

    async def _run(self) -> None:
        while True:
            self._again = False
            await asyncio.sleep(self.debounce_s)
            try:
                report = await asyncio.to_thread(build_site, self.settings)
                self.builds += 1
                log.info("site rebuilt: %d file(s) written in %.2f s", report.written, report.seconds)
            except Exception as err:  # noqa: BLE001 - the site must never take the bot down
                log.error("site rebuild failed: %r", err)
            if not self._again:
                return

    async def close(self) -> None:
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
