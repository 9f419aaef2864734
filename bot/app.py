"""Composition root: builds the aiohttp application and wires the real adapters to the core."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web

from adapters.db import create_tables, make_engine, session_factory
from adapters.delivery import DeliveryError
from adapters.kitchen_http import HttpKitchen
from adapters.whatsapp_cloud import WhatsAppCloudClient
from adapters.whatsapp_errors import OutboundLimitError, WhatsAppError
from bot import texts
from bot.clock import Clock
from bot.config import Settings
from bot.dispatcher import OutboxDispatcher, Sender
from bot.parser_cache import ParserCache
from bot.processing import Processor
from bot.state import APP_STATE, AppState
from bot.timers import TimerSettings, TimerSweeper
from bot.webhook import MAX_BODY_BYTES, receive_notification, verify_subscription
from bot.window import Template
from catalog.reloader import CatalogHolder

log = logging.getLogger(__name__)
# Long enough for the deliveries in hand to finish (adapters time out well before this).
SHUTDOWN_GRACE_SECONDS = 15.0

CATALOG_KEY: web.AppKey[CatalogHolder] = web.AppKey("orderbot_catalog", CatalogHolder)


class _HttpClients:
    """The outbound ClientSession, opened and closed with the app (it needs a running loop)."""

    session: aiohttp.ClientSession | None = None

    def get(self) -> aiohttp.ClientSession:
        if self.session is None:
            raise RuntimeError("HTTP session used before the app started")
        return self.session


def _whatsapp_sender(settings: Settings, http: _HttpClients) -> Sender:
    async def send(payload: dict[str, Any], _key: str) -> str:
        client = WhatsAppCloudClient(http.get(), settings.api_base_url,
                                     settings.phone_number_id or "",
                                     settings.secret("access_token"))
        try:
            response = await client.send_payload(payload)
        except OutboundLimitError as error:
            raise DeliveryError(f"message breaks WhatsApp limits: {error}",
                                retryable=False) from error
        except WhatsAppError as error:
            raise DeliveryError(str(error), retryable=error.retryable) from error
        messages = response.get("messages")
        if isinstance(messages, list) and messages and isinstance(messages[0], dict):
            return str(messages[0].get("id", ""))
        return "ok"

    return send


def _kitchen_sender(settings: Settings, http: _HttpClients) -> Sender:
    async def send(ticket: dict[str, Any], key: str) -> str:
        kitchen = HttpKitchen(http.get(), settings.kitchen_webhook_url or "",
                              settings.secret("kitchen_webhook_secret"))
        return await kitchen.deliver(ticket, key)

    return send


def create_app(settings: Settings, clock: Clock | None = None) -> web.Application:
    """The whole server. Raises CatalogError / TextsError if the catalog / texts do not load."""
    clock = clock or Clock()
    texts.reset()
    if settings.texts_path is not None:
        texts.load_overrides(settings.texts_path)
    holder = CatalogHolder(settings.catalog_path)
    engine = make_engine(settings.database_url)
    sessions = session_factory(engine)
    http = _HttpClients()
    senders: dict[str, Sender] = {"whatsapp": _whatsapp_sender(settings, http)}
    if settings.kitchen_webhook_url:
        senders["kitchen"] = _kitchen_sender(settings, http)
    dispatcher = OutboxDispatcher(sessions, senders)
    processor = Processor(
        sessions,
        catalog=lambda: holder.current,
        parser=ParserCache(lambda: holder.current),
        on_outbox=dispatcher.kick,
        kitchen_enabled=bool(settings.kitchen_webhook_url),
        merge_window=settings.merge_window_seconds,
        clock=clock,
        timers=TimerSettings.minutes(settings.reminder_minutes, settings.cart_expiry_minutes,
                                     settings.handoff_timeout_minutes),
        template=(Template(settings.reminder_template, settings.template_language)
                  if settings.reminder_template else None),
    )
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[APP_STATE] = AppState(settings, engine, sessions, processor, dispatcher, clock)
    app[CATALOG_KEY] = holder
    app.router.add_get("/webhook", verify_subscription)
    app.router.add_post("/webhook", receive_notification)
    app.router.add_get("/healthz", _healthz)
    app.cleanup_ctx.append(_lifecycle(http))
    return app


def _lifecycle(http: _HttpClients) -> Any:
    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        state = app[APP_STATE]
        await create_tables(state.engine)
        http.session = aiohttp.ClientSession()
        state.processor.warm_up()
        background = [
            asyncio.create_task(state.dispatcher.run(), name="outbox-dispatcher"),
            asyncio.create_task(app[CATALOG_KEY].watch(), name="catalog-watch"),
        ]
        await state.processor.recover()  # messages acknowledged before a crash or restart
        # Deadlines live in the database: the first sweep, right away, fires what fell due
        # while the server was down.
        timers = TimerSweeper(state.processor.run_timers, state.settings.timer_sweep_seconds)
        timers.start()
        yield
        await timers.stop()
        await state.processor.idle()
        dispatcher_task, watch_task = background
        state.dispatcher.stop()
        try:
            await asyncio.wait_for(dispatcher_task, timeout=SHUTDOWN_GRACE_SECONDS)
        except TimeoutError:  # an adapter hung past its own timeout; the lease will expire
            log.warning("outbox dispatcher did not stop in time; rows in hand retry on restart")
        watch_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch_task
        await http.session.close()
        await state.engine.dispose()

    return lifecycle


async def _healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})
