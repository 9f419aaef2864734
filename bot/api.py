"""Changing an order's kitchen status, and the signed status callback for kitchen systems.

One service serves both the kitchen display's buttons and `POST /api/orders/{number}/status`,
so the rule (bot.order_status) and the customer's "ready" message are the same whichever way
the kitchen reports. The status change and the message's outbox row are one transaction: the
message is sent once the change is stored, and never for a change that was not.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from adapters.db import ConversationRow, OrderRow, OutboxItem, utcnow
from bot import window
from bot.clock import Clock
from bot.order_status import Status, Transition, TransitionError, ready_message, transition
from bot.replies import TextReply
from bot.security import signature_matches

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Orderbot-Signature"


class UnknownOrder(LookupError):
    """No order has this number."""


@dataclass(frozen=True)
class StatusChange:
    number: int
    transition: Transition
    # How the customer was told of "ready": None when this change tells them nothing (or they
    # were told already, e.g. ready -> undo -> ready again).
    told: window.Delivery | None = None


class OrderStatusService:
    """Applies status changes: checks the rule, stores the change, queues the customer message."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        shop_name: Callable[[], str],
        clock: Clock,
        template: window.Template | None,
        on_outbox: Callable[[], None],
        on_changed: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self._sessions = sessions
        self._shop_name = shop_name
        self._clock = clock
        self._template = template
        self._on_outbox = on_outbox
        self._on_changed = on_changed
        # Two clicks in this process are applied one after the other; across processes the
        # conditional UPDATE below refuses the loser.
        self._lock = asyncio.Lock()

    def notify_with(self, on_changed: Callable[[int], Awaitable[None]]) -> None:
        self._on_changed = on_changed

    async def change(self, number: int, target: str) -> StatusChange:
        """Move order `number` to `target`; raises UnknownOrder or TransitionError."""
        async with self._lock, self._sessions() as session, session.begin():
            rows = await session.exec(select(OrderRow).where(col(OrderRow.number) == number))
            order = rows.first()
            if order is None:
                raise UnknownOrder(number)
            step = transition(order.status, target)
            if not step.changed:
                return StatusChange(number, step)
            stored = await session.exec(
                update(OrderRow)
                .where(col(OrderRow.id) == order.id, col(OrderRow.status) == order.status)
                .values(status=step.after, status_at=utcnow()))
            if stored.rowcount != 1:
                raise TransitionError("the order was changed at the same moment; look again")
            told = await self._tell_ready(session, order) if step.tells_customer else None
        log.info("order %s: %s -> %s", number, step.before, step.after)
        if told is not None:
            self._on_outbox()
        if self._on_changed is not None:
            await self._on_changed(number)
        return StatusChange(number, step, told)

    async def _tell_ready(self, session: AsyncSession, order: OrderRow) -> window.Delivery | None:
        """Queue "your order is ready" once per order, whatever undo and redo happen after."""
        assert order.number is not None
        key = f"status:{order.number}:ready"
        already = await session.exec(
            select(OutboxItem.id).where(col(OutboxItem.key).startswith(f"{key}:")))
        if already.first() is not None:
            return None
        conversation = await session.get(ConversationRow, order.customer)
        to = (conversation.reply_to if conversation else "") or order.customer
        last = conversation.customer_at if conversation else None
        if last is None and conversation is not None and conversation.last_inbound_at:
            last = datetime.fromtimestamp(conversation.last_inbound_at, UTC)
        body = ready_message(order.number, order.fulfillment, order.customer_name,
                             self._shop_name())
        outgoing = window.plan((TextReply(body),), to, last, self._clock.now(), self._template)
        if outgoing.delivery == "dropped":
            log.warning("order %s is ready but WhatsApp's 24-hour window with its customer has "
                        "closed and no ORDERBOT_REMINDER_TEMPLATE is set: not told", order.number)
        for index, payload in enumerate(outgoing.payloads):
            session.add(OutboxItem(kind="whatsapp", lane=f"wa:{to}", key=f"{key}:{index}",
                                   payload=json.dumps(payload)))
        return outgoing.delivery


def _error(status: int, message: str, **extra: object) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


def status_callback(service: OrderStatusService, secret: Callable[[], str]
                    ) -> Callable[[web.Request], Awaitable[web.Response]]:
    """`POST /api/orders/{number}/status` with {"status": "ready"}, signed like our tickets."""

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        header = request.headers.get(SIGNATURE_HEADER)
        if not header:
            return _error(401, f"missing {SIGNATURE_HEADER} header")
        key = secret()
        if not key:
            return _error(403, "status callbacks are off: ORDERBOT_KITCHEN_WEBHOOK_SECRET is "
                               "not set")
        if not signature_matches(body, header, key):
            return _error(403, "bad signature")
        try:
            number = int(request.match_info["number"].lstrip("#"))
        except ValueError:
            return _error(404, "no such order")
        try:
            target = json.loads(body)["status"]
        except (ValueError, KeyError, TypeError):
            return _error(400, 'send JSON like {"status": "ready"}')
        return await apply_change(service, number, target)

    return handle


async def apply_change(service: OrderStatusService, number: int, target: object
                       ) -> web.Response:
    """The HTTP answer to a status change, shared by the callback and the display."""
    if not isinstance(target, str):
        return _error(400, "status must be a string")
    try:
        change = await service.change(number, target)
    except UnknownOrder:
        return _error(404, f"no order #{number}")
    except TransitionError as error:
        return _error(409, str(error))
    after: Status = change.transition.after
    return web.json_response({"number": number, "status": after,
                              "previous": change.transition.before,
                              "changed": change.transition.changed,
                              "customer_told": change.told})
