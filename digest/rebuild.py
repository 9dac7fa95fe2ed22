"""Rebuild the site after new or changed reviews, in the background of a long-running process.

The bot and the watcher store reviews one by one; each store schedules a rebuild a little
later (`DEBOUNCE_S`), so a burst of reviews costs one incremental build, and the build runs
after the storing transaction has committed. A failed build is logged, never raised: the
site is a view of the database, the next review rebuilds it.

The build runs in a child process (`python -m digest.rebuild`, settings on stdin, the report
on stdout). In a thread its pure-Python rendering held the GIL against the bot's event loop:
during a 100-review load a /start waited up to 200 ms (p99 129 ms; 40 ms without builds).
The child gets no secrets: the site needs none.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import sys

from digest.build import BuildReport, build_site
from paperdigest.settings import Settings

log = logging.getLogger(__name__)
DEBOUNCE_S = 2.0
SECRET_FIELDS = {"BOT_TOKEN", "OPENAI_API_KEY", "WEBHOOK_SECRET"}


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
                report = await build_in_child(self.settings)
                self.builds += 1
                log.info("site rebuilt: %d file(s) written in %.2f s", report.written, report.seconds)
            except Exception as err:  # noqa: BLE001 - the site must never take the bot down
                log.error("site rebuild failed: %r", err)
            if not self._again:
                return

    async def close(self) -> None:
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)


async def build_in_child(settings: Settings) -> BuildReport:
    """`build_site` in a fresh Python process; raises RuntimeError with its stderr's tail if it fails."""
    public = settings.model_dump(mode="json", exclude=SECRET_FIELDS)
    environment = {name: value for name, value in os.environ.items() if name not in SECRET_FIELDS}
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "digest.rebuild",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment,
    )
    out, err = await child.communicate(json.dumps(public).encode())
    if child.returncode != 0:
        tail = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"site build process exited with {child.returncode}: {tail[0]}")
    fields = json.loads(out.splitlines()[-1])  # the report is the last line, whatever a tool printed before
    return BuildReport(
        **{**fields, "written_paths": tuple(fields["written_paths"]), "removed_paths": tuple(fields["removed_paths"])}
    )


def main() -> None:
    settings = Settings(_env_file=None, **{**json.loads(sys.stdin.read()), **dict.fromkeys(SECRET_FIELDS)})
    report = build_site(settings)
    print(json.dumps(dataclasses.asdict(report)))


if __name__ == "__main__":
    main()
