"""Changing an order's kitchen status, and the signed status callback for kitchen systems.

One service serves the kitchen display's buttons, `POST /api/orders/{number}/status` and
`orderbot order cancel`, so the rule (bot.order_status) and the customer's "ready" and
"cancelled" messages are the same whichever way the kitchen reports. The status change, the
message's outbox row and, for a cancellation, the stock given back (and the spreadsheet refresh)
are one transaction: the message is sent once the change is stored, and never for a change that
was not; a cancellation that fails leaves the order, its stock and the customer untouched.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from adapters.db import ConversationRow, DisplayTicket, OrderRow, OutboxItem, utcnow
from adapters.inventory import Inventory
from bot import window
from bot.cancellation import CancelledBy
from bot.clock import Clock
from bot.inventory import StockKey, key_text
from bot.order_status import (
    CANCELLED,
    Status,
    Transition,
    TransitionError,
    cancelled_message,
    clean_reason,
    ready_message,
    transition,
)
from bot.replies import TextReply
from bot.security import signature_matches, timestamp_is_fresh, timestamped_body
from catalog.catalog import Catalog

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Orderbot-Signature"
TIMESTAMP_HEADER = "X-Orderbot-Timestamp"
# A timestamped callback older (or newer) than this is refused: a recorded request cannot be
# replayed later, e.g. to move a finished order back to "ready".
CALLBACK_MAX_AGE_SECONDS = 300.0


class UnknownOrder(LookupError):
    """No order has this number."""


@dataclass(frozen=True)
class StatusChange:
    number: int
    transition: Transition
    # How the customer was told of "ready" or "cancelled": None when this change tells them
    # nothing (or they were told already, e.g. ready -> undo -> ready again).
    told: window.Delivery | None = None
    # What a cancellation gave back to stock (only the first cancellation gives anything).
    returned: tuple[tuple[StockKey, int], ...] = ()


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
        inventory: Inventory,
        catalog: Callable[[], Catalog],
        on_changed: Callable[[int], Awaitable[None]] | None = None,
        refresh_display: bool = False,
    ) -> None:
        """`refresh_display`: for a process without the kitchen screens (the CLI), queue the
        ticket to the "display" adapter again so the server's screens show the new status."""
        self._sessions = sessions
        self._shop_name = shop_name
        self._clock = clock
        self._template = template
        self._on_outbox = on_outbox
        self._inventory = inventory
        self._catalog = catalog
        self._on_changed = on_changed
        self._refresh_display = refresh_display
        # Two clicks in this process are applied one after the other; across processes the
        # conditional UPDATE below refuses the loser.
        self._lock = asyncio.Lock()

    def notify_with(self, on_changed: Callable[[int], Awaitable[None]]) -> None:
        self._on_changed = on_changed

    async def change(self, number: int, target: str, reason: str = "", *,
                     by: CancelledBy) -> StatusChange:
        """Move order `number` to `target`; raises UnknownOrder or TransitionError.

        `reason` (bot.order_status.clean_reason) is told to the customer of a cancellation, and
        stored with `by` (who asked) on the order for the owner report. `by` is required of
        every caller, though only a cancellation stores it, so no way of cancelling goes
        unrecorded. (Cancelled is final, so nothing ever needs to clear them.)
        """
        returned: list[tuple[StockKey, int]] = []
        async with self._lock, self._sessions() as session, session.begin():
            rows = await session.exec(select(OrderRow).where(col(OrderRow.number) == number))
            order = rows.first()
            if order is None:
                raise UnknownOrder(number)
            step = transition(order.status, target)
            if not step.changed:
                return StatusChange(number, step)
            recorded = {"cancelled_by": by, "cancel_reason": reason} if step.cancels else {}
            stored = await session.exec(
                update(OrderRow)
                .where(col(OrderRow.id) == order.id, col(OrderRow.status) == order.status)
                .values(status=step.after, status_at=utcnow(), **recorded))
            if stored.rowcount != 1:
                raise TransitionError("the order was changed at the same moment; look again")
            if step.cancels:
                returned = await self._give_back(session, order)
            told = (await self._tell(session, order, step.after, reason)
                    if step.tells_customer else None)
            refreshed = self._refresh_display and await self._queue_display(session, number)
        log.info("order %s: %s -> %s%s", number, step.before, step.after,
                 f" (stock back: {_units_text(returned)})" if returned else "")
        if told is not None or step.cancels or refreshed:
            self._on_outbox()
        if self._on_changed is not None:
            await self._on_changed(number)
        return StatusChange(number, step, told, tuple(returned))

    async def _give_back(self, session: AsyncSession, order: OrderRow
                         ) -> list[tuple[StockKey, int]]:
        """A cancelled order's units go back on the shelf (Inventory.release: once per order,
        however often or from wherever it is called)."""
        returned = await self._inventory.release(session, order.source_wamid, self._catalog())
        if not returned:  # nothing counted, yet the spreadsheet's order log shows the status
            self._inventory.queue_sheet(session, f"cancel:{order.number}")
        return returned

    async def _queue_display(self, session: AsyncSession, number: int) -> bool:
        """Re-deliver the stored ticket to the display adapter, which stores nothing new for a
        ticket it has and shows its current status on every open screen."""
        stored = (await session.exec(select(DisplayTicket.ticket).where(
            col(DisplayTicket.number) == number))).first()
        if stored is None:  # the display never showed this order
            return False
        session.add(OutboxItem(kind="display", lane="display",
                               key=f"display:{number}:status:{uuid.uuid4().hex[:12]}",
                               payload=stored))
        return True

    async def _tell(self, session: AsyncSession, order: OrderRow, event: Status, reason: str
                    ) -> window.Delivery | None:
        """Queue the customer's message for `event` ("ready" or "cancelled") once per order,
        whatever undo and redo happen after."""
        assert order.number is not None
        key = f"status:{order.number}:{event}"
        already = await session.exec(
            select(OutboxItem.id).where(col(OutboxItem.key).startswith(f"{key}:")))
        if already.first() is not None:
            return None
        conversation = await session.get(ConversationRow, order.customer)
        to = (conversation.reply_to if conversation else "") or order.customer
        last = conversation.customer_at if conversation else None
        if last is None and conversation is not None and conversation.last_inbound_at:
            last = datetime.fromtimestamp(conversation.last_inbound_at, UTC)
        if event == CANCELLED:
            body = cancelled_message(order.number, order.customer_name, self._shop_name(),
                                     reason)
        else:
            body = ready_message(order.number, order.fulfillment, order.customer_name,
                                 self._shop_name())
        outgoing = window.plan((TextReply(body),), to, last, self._clock.now(), self._template)
        if outgoing.delivery == "dropped":
            log.warning("order %s is %s but WhatsApp's 24-hour window with its customer has "
                        "closed and no ORDERBOT_REMINDER_TEMPLATE is set: not told",
                        order.number, event)
        for index, payload in enumerate(outgoing.payloads):
            session.add(OutboxItem(kind="whatsapp", lane=f"wa:{to}", key=f"{key}:{index}",
                                   payload=json.dumps(payload)))
        return outgoing.delivery


def _units_text(returned: list[tuple[StockKey, int]]) -> str:
    return ", ".join(f"{units} × {key_text(key)}" for key, units in returned)


def _error(status: int, message: str, **extra: object) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


def status_callback(service: OrderStatusService, secret: Callable[[], str],
                    now: Callable[[], float] = time.time,
                    ) -> Callable[[web.Request], Awaitable[web.Response]]:
    """`POST /api/orders/{number}/status` with {"status": "ready"} (or {"status": "cancelled",
    "reason": "…"}), signed like our tickets.

    With an `X-Orderbot-Timestamp: <unix seconds>` header the signature covers
    "<timestamp>." + body and the request must be fresh (CALLBACK_MAX_AGE_SECONDS), which stops
    replays; without it the body-only signature of earlier versions is still accepted.
    """

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        header = request.headers.get(SIGNATURE_HEADER)
        if not header:
            return _error(401, f"missing {SIGNATURE_HEADER} header")
        key = secret()
        if not key:
            return _error(403, "status callbacks are off: ORDERBOT_KITCHEN_WEBHOOK_SECRET is "
                               "not set")
        timestamp = request.headers.get(TIMESTAMP_HEADER)
        if timestamp is not None:
            if not timestamp_is_fresh(timestamp.strip(), now(), CALLBACK_MAX_AGE_SECONDS):
                return _error(403, f"{TIMESTAMP_HEADER} must be the current unix time in "
                                   "seconds (requests older than 5 minutes are refused)")
            signed = timestamped_body(timestamp.strip(), body)
        else:
            signed = body
        if not signature_matches(signed, header, key):
            return _error(403, "bad signature")
        try:
            number = int(request.match_info["number"].lstrip("#"))
        except ValueError:
            return _error(404, "no such order")
        try:
            data = json.loads(body)
            target, reason = data["status"], data.get("reason")
        except (ValueError, KeyError, TypeError, AttributeError):
            return _error(400, 'send JSON like {"status": "ready"}')
        return await apply_change(service, number, target, reason, by="system")

    return handle


async def apply_change(service: OrderStatusService, number: int, target: object,
                       reason: object = None, *, by: CancelledBy) -> web.Response:
    """The HTTP answer to a status change, shared by the callback and the display.

    `reason` only goes with "cancelled" (told to the customer); other changes ignore it. `by`
    says which of the two is asking ("system" or "screen"), recorded on a cancellation.
    """
    if not isinstance(target, str):
        return _error(400, "status must be a string")
    if reason is not None and not isinstance(reason, str):
        return _error(400, "reason must be a string")
    try:
        told_reason = clean_reason(reason) if target == CANCELLED else ""
    except ValueError as error:
        return _error(400, str(error))
    try:
        change = await service.change(number, target, told_reason, by=by)
    except UnknownOrder:
        return _error(404, f"no order #{number}")
    except TransitionError as error:
        return _error(409, str(error))
    after: Status = change.transition.after
    answer: dict[str, object] = {"number": number, "status": after,
                                 "previous": change.transition.before,
                                 "changed": change.transition.changed,
                                 "customer_told": change.told}
    if after == CANCELLED:  # what went back on the shelf (empty when cancelled already)
        answer["stock_returned"] = [{"item": key_text(key), "units": units}
                                    for key, units in change.returned]
    return web.json_response(answer)
