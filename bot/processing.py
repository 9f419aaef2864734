"""Processes stored inbound messages: one customer at a time, in order, exactly once in effect.

For each message, one transaction loads the conversation, runs the pure `decide`, and writes the
new state, the order (if confirmed), the outbox rows for replies and ticket, and marks the
message done. A crash before the commit leaves the message pending, and it is processed again
on restart (`recover`); after the commit the outbox delivers what was decided.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from adapters import inbox
from adapters.db import ConversationRow, InboundMessage, OrderRow, OutboxItem, utcnow
from bot import texts
from bot.burst import NOTHING_HELD, HeldPrompts, burst_replies
from bot.cart import PricedCart
from bot.clock import Clock
from bot.conversation import (
    ButtonTap,
    Context,
    ConversationState,
    CustomerText,
    Decision,
    Event,
    OtherMessage,
    TextParser,
    decide,
)
from bot.replies import Reply, TextReply, graph_payload, mark_read_payload
from bot.tickets import build_ticket, display_number
from bot.whatsapp_payloads import message_text, reply_id
from catalog.catalog import Catalog

log = logging.getLogger(__name__)

ORDER_NUMBER_START = 1000


def event_from_message(message: dict[str, Any]) -> Event:
    tapped = reply_id(message)
    if tapped is not None:
        return ButtonTap(tapped)
    body = message_text(message)
    if body is not None:
        return CustomerText(body)
    return OtherMessage(str(message.get("type", "unknown")))


class Processor:
    """Runs customers' pending messages; per-customer locks keep each customer strictly serial."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        catalog: Callable[[], Catalog],
        parser: Callable[[], TextParser],
        on_outbox: Callable[[], None],
        *,
        kitchen_enabled: bool,
        merge_window: float = 0.0,
        clock: Clock | None = None,
    ) -> None:
        self._sessions = sessions
        self._catalog = catalog
        self._parser = parser
        self._on_outbox = on_outbox
        self._kitchen_enabled = kitchen_enabled
        self._merge_window = merge_window
        self._clock = clock or Clock()
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._due: dict[str, float] = {}  # customer -> when their quiet window ends

    def kick(self, customer: str) -> None:
        """Process this customer's pending messages once they have been quiet for a moment.

        People type in bursts and Meta delivers concurrently and out of order: waiting for a
        short quiet window lets the burst land, so it is handled in timestamp order.
        """
        loop = asyncio.get_running_loop()
        waiting = customer in self._due
        self._due[customer] = loop.time() + self._merge_window
        if not waiting:
            task = asyncio.create_task(self._after_quiet(customer))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _after_quiet(self, customer: str) -> None:
        loop = asyncio.get_running_loop()
        try:
            while (delay := self._due[customer] - loop.time()) > 0:
                await asyncio.sleep(delay)
        finally:
            self._due.pop(customer, None)
        await self.process_customer(customer)

    def warm_up(self) -> None:
        """Build the parser now, so the first customer does not wait for it."""
        self._parser()

    async def recover(self) -> None:
        for customer in await inbox.customers_with_pending(self._sessions):
            self.kick(customer)

    async def idle(self) -> None:
        """Wait until every kicked customer is processed (tests and clean shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def process_customer(self, customer: str) -> None:
        lock = self._locks.setdefault(customer, asyncio.Lock())
        async with lock:
            while pending := await self._pending(customer):
                held = NOTHING_HELD  # a burst gets one answer: see bot.burst
                for position, message_id in enumerate(pending):
                    held = await self._process(message_id, held=held,
                                               more_coming=position < len(pending) - 1)
        if not lock.locked():
            self._locks.pop(customer, None)

    async def _pending(self, customer: str) -> list[int]:
        async with self._sessions() as session:
            rows = await session.exec(
                select(InboundMessage.id)
                .where(col(InboundMessage.customer) == customer,
                       col(InboundMessage.state) == "pending")
                .order_by(col(InboundMessage.sent_at), col(InboundMessage.id))  # customer's order
                .limit(50)
            )
            return [message_id for message_id in rows if message_id is not None]

    async def _process(
        self, message_id: int, *, held: HeldPrompts = NOTHING_HELD, more_coming: bool = False
    ) -> HeldPrompts:
        async with self._sessions() as session, session.begin():
            row = await session.get(InboundMessage, message_id)
            if row is None or row.state != "pending":
                return held
            stored = json.loads(row.payload)
            conversation = await session.get(ConversationRow, row.customer) or ConversationRow(
                customer=row.customer
            )
            conversation.reply_to = stored.get("reply_to") or row.customer
            conversation.name = stored.get("name") or conversation.name
            conversation.last_inbound_at = max(conversation.last_inbound_at, row.sent_at)
            decision = self._decide(row, stored["message"], conversation)
            replies, held = burst_replies(
                decision.replies, revision=decision.state.revision, stage=decision.state.stage,
                more_coming=more_coming, held=held)
            if decision.place_order is not None:
                replies.append(
                    await self._place_order(session, row, conversation, decision.place_order)
                )
            self._queue_replies(session, row.wamid, conversation.reply_to, replies)
            conversation.state = decision.state.to_json()
            conversation.version += 1
            conversation.updated_at = utcnow()
            session.add(conversation)
            row.state = "done" if row.error is None else "failed"
            row.processed_at = utcnow()
        self._on_outbox()
        return held

    def _decide(
        self, row: InboundMessage, message: dict[str, Any], conversation: ConversationRow
    ) -> Decision:
        state = ConversationState.from_json(conversation.state)
        ctx = Context(self._catalog(), self._parser(), conversation.name, now=self._clock.now())
        try:
            return decide(state, event_from_message(message), ctx)
        except Exception as error:
            # A bug or a catalog edit that removed a cart item must not wedge the customer:
            # keep their state, tell them, record the failure on the message.
            log.exception("could not handle message %s", row.wamid)
            row.error = f"{type(error).__name__}: {error}"[:500]
            return Decision(state, (TextReply(texts.text("internal_error")),))

    async def _place_order(
        self,
        session: AsyncSession,
        row: InboundMessage,
        conversation: ConversationRow,
        priced: PricedCart,
    ) -> Reply:
        catalog = self._catalog()
        order = OrderRow(
            customer=row.customer,
            customer_name=conversation.name,
            source_wamid=row.wamid,
            lines=json.dumps([line.line.to_json() for line in priced.lines]),
            total=str(priced.total),
            currency=catalog.shop.currency,
        )
        session.add(order)
        await session.flush()  # assigns the id the human order number is derived from
        assert order.id is not None
        order.number = ORDER_NUMBER_START + order.id
        if self._kitchen_enabled:
            ticket = build_ticket(order.number, order.created_at, priced, catalog,
                                  conversation.name)
            session.add(OutboxItem(kind="kitchen", lane="kitchen", key=f"order-{order.number}",
                                   payload=json.dumps(ticket)))
        else:
            log.warning("order %s has no kitchen adapter configured", order.number)
        first_name = conversation.name.split()[0] if conversation.name.strip() else ""
        return TextReply(texts.text(
            "confirmed", name=f", {first_name}" if first_name else "",
            number=display_number(order.number), total=catalog.format_money(priced.total),
        ))

    @staticmethod
    def _queue_replies(
        session: AsyncSession, wamid: str, reply_to: str, replies: list[Reply]
    ) -> None:
        lane = f"wa:{reply_to}"
        session.add(OutboxItem(kind="whatsapp", lane=lane, key=f"read:{wamid}",
                               payload=json.dumps(mark_read_payload(wamid))))
        for index, reply in enumerate(replies):
            session.add(OutboxItem(kind="whatsapp", lane=lane, key=f"reply:{wamid}:{index}",
                                   payload=json.dumps(graph_payload(reply, reply_to))))
