"""`paperdigest bot`: the Bot, the Dispatcher, the relay, the inbox, around a pipeline.

The pipeline and the watcher come from the app layer (paperdigest/wiring.py `bot_app`):
`open_pipeline` is the context manager that builds and closes one, `run_watcher` runs
watcher rounds beside it. The bot imports neither, so it sits below the app.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any
from urllib.parse import urlparse

from aiogram import Bot, Dispatcher
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramConflictError, TelegramUnauthorizedError
from aiogram.types import BotCommand, ErrorEvent
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot import texts
from bot.flood import WaitOutFloodControl
from bot.handlers import get_routers
from bot.middlewares import DurableInbox, UserContext
from bot.polling import run_polling
from bot.relay import OutboxRelay
from bot.service import ReviewService
from bot.wire import WireAwareSession
from digest.rebuild import SiteRebuilder
from paperdigest.errors import ConfigError
from paperdigest.settings import Settings

log = logging.getLogger(__name__)
COMMANDS = [
    ("review", "рецензия на статью"),
    ("paper", "готовая рецензия"),
    ("latest", "последние рецензии"),
    ("search", "поиск по рецензиям"),
    ("subscribe", "подписаться на тему, автора или категорию"),
    ("subscriptions", "мои подписки"),
    ("ask", "вопрос о статье по её тексту"),
    ("help", "что умеет бот"),
]
POLLING_TIMEOUT_S = 25


async def on_error(event: ErrorEvent) -> None:
    """Users never see a traceback: log it (redacted) and answer one sentence."""
    log.error("update %s failed: %r", event.update.update_id, event.exception, exc_info=event.exception)
    message = event.update.message
    if message is not None:
        try:
            await message.answer(texts.ERROR)
        except Exception:  # noqa: BLE001 - already failing; the log has it
            pass


def make_bot(settings: Settings) -> Bot:
    if settings.BOT_TOKEN is None:
        raise ConfigError(
            "BOT_TOKEN is not set: create a bot with @BotFather and put its token in the environment or .env"
        )
    session = WireAwareSession(
        api=TelegramAPIServer.from_base(settings.TELEGRAM_API_URL), timeout=settings.TELEGRAM_TIMEOUT_S
    )
    session.middleware(WaitOutFloodControl())
    return Bot(settings.BOT_TOKEN.get_secret_value(), session=session)


OpenPipeline = Callable[[Settings], AbstractAsyncContextManager[Any]]
RunWatcher = Callable[..., Awaitable[None]]  # (settings, pipeline, stop, *, on_queued)


class BotApp:
    def __init__(
        self, settings: Settings, *, open_pipeline: OpenPipeline, run_watcher: RunWatcher | None = None
    ) -> None:
        self.settings = settings
        self._open_pipeline = open_pipeline
        self._run_watcher = run_watcher
        self.conflict = False
        self.ready = asyncio.Event()
        self._stopped = asyncio.Event()

    async def stop(self) -> None:
        self._stopped.set()

    async def run(self) -> None:
        bot = make_bot(self.settings)
        try:
            async with self._open_pipeline(self.settings) as pipeline:
                await self._serve(bot, pipeline)
        finally:
            await bot.session.close()
        if self.conflict:
            raise ConfigError(
                "another process is polling with this BOT_TOKEN (Telegram answered 409 Conflict); "
                "stop the other instance, then start this one again"
            )

    async def _serve(self, bot: Bot, pipeline: Any) -> None:
        try:
            me = await bot.get_me()
        except TelegramUnauthorizedError as err:
            raise ConfigError(
                "Telegram rejected BOT_TOKEN (401 Unauthorized); check the token from @BotFather"
            ) from err
        db = pipeline.db
        relay = OutboxRelay(bot, db, self.settings)
        service = ReviewService(pipeline, db, self.settings, bot, relay)
        rebuilder = SiteRebuilder(self.settings)
        pipeline.on_stored.append(rebuilder.schedule)  # every new review, the watcher's included
        inbox = DurableInbox(db, on_error=on_error, lease_s=self.settings.LEASE_S)
        dispatcher = Dispatcher(service=service, db=db, settings=self.settings, relay=relay, rebuilder=rebuilder)
        dispatcher.update.outer_middleware(inbox)
        dispatcher.message.middleware(UserContext(self.settings))
        dispatcher.include_routers(*get_routers())
        dispatcher.errors.register(on_error)
        await bot.set_my_commands([BotCommand(command=c, description=d) for c, d in COMMANDS])
        # Recovery of what the last relay left mid-send runs when this relay takes the relay
        # lease, in that transaction (OutboxRelay.hold); standing by, another process sends.
        relay.recover()
        stop_relay = asyncio.Event()
        relay_task = asyncio.create_task(relay.run(stop_relay), name="outbox relay")
        watch_task = replay_task = sweep_task = steps_task = None
        reviews_here = self.settings.REVIEWS_IN_BOT  # false: worker processes review and watch
        if self.settings.WATCH_CATEGORIES and self._run_watcher is not None and reviews_here:  # stops with the relay
            watch_task = asyncio.create_task(
                self._run_watcher(self.settings, pipeline, stop_relay, on_queued=relay.wake), name="watcher"
            )
        try:
            if reviews_here:
                await asyncio.to_thread(pipeline.warm_up)
            if not reviews_here:  # nothing here reviews: without a worker, requests wait (and say so in the log)
                log.info("REVIEWS_IN_BOT=false: reviews are left to `paperdigest worker` processes on this database")
            resumed = await service.recover()
            sweep_task = asyncio.create_task(service.keep_sweeping(stop_relay), name="request sweep")
            if not reviews_here:
                steps_task = asyncio.create_task(service.keep_showing_steps(stop_relay), name="status lines")
            replayed = await inbox.replay(dispatcher, bot)
            replay_task = asyncio.create_task(inbox.keep_replaying(dispatcher, bot, stop_relay), name="inbox replay")
            log.info(
                "bot @%s started: %d waiting request(s) resumed, %d update(s) replayed", me.username, resumed, replayed
            )
            self._stop_on_signals()
            if self.settings.WEBHOOK_URL:
                await self._serve_webhook(bot, dispatcher)
            else:
                await bot.delete_webhook(drop_pending_updates=False)
                self.ready.set()
                try:
                    await run_polling(bot, dispatcher, inbox, self._stopped, timeout_s=POLLING_TIMEOUT_S)
                except TelegramConflictError:
                    self.conflict = True
        finally:
            await inbox.drain()
            await service.close()
            stop_relay.set()
            await relay_task
            for task in (watch_task, replay_task, sweep_task, steps_task):
                if task is not None:
                    await task
            await rebuilder.close()

    def _stop_on_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._stopped.set)

    async def _serve_webhook(self, bot: Bot, dispatcher: Dispatcher) -> None:
        """Webhook mode: Telegram posts updates to WEBHOOK_URL; the secret header proves it is Telegram.

        handle_in_background=False: the 200 goes back only after the durable inbox stored the
        update, so an update Telegram considers delivered is never lost.
        """
        settings = self.settings
        if settings.WEBHOOK_SECRET is None:
            raise ConfigError(
                "WEBHOOK_URL is set but WEBHOOK_SECRET is not: set a random secret "
                "(letters, digits, _ and -) so only Telegram can post updates"
            )
        secret = settings.WEBHOOK_SECRET.get_secret_value()
        app = web.Application()
        path = urlparse(settings.WEBHOOK_URL).path or "/"
        SimpleRequestHandler(dispatcher, bot, handle_in_background=False, secret_token=secret).register(app, path=path)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, settings.WEBHOOK_HOST, settings.WEBHOOK_PORT).start()
            await bot.set_webhook(
                settings.WEBHOOK_URL,
                secret_token=secret,
                allowed_updates=dispatcher.resolve_used_update_types(),
                drop_pending_updates=False,
            )
            log.info("webhook server on %s:%d%s", settings.WEBHOOK_HOST, settings.WEBHOOK_PORT, path)
            self.ready.set()
            await self._stopped.wait()
        finally:
            await runner.cleanup()
