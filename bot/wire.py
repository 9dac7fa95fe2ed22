"""Knowing whether a request to Telegram left this process.

A crash between marking an outbox row `sending` and the answer leaves two cases that
look alike in the database: the request was never written (resending is safe and needed,
or the message is lost) or it was (Telegram got it; resending would post twice). aiohttp
calls `on_request_chunk_sent` just before it writes a body chunk to the socket, and that
write follows without an await; data in the socket's buffer still reaches the server if the
process dies. The relay runs each send inside `on_wire(callback)`, and the callback records
the moment in the row. What remains is the few microseconds between the callback's commit and
the write: a kill exactly there leaves a row marked in flight that was never sent (shown as
unknown in /pending, not resent).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import SimpleNamespace

from aiogram import __version__ as aiogram_version
from aiogram.client.session.aiohttp import AiohttpSession
from aiohttp import ClientSession, TraceConfig, TraceRequestChunkSentParams
from aiohttp.hdrs import USER_AGENT
from aiohttp.http import SERVER_SOFTWARE

_callback: ContextVar[Callable[[], None] | None] = ContextVar("on_wire", default=None)


@contextmanager
def on_wire(callback: Callable[[], None]) -> Iterator[None]:
    """Call `callback` once, when the next request made in this task has left."""
    token = _callback.set(callback)
    try:
        yield
    finally:
        _callback.reset(token)


def tracked() -> bool:
    """A request made now is the relay's (inside `on_wire`), which handles its own retries."""
    return _callback.get() is not None


async def _chunk_sent(_session: ClientSession, _ctx: SimpleNamespace, _params: TraceRequestChunkSentParams) -> None:
    # Trace callbacks run in the task that made the request, so they see its context.
    callback = _callback.get()
    if callback is not None:
        _callback.set(None)
        callback()


def _trace_config() -> TraceConfig:
    config = TraceConfig()
    config.on_request_chunk_sent.append(_chunk_sent)
    return config


class WireAwareSession(AiohttpSession):
    """aiogram's aiohttp session, plus the trace that makes `on_wire` work."""

    async def create_session(self) -> ClientSession:
        if self._should_reset_connector:
            await self.close()
        if self._session is None or self._session.closed:
            self._session = ClientSession(
                connector=self._connector_type(**self._connector_init),
                headers={USER_AGENT: f"{SERVER_SOFTWARE} aiogram/{aiogram_version}"},
                trace_configs=[_trace_config()],
            )
            self._should_reset_connector = False
        return self._session
