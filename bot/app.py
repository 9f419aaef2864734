"""Composition root: builds the aiohttp application and wires the real adapters to the core."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from adapters import kitchen_display, sqlite_driver
from adapters.base import AdapterContext, build_adapters
from adapters.db import create_tables, make_engine, session_factory
from adapters.delivery import RetryPolicy
from adapters.inventory import Inventory
from adapters.sheet import StockSheet
from adapters.whatsapp_cloud import WhatsAppCloudClient
from adapters.whatsapp_errors import (
    OutboundLimitError,
    ReEngagementError,
    WhatsAppError,
    delivery_error,
)
from bot import owner_page, privacy_admin, proxy, texts
from bot.alerts import alert_as_template, owner_number, to_owner
from bot.api import OrderStatusService, apply_change, status_callback
from bot.clock import Clock
from bot.config import Settings
from bot.dispatcher import OutboxDispatcher, Sender
from bot.ingest import Ingest
from bot.inventory import key_text
from bot.logs import redact_secrets
from bot.metrics import METRICS_KEY, Metrics, metrics_handler, readyz_handler
from bot.parser_cache import ParserCache
from bot.processing import Processor
from bot.rate_limit import RateLimiter
from bot.routing import Routing
from bot.state import APP_STATE, AppState
from bot.timers import TimerSettings, TimerSweeper
from bot.webhook import (
    INGEST_KEY,
    MAX_BODY_BYTES,
    receive_notification,
    verify_subscription,
)
from bot.window import Template
from catalog.catalog import Catalog
from catalog.reloader import CatalogHolder

log = logging.getLogger(__name__)
# Long enough for the deliveries in hand to finish (adapters time out well before this).
SHUTDOWN_GRACE_SECONDS = 15.0

CATALOG_KEY: web.AppKey[CatalogHolder] = web.AppKey("orderbot_catalog", CatalogHolder)
ORDER_STATUS_KEY: web.AppKey[OrderStatusService] = web.AppKey("orderbot_order_status",
                                                              OrderStatusService)


class _HttpClients:
    """The outbound ClientSession, opened and closed with the app (it needs a running loop)."""

    session: aiohttp.ClientSession | None = None

    def get(self) -> aiohttp.ClientSession:
        if self.session is None:
            raise RuntimeError("HTTP session used before the app started")
        return self.session


def _whatsapp_sender(settings: Settings, http: _HttpClients,
                     owner: Callable[[], str | None]) -> Sender:
    alert_template = (Template(settings.alert_template, settings.template_language)
                      if settings.alert_template else None)

    async def send(payload: dict[str, Any], key: str) -> str:
        client = WhatsAppCloudClient(http.get(), settings.api_base_url,
                                     settings.phone_number_id or "",
                                     settings.secret("access_token"))
        try:
            try:
                # The key comes back in the message's status webhooks (bot.dispatcher).
                response = await client.send_payload(payload, callback_data=key)
            except ReEngagementError:
                # The owner has not written to the shop's number for 24 hours: an alert can
                # still go as the alert template, nothing else can.
                fallback = alert_as_template(payload, owner(), alert_template)
                if fallback is None:
                    if alert_template is None and to_owner(payload, owner()):
                        log.warning("an alert to the shop owner was refused: their 24-hour "
                                    "WhatsApp window is closed. Set ORDERBOT_ALERT_TEMPLATE to "
                                    "an approved template with one variable, or have the owner "
                                    "write to the shop's number")
                    raise
                log.info("the owner's 24-hour window is closed: alert %s sent as template %s",
                         key, settings.alert_template)
                response = await client.send_payload(fallback, callback_data=key)
        except (OutboundLimitError, WhatsAppError) as error:
            raise delivery_error(error, credential=settings.secret("access_token")) from error
        messages = response.get("messages")
        if isinstance(messages, list) and messages and isinstance(messages[0], dict):
            return str(messages[0].get("id", ""))
        return "ok"

    return send


def _add_ticket_adapters(senders: dict[str, Sender], context: AdapterContext, routing: Routing,
                         catalog: Catalog) -> None:
    """The configured ticket adapters (ORDERBOT_ADAPTERS) as outbox senders, by name."""
    for adapter in build_adapters(routing.adapters, context):
        senders[adapter.name] = adapter.deliver
    if "http" in senders:
        # Tickets queued by a version before adapters (kind "kitchen") still go out.
        senders.setdefault("kitchen", senders["http"])
    unknown = routing.unknown_categories(catalog.categories())
    if unknown:
        log.warning("ORDERBOT_ROUTES names categories the menu does not have: %s "
                    "(check the spelling against the menu)", ", ".join(unknown))


def create_app(settings: Settings, clock: Clock | None = None) -> web.Application:
    """The whole server. Raises CatalogError / TextsError if the catalog / texts do not load."""
    clock = clock or Clock()
    redact_secrets(settings.secret_values())  # never in a log line, even quoted in an error
    texts.reset()
    if settings.texts_path is not None:
        texts.load_overrides(settings.texts_path)
    holder = CatalogHolder(settings.catalog_path)
    engine = make_engine(settings.database_url, background_checkpoints=True)
    sessions = session_factory(engine)
    http = _HttpClients()
    senders: dict[str, Sender] = {"whatsapp": _whatsapp_sender(
        settings, http, lambda: owner_number(holder.current.shop.owner_whatsapp))}
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    proxy.install(app, settings)  # ORDERBOT_TRUSTED_PROXIES, ORDERBOT_SECURE_COOKIES
    metrics = Metrics()  # this app's own registry (see bot.metrics)
    routing = settings.ticket_routing()
    _add_ticket_adapters(senders, AdapterContext(settings, http.get, sessions, clock, app),
                         routing, holder.current)
    if settings.stock_sheet is not None:
        senders["sheet"] = StockSheet(settings.stock_sheet, sessions, lambda: holder.current).send
    dispatcher = OutboxDispatcher(
        sessions, senders, owner=lambda: holder.current.shop.owner_whatsapp,
        policy=RetryPolicy(base_seconds=settings.retry_base_seconds,
                           max_seconds=settings.retry_max_seconds),
        poll_interval=settings.outbox_poll_seconds, metrics=metrics,
        uncertain_wait=settings.uncertain_send_wait_seconds)
    processor = Processor(
        sessions,
        catalog=lambda: holder.current,
        parser=ParserCache(lambda: holder.current),
        on_outbox=dispatcher.kick,
        routing=routing,
        merge_window=settings.merge_window_seconds,
        clock=clock,
        timers=TimerSettings.minutes(settings.reminder_minutes, settings.cart_expiry_minutes,
                                     settings.handoff_timeout_minutes),
        template=(Template(settings.reminder_template, settings.template_language)
                  if settings.reminder_template else None),
        inventory=Inventory(sheet=settings.stock_sheet is not None),
        metrics=metrics,
        concurrency=settings.processing_concurrency,
    )
    holder.on_reload(_stock_sync(processor, sessions, dispatcher.kick))
    app[APP_STATE] = AppState(settings, engine, sessions, processor, dispatcher, clock)
    app[INGEST_KEY] = Ingest(  # the webhook's group-commit inbox writer
        engine, RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst),
        lambda: clock.now().timestamp(), on_customer=processor.kick, on_outbox=dispatcher.kick)
    processor.before_message = app[INGEST_KEY].acknowledgements_first
    app[CATALOG_KEY] = holder
    app[METRICS_KEY] = metrics
    app.router.add_get("/webhook", verify_subscription)
    app.router.add_post("/webhook", receive_notification)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", readyz_handler(
        engine, catalog_loaded=lambda: bool(holder.current.data.products),
        dispatcher_running=lambda: dispatcher.running))
    app.router.add_get("/metrics", metrics_handler(sessions))
    _add_kitchen_status(app, settings, sessions, holder, dispatcher=dispatcher, clock=clock,
                        inventory=processor.inventory)
    app.cleanup_ctx.append(_lifecycle(http))
    app.cleanup_ctx.append(_ingest_lifecycle)  # after: stops first, while the database is up
    return app


def _lifecycle(http: _HttpClients) -> Any:
    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        state = app[APP_STATE]
        await create_tables(state.engine, migrate=state.settings.auto_migrate)
        await _stock_sync(state.processor, state.sessions, lambda: None)(app[CATALOG_KEY].current)
        http.session = aiohttp.ClientSession()
        state.processor.warm_up()
        watch_task = asyncio.create_task(app[CATALOG_KEY].watch(), name="catalog-watch")
        background = [watch_task]
        database = state.engine.url.database
        if state.engine.dialect.name == "sqlite" and database and database != ":memory:":
            background.append(asyncio.create_task(
                sqlite_driver.Checkpointer(database).run(), name="sqlite-checkpoints"))
        state.dispatcher.start()
        await state.processor.recover()  # messages acknowledged before a crash or restart
        # Deadlines live in the database: the first sweep, right away, fires what fell due
        # while the server was down.
        timers = TimerSweeper(state.processor.run_timers, state.settings.timer_sweep_seconds,
                              housekeeping=functools.partial(
                                  privacy_admin.blank_old_payloads, state.sessions,
                                  state.settings.payload_retention_days))
        timers.start()
        yield
        await timers.stop()
        await state.processor.idle()
        await state.dispatcher.stop(grace=SHUTDOWN_GRACE_SECONDS)  # finishes rows in hand
        for task in background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await http.session.close()
        await state.engine.dispose()

    return lifecycle


def _stock_sync(processor: Processor, sessions: async_sessionmaker[AsyncSession],
                kick: Callable[[], None]) -> Callable[[Catalog], Awaitable[None]]:
    """Stock counts follow the catalog file at start and after each edit (bot.inventory)."""
    async def sync(catalog: Catalog) -> None:
        steps = await processor.inventory.sync(sessions, catalog)
        if steps:
            log.info("stock follows the catalog: %s", ", ".join(
                f"{step.kind} {key_text(step.key)}"
                + (f" = {step.units}" if step.kind != "delete" else "") for step in steps))
            kick()  # a spreadsheet refresh may be queued

    return sync


async def _ingest_lifecycle(app: web.Application) -> AsyncIterator[None]:
    # Stopped after the last request was answered (aiohttp runs cleanup after in-flight
    # handlers finish), storing anything still queued.
    app[INGEST_KEY].start()
    yield
    await app[INGEST_KEY].stop()


async def _healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def _add_kitchen_status(
    app: web.Application, settings: Settings, sessions: async_sessionmaker[AsyncSession],
    holder: CatalogHolder, *, dispatcher: OutboxDispatcher, clock: Clock, inventory: Inventory,
) -> None:
    """The kitchen display (/kitchen) and the signed status callback share one status service."""
    hub = kitchen_display.hub_for(app, sessions)  # the one the "display" adapter fills
    service = OrderStatusService(
        sessions, shop_name=lambda: holder.current.shop.name, clock=clock,
        template=(Template(settings.reminder_template, settings.template_language)
                  if settings.reminder_template else None),
        on_outbox=dispatcher.kick, inventory=inventory, catalog=lambda: holder.current,
        on_changed=hub.publish)
    app[ORDER_STATUS_KEY] = service

    async def change(number: int, target: object, reason: object) -> web.Response:
        return await apply_change(service, number, target, reason, by="screen")

    access = kitchen_display.DisplayAccess(settings.secret("kitchen_display_token"))
    kitchen_display.add_routes(app, access, hub, change)
    owner_page.add_routes(app, access, sessions, lambda: holder.current, now=clock.now)
    app.router.add_post("/api/orders/{number}/status", status_callback(
        service, lambda: settings.secret("kitchen_webhook_secret")))

    async def end_streams(_app: web.Application) -> None:
        hub.close()  # open pages would otherwise hold the shutdown for its whole timeout

    app.on_shutdown.append(end_streams)


async def freeze_startup_objects(_app: web.Application) -> None:
    """For `orderbot serve`, after start-up (aiohttp runs it after the lifecycle contexts).

    What start-up built (the parser's pipeline, the catalog, the modules) lives as long as the
    process: freezing it keeps the garbage collector's full passes from walking it again and
    again. Measured with bench/load.py at 100 messages/s: collector time 1.8 s -> 0.8 s over
    the run, and its longest pause (a full pass, ~0.6 s) with it. Not for apps that come and
    go in one process (tests): what is frozen is never freed.
    """
    gc.collect()
    gc.freeze()
