"""LocalServer: an aiohttp app on 127.0.0.1 in its own event loop and daemon thread.

The offline demo serves its stand-in arXiv with it (paperdigest/sample/arxiv.py); the test
fakes (tests/fakes/) build on it and add scripted faults and a request log.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any, Self

from aiohttp import web


class LocalServer:
    """An aiohttp app served on 127.0.0.1 from its own event loop in a daemon thread.

    Subclasses build the app in ``make_app``. Handlers are cancelled when the client goes
    away (unless a subclass sets ``cancel_on_disconnect = False``), and ``stop`` gives those
    still running a tenth of a second before cancelling them, so a hang never blocks it.
    """

    cancel_on_disconnect = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    def make_app(self) -> web.Application:
        raise NotImplementedError

    @property
    def url(self) -> str:
        """The root URL, ``http://127.0.0.1:PORT``."""
        if self._runner is None:
            raise RuntimeError(f"{type(self).__name__} is not running: call start() or use `with`")
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.url

    def start(self) -> str:
        """Serve in a background thread; returns ``base_url``."""
        # A client that hangs up mid-stream (a fault test on purpose, a demo stopped by Ctrl+C)
        # would be logged as an error from the server's thread.
        logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            name = type(self).__name__
            self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
            self._thread.start()
            try:
                self.port = self._call(self._serve())
            except BaseException:
                self.stop()
                raise
        return self.base_url

    async def _serve(self) -> int:
        app = self.make_app()
        self._runner = web.AppRunner(
            app, handler_cancellation=self.cancel_on_disconnect, shutdown_timeout=0.1, access_log=None
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        return self._runner.addresses[0][1]

    def stop(self) -> None:
        if self._loop is None:
            return
        try:
            if self._runner is not None:
                self._call(self._runner.cleanup())
            self._call(_cancel_leftovers())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._loop.close()
            self._loop = self._thread = self._runner = None

    def _call(self, coro: Any, timeout: float = 10) -> Any:
        if self._loop is None:
            raise RuntimeError(f"{type(self).__name__} is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


async def _cancel_leftovers() -> None:
    """Cancel handlers the shutdown left running (long polls of a client that went away):
    a loop closed under them logs "Task was destroyed but it is pending" at exit."""
    leftovers = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in leftovers:
        task.cancel()
    if leftovers:
        await asyncio.wait(leftovers, timeout=1)
