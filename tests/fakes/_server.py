"""FakeServer: LocalServer (paperdigest/sample/server.py) plus scripted faults and a request
log — the base of every fake in tests/fakes/."""

from __future__ import annotations

from collections import defaultdict, deque
from itertools import repeat
from typing import Any

from paperdigest.sample.server import LocalServer


class FakeServer(LocalServer):
    """Scripted behaviour is queued per key with ``script`` and consumed one request at a
    time with ``take``; requests are logged with ``record``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self._queues: dict[Any, deque] = defaultdict(deque)
        self._requests: list = []

    def script(self, key: Any, item: Any, times: int = 1) -> None:
        with self._lock:
            self._queues[key].extend(repeat(item, times))

    def take(self, key: Any) -> Any:
        with self._lock:
            queue = self._queues.get(key)
            return queue.popleft() if queue else None

    def record(self, item: Any) -> None:
        with self._lock:
            self._requests.append(item)

    @property
    def requests(self) -> list:
        """A copy of the request log, oldest first."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def clear_scripts(self) -> None:
        with self._lock:
            self._queues.clear()
