"""Prometheus metrics (GET /metrics) and the readiness probe (GET /readyz).

Each app owns its registry: tests build many apps in one process, and the global default
registry would refuse the second app's metrics as duplicates. Counters and histograms are fed
by one-line hooks where things happen (webhook, processing, dispatcher); the outbox and order
gauges are read from the database at scrape time, so they also count rows written by other
processes (the CLI, a second server). Labels are kinds and outcomes only: never a phone
number, a name or a message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from sqlalchemy import func, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from adapters.db import OrderRow, OutboxItem, utcnow
from bot.cancellation import CANCELLED_BY, UNKNOWN, cancelled_by_label

log = logging.getLogger(__name__)

READY_TIMEOUT_SECONDS = 2.0  # a probe must answer quickly; a slower database is not ready
# Seconds: from a webhook's store to its processing commit, and one adapter call.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """The app's registry and metric objects; a bare Metrics() is a private, unexposed one."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages_received = Counter(
            "orderbot_messages_received", "Inbound WhatsApp messages stored, by message type",
            ["type"], registry=r)
        self.duplicates_dropped = Counter(
            "orderbot_duplicates_dropped", "Webhook messages ignored as already stored (wamid)",
            registry=r)
        self.rate_limited = Counter(  # bot.rate_limit, counted by the webhook
            "orderbot_messages_rate_limited", "Messages over their sender's rate limit: stored "
            "(state limited), not processed", registry=r)
        self.orders_confirmed = Counter(
            "orderbot_orders_confirmed", "Orders placed by this process", registry=r)
        self.deliveries = Counter(
            "orderbot_deliveries", "Outbox delivery attempts, by adapter kind and outcome "
            "(sent, retry, dead)", ["kind", "outcome"], registry=r)
        self.processing_seconds = Histogram(
            "orderbot_processing_seconds", "From a message stored to its processing committed",
            buckets=LATENCY_BUCKETS, registry=r)
        self.delivery_seconds = Histogram(
            "orderbot_delivery_seconds", "One adapter call (WhatsApp send, ticket), by kind",
            ["kind"], buckets=LATENCY_BUCKETS, registry=r)
        self.outbox_pending = Gauge(
            "orderbot_outbox_pending", "Outbox rows waiting to be delivered", registry=r)
        self.outbox_dead = Gauge(
            "orderbot_outbox_dead", "Outbox dead letters (see `orderbot outbox list`)",
            registry=r)
        self.orders = Gauge(
            "orderbot_orders", "Orders in the database by kitchen status (cancelled included)",
            ["status"], registry=r)
        # What conversations did (bot.conversation.Decision.outcomes), counted after commit.
        self.parse_outcomes = Counter(
            "orderbot_parse_outcomes", "Messages read as an order, by outcome (understood, "
            "partial, unknown_item, unavailable, nothing)", ["outcome"], registry=r)
        self.clarifications = Counter(
            "orderbot_clarifications", "Questions the bot asked, by kind (variant, option, "
            "ambiguous, stock, which_line)", ["kind"], registry=r)
        self.orders_cancelled = Counter(
            "orderbot_orders_cancelled", "Open orders the customer cancelled before placing "
            "them, by who (customer); placed orders cancelled later are "
            "orderbot_placed_orders_cancelled", ["by"], registry=r)
        self.placed_orders_cancelled = Gauge(
            "orderbot_placed_orders_cancelled", "Placed orders cancelled, by who: screen "
            "(kitchen display), system (kitchen system's status callback), operator (orderbot "
            "order cancel), unknown (before it was recorded)", ["by"], registry=r)
        self.orders_by_help = Gauge(
            "orderbot_orders_by_help", "Placed orders (not cancelled) by whether a person took "
            "over the chat while it was taken: none, human, unknown (before it was recorded)",
            ["help"], registry=r)
        # Known label values start at 0, so a rate over them exists before the first event.
        for outcome in ("understood", "partial", "unknown_item", "unavailable", "nothing"):
            self.parse_outcomes.labels(outcome)
        for kind in ("variant", "option", "ambiguous", "stock", "which_line"):
            self.clarifications.labels(kind)
        self.orders_cancelled.labels("customer")
        for by in (*CANCELLED_BY, UNKNOWN):
            self.placed_orders_cancelled.labels(by)

    def received(self, types: Iterable[str], duplicates: int) -> None:
        for kind in types:
            self.messages_received.labels(kind).inc()
        self.duplicates_dropped.inc(duplicates)

    def processed(self, received_at: datetime) -> None:
        if received_at.tzinfo is None:  # SQLite hands back naive UTC
            received_at = received_at.replace(tzinfo=UTC)
        self.processing_seconds.observe(max((utcnow() - received_at).total_seconds(), 0.0))

    def delivered(self, kind: str, outcome: str) -> None:
        self.deliveries.labels(kind, outcome).inc()

    def count(self, outcomes: Iterable[str]) -> None:
        """Count a decision's "<what>:<kind>" tags; a tag of another kind is not a metric."""
        counters = {"parse": self.parse_outcomes, "clarify": self.clarifications,
                    "cancel": self.orders_cancelled}
        for tag in outcomes:
            what, _, kind = tag.partition(":")
            counter = counters.get(what)
            if counter is not None and kind:
                counter.labels(kind).inc()

    async def refresh(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Read the gauges from the database: one query each."""
        async with sessions() as session:
            pending = await session.exec(select(func.count()).select_from(OutboxItem)
                                         .where(col(OutboxItem.state) == "pending"))
            self.outbox_pending.set(pending.one())
            dead = await session.exec(select(func.count()).select_from(OutboxItem)
                                      .where(col(OutboxItem.state) == "dead"))
            self.outbox_dead.set(dead.one())
            by_status = await session.exec(
                select(OrderRow.status, func.count()).group_by(col(OrderRow.status)))
            self.orders.clear()  # a status with no orders left is not reported as stale
            for status, count in by_status:
                self.orders.labels(status).set(count)
            by_help = await session.exec(
                select(OrderRow.assisted, func.count())
                .where(col(OrderRow.status) != "cancelled").group_by(col(OrderRow.assisted)))
            helped = dict(by_help.all())
            for label, assisted in (("none", False), ("human", True), ("unknown", None)):
                self.orders_by_help.labels(label).set(helped.get(assisted, 0))
            by_who = await session.exec(
                select(OrderRow.cancelled_by, func.count())
                .where(col(OrderRow.status) == "cancelled").group_by(col(OrderRow.cancelled_by)))
            cancelled: dict[str, int] = dict.fromkeys((*CANCELLED_BY, UNKNOWN), 0)
            for stored, count in by_who:
                cancelled[cancelled_by_label(stored)] += count
            for by, count in cancelled.items():
                self.placed_orders_cancelled.labels(by).set(count)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


METRICS_KEY: web.AppKey[Metrics] = web.AppKey("orderbot_metrics", Metrics)


def metrics_handler(sessions: async_sessionmaker[AsyncSession]) -> Any:
    async def metrics(request: web.Request) -> web.Response:
        registry = request.app[METRICS_KEY]
        try:
            await registry.refresh(sessions)
        except Exception:
            # The counters are still worth scraping; the stale gauges say nothing new.
            log.warning("could not read the outbox gauges for /metrics", exc_info=True)
        return web.Response(body=registry.exposition(),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    return metrics


async def database_answers(engine: AsyncEngine) -> bool:
    async def ping() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(ping(), timeout=READY_TIMEOUT_SECONDS)
    except Exception:
        log.warning("readiness: the database does not answer", exc_info=True)
        return False
    return True


def readyz_handler(engine: AsyncEngine, catalog_loaded: Callable[[], bool],
                   dispatcher_running: Callable[[], bool]) -> Any:
    """200 when the database answers, a catalog is loaded and the outbox is being delivered;
    503 naming the failing checks otherwise (booleans only: nothing secret in the answer)."""
    async def readyz(_request: web.Request) -> web.Response:
        checks = {"database": await database_answers(engine),
                  "catalog": catalog_loaded(),
                  "dispatcher": dispatcher_running()}
        if all(checks.values()):
            return web.json_response({"status": "ready", "checks": _words(checks)})
        failing = [name for name, ok in checks.items() if not ok]
        return web.json_response({"status": "not ready", "failing": failing,
                                  "checks": _words(checks)}, status=503)

    return readyz


def _words(checks: dict[str, bool]) -> dict[str, str]:
    return {name: "ok" if ok else "failing" for name, ok in checks.items()}
