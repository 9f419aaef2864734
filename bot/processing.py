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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from adapters import inbox
from adapters.db import ConversationRow, InboundMessage, OrderRow, OutboxItem, utcnow
from adapters.inventory import Inventory
from bot import texts, window
from bot.burst import NOTHING_HELD, HeldPrompts, burst_replies
from bot.cart import PricedCart
from bot.checkout import OrderDetails, confirmation_line
from bot.clock import Clock
from bot.conversation import (
    ButtonTap,
    Context,
    ConversationState,
    CustomerText,
    Decision,
    Event,
    HandoffRelease,
    OtherMessage,
    TextParser,
    TimerFired,
    decide,
)
from bot.inventory import short_apology
from bot.metrics import Metrics
from bot.privacy import mask
from bot.replies import Reply, TextReply, fit_to_whatsapp, graph_payload, mark_read_payload
from bot.routing import Routing, split_ticket
from bot.shop_rules import when_text
from bot.tickets import build_ticket, display_number
from bot.timers import TimerSettings, due_now, next_timer
from bot.whatsapp_payloads import location_pin, message_text, native_cart, reply_id
from catalog.catalog import Catalog

log = logging.getLogger(__name__)

ORDER_NUMBER_START = 1000
RETRY_SECONDS = 1.0  # after a database hiccup, how soon a customer's messages are tried again


def event_from_message(message: dict[str, Any]) -> Event:
    tapped = reply_id(message)
    if tapped is not None:
        return ButtonTap(tapped)
    body = message_text(message)
    if body is not None:
        return CustomerText(body)
    kind = str(message.get("type", "unknown"))
    # A cart or a pin we cannot read is answered like any other message we cannot read.
    if kind == "order":
        return native_cart(message) or OtherMessage(kind)
    if kind == "location":
        return location_pin(message) or OtherMessage(kind)
    return OtherMessage(kind)


class Processor:
    """Runs customers' pending messages; per-customer locks keep each customer strictly serial."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        catalog: Callable[[], Catalog],
        parser: Callable[[], TextParser],
        on_outbox: Callable[[], None],
        *,
        routing: Routing | None = None,
        merge_window: float = 0.0,
        clock: Clock | None = None,
        timers: TimerSettings | None = None,
        template: window.Template | None = None,
        inventory: Inventory | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._sessions = sessions
        self._catalog = catalog
        self._parser = parser
        self._on_outbox = on_outbox
        self._routing = routing or Routing()  # the ticket adapters and their categories
        self._merge_window = merge_window
        self._clock = clock or Clock()
        self._timers = timers or TimerSettings()
        self._template = template  # sent instead of messages due after the 24-hour window
        self.inventory = inventory or Inventory()
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._due: dict[str, float] = {}  # customer -> when their quiet window ends
        self._metrics = metrics or Metrics()

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
        try:
            await self.process_customer(customer)
        except OperationalError:
            log.warning("database unavailable for customer %s; retrying in %.0f s",
                        mask(customer), RETRY_SECONDS, exc_info=True)
            loop.call_later(RETRY_SECONDS, self.kick, customer)
        except Exception:
            log.exception("processing customer %s failed", mask(customer))

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
                    try:
                        held = await self._process(message_id, held=held,
                                                   more_coming=position < len(pending) - 1)
                    except OperationalError:
                        # The database is busy or away (SQLite "database is locked", a dropped
                        # connection): nothing was committed, so try this customer again soon.
                        log.warning("database unavailable while processing message %s; "
                                    "retrying in %.0f s", message_id, RETRY_SECONDS,
                                    exc_info=True)
                        asyncio.get_running_loop().call_later(RETRY_SECONDS, self.kick, customer)
                        return
                    except Exception as error:
                        # Left pending, this message would block every later one from this
                        # customer: record it as failed and tell them.
                        log.exception("processing message %s failed", message_id)
                        if not await self._give_up(message_id, error):
                            asyncio.get_running_loop().call_later(
                                RETRY_SECONDS, self.kick, customer)
                            return
        if not lock.locked():
            self._locks.pop(customer, None)

    async def _give_up(self, message_id: int, error: Exception) -> bool:
        try:
            async with self._sessions() as session, session.begin():
                row = await session.get(InboundMessage, message_id)
                if row is None or row.state != "pending":
                    return True
                row.state, row.processed_at = "failed", utcnow()
                row.error = f"{type(error).__name__}: {error}"[:500]
                reply_to = json.loads(row.payload).get("reply_to") or row.customer
                self._queue_replies(session, row.wamid, reply_to,
                                    [TextReply(texts.text("internal_error"))])
        except Exception:
            log.exception("could not record message %s as failed; it stays pending", message_id)
            return False
        self._on_outbox()
        return True

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
            self._customer_wrote(conversation, row.sent_at)
            # Live counts, so the stock questions and the menu use what is left right now.
            stock = await self.inventory.counts(session, self._catalog())
            decision = self._decide(row, stored["message"], conversation, stock)
            if decision.place_order is not None:
                decision = await self._reserve(session, row, stored["message"], conversation,
                                               decision)
            replies, held = burst_replies(
                decision.replies, revision=decision.state.revision, stage=decision.state.stage,
                more_coming=more_coming, held=held)
            if decision.place_order is not None:
                replies.append(
                    await self._place_order(session, row, conversation, decision.place_order,
                                            decision.details)
                )
            self._queue_replies(session, row.wamid, conversation.reply_to, replies)
            self._queue_alerts(session, f"alert:{row.wamid}", decision.alerts)
            self._schedule(conversation, decision.state)
            conversation.state = decision.state.to_json()
            conversation.version += 1
            conversation.updated_at = utcnow()
            session.add(conversation)
            row.state = "done" if row.error is None else "failed"
            row.processed_at = utcnow()
            received_at, placed = row.received_at, decision.place_order is not None
        # Counted after the commit: a rolled-back transaction placed nothing.
        self._metrics.processed(received_at)
        if placed:
            self._metrics.orders_confirmed.inc()
        self._on_outbox()
        return held

    def _decide(
        self, row: InboundMessage, message: dict[str, Any], conversation: ConversationRow,
        stock: dict[str, int] | None = None,
    ) -> Decision:
        state = ConversationState.from_json(conversation.state)
        ctx = Context(self._catalog(), self._parser(), conversation.name,
                      customer=conversation.reply_to or conversation.customer,
                      now=self._clock.now(), stock=stock or {})
        try:
            return decide(state, event_from_message(message), ctx)
        except Exception as error:
            # A bug or a catalog edit that removed a cart item must not wedge the customer:
            # keep their state, tell them, record the failure on the message.
            log.exception("could not handle message %s", row.wamid)
            row.error = f"{type(error).__name__}: {error}"[:500]
            return Decision(state, (TextReply(texts.text("internal_error")),))

    async def _reserve(
        self, session: AsyncSession, row: InboundMessage, message: dict[str, Any],
        conversation: ConversationRow, decision: Decision,
    ) -> Decision:
        """Take the order's units in this transaction (adapters.inventory). When another
        customer was quicker, decide again on the live counts: the conversation then says what is
        left ("only 2 left — shall I make it 2?", "sold out") and nothing is placed."""
        assert decision.place_order is not None
        catalog = self._catalog()
        taken = await self.inventory.reserve(session, row.wamid, decision.place_order, catalog)
        if taken.ok:
            self._queue_alerts(session, f"stock:{row.wamid}", taken.alerts)
            return decision
        again = self._decide(row, message, conversation, taken.live)
        if again.place_order is None or taken.short is None:
            return again
        # Only one size's own count is short, which the per-product counts cannot show.
        key, left = taken.short
        return Decision(ConversationState.from_json(conversation.state),
                        (TextReply(short_apology(catalog, key, left)),))

    async def _place_order(
        self,
        session: AsyncSession,
        row: InboundMessage,
        conversation: ConversationRow,
        priced: PricedCart,
        details: OrderDetails,
    ) -> Reply:
        catalog = self._catalog()
        latitude, longitude = details.location or (None, None)
        order = OrderRow(
            customer=row.customer,
            customer_name=conversation.name,
            source_wamid=row.wamid,
            lines=json.dumps([line.line.to_json() for line in priced.lines]),
            total=str(priced.total),
            currency=catalog.shop.currency,
            fulfillment=details.fulfilment,
            address=details.address,
            latitude=latitude,
            longitude=longitude,
            note=details.note,
            prepare_at=details.prepare_at.astimezone(UTC) if details.prepare_at else None,
        )
        session.add(order)
        await session.flush()  # assigns the id the human order number is derived from
        assert order.id is not None
        order.number = ORDER_NUMBER_START + order.id
        ticket = build_ticket(order.number, order.created_at, priced, catalog,
                              conversation.name, fulfillment=details.fulfilment,
                              address=details.address, location=details.location,
                              note=details.note, prepare_at=details.prepare_at)
        # One row per adapter, in the adapter's own lane: a printer that is off holds back
        # only its own tickets, and each adapter gets them in order of confirmation.
        for adapter, part in split_ticket(ticket, self._routing):
            session.add(OutboxItem(kind=adapter, lane=adapter,
                                   key=f"order-{order.number}:{adapter}",
                                   payload=json.dumps(part)))
        if not self._routing.adapters:
            log.warning("order %s has no ticket adapter configured", order.number)
        first_name = conversation.name.split()[0] if conversation.name.strip() else ""
        when = (when_text(details.prepare_at, self._clock.now())
                if details.prepare_at is not None else "")
        return TextReply(texts.text(
            "confirmed", name=f", {first_name}" if first_name else "",
            number=display_number(order.number), total=catalog.format_money(priced.total),
        ) + "\n" + confirmation_line(details, catalog.shop, when))

    @staticmethod
    def _queue_replies(
        session: AsyncSession, wamid: str, reply_to: str, replies: list[Reply]
    ) -> None:
        lane = f"wa:{reply_to}"
        session.add(OutboxItem(kind="whatsapp", lane=lane, key=f"read:{wamid}",
                               payload=json.dumps(mark_read_payload(wamid))))
        for index, reply in enumerate(fit_to_whatsapp(replies)):
            session.add(OutboxItem(kind="whatsapp", lane=lane, key=f"reply:{wamid}:{index}",
                                   payload=json.dumps(graph_payload(reply, reply_to))))

    # --- timers, handoff and the 24-hour window (bot.timers, bot.handoff, bot.window) ---

    async def run_timers(self) -> int:
        """Fire every conversation timer due at the clock's now; returns how many fired."""
        async with self._sessions() as session:
            rows = await session.exec(
                select(ConversationRow.customer).where(
                    col(ConversationRow.due_at).is_not(None),
                    col(ConversationRow.due_at) <= self._clock.now()))
            customers = list(rows)
        fired = 0
        for customer in customers:
            if await self._bot_event(customer, release=False) is not None:
                fired += 1
        return fired

    async def release_handoff(self, customer: str) -> Released | None:
        """Give a handed-off conversation back to the bot; None for an unknown customer."""
        return await self._bot_event(customer.lstrip("+"), release=True)

    async def handed_off(self) -> list[ConversationRow]:
        """Conversations a person has taken over, oldest activity first."""
        async with self._sessions() as session:
            rows = await session.exec(
                select(ConversationRow)
                .where(col(ConversationRow.state).contains('"handoff": true'))
                .order_by(col(ConversationRow.timer_from)))
            return [row for row in rows if ConversationState.from_json(row.state).handoff]

    async def _bot_event(self, customer: str, *, release: bool) -> Released | None:
        """A timer or a release, run like a message: under the customer's lock, one transaction.

        For a timer, the deadline is read again inside the transaction: a message processed in
        the meantime has moved or cleared it, and then nothing fires.
        """
        lock = self._locks.setdefault(customer, asyncio.Lock())
        async with lock:
            result = await self._run_bot_event(customer, release)
        if not lock.locked():
            self._locks.pop(customer, None)
        if result is not None:
            self._on_outbox()
        return result

    async def _run_bot_event(self, customer: str, release: bool) -> Released | None:
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            conversation = await session.get(ConversationRow, customer)
            if conversation is None:
                return None
            state = ConversationState.from_json(conversation.state)
            event: TimerFired | HandoffRelease
            if release:
                event, label = HandoffRelease(), "release"
            else:
                # Recomputed from the state: a message in the meantime moved the deadline.
                kind = due_now(state, conversation.timer_from, self._timers, now)
                if kind is None:
                    self._schedule(conversation, state)
                    session.add(conversation)
                    return None
                event, label = TimerFired(kind), kind
            ctx = Context(self._catalog(), _LazyParser(self._parser), conversation.name,
                          customer=conversation.reply_to or customer, now=now)
            try:
                decision = decide(state, event, ctx)
            except Exception:
                # E.g. a catalog edit removed a cart item: drop this timer rather than retry it
                # every sweep; the customer's next message schedules afresh.
                log.exception("%s for %s failed; timer dropped", label, customer)
                conversation.due_at = conversation.due_kind = None
                session.add(conversation)
                return None
            delivery = self._queue_bot_initiated(
                session, f"{label}:{customer}:{conversation.version}", conversation,
                decision.replies, now)
            if release:
                conversation.timer_from = now  # cart timers start again from here
            log.info("%s for %s: %d message(s), %s", label, customer, len(decision.replies),
                     delivery)
            self._schedule(conversation, decision.state)
            conversation.state = decision.state.to_json()
            conversation.version += 1
            conversation.updated_at = utcnow()
            session.add(conversation)
            return Released(customer, conversation.name, state.handoff, delivery)

    def _queue_bot_initiated(
        self, session: AsyncSession, key: str, conversation: ConversationRow,
        replies: tuple[Reply, ...], now: datetime,
    ) -> window.Delivery:
        """Messages nobody just asked for: inside the 24-hour window as they are, else as the
        configured template, else not at all (logged)."""
        to = conversation.reply_to or conversation.customer
        last = conversation.customer_at
        if last is None and conversation.last_inbound_at:  # a row from before customer_at
            last = datetime.fromtimestamp(conversation.last_inbound_at, UTC)
        outgoing = window.plan(replies, to, last, now, self._template)
        if outgoing.delivery == "template":
            log.info("24-hour window closed for %s: sending template %r instead of %d "
                     "message(s)", to, self._template.name if self._template else "",
                     len(replies))
        elif outgoing.delivery == "dropped":
            log.warning("24-hour window closed for %s: %d message(s) not sent (set "
                        "ORDERBOT_REMINDER_TEMPLATE to send a template instead)", to,
                        len(replies))
        for index, payload in enumerate(outgoing.payloads):
            session.add(OutboxItem(kind="whatsapp", lane=f"wa:{to}", key=f"{key}:{index}",
                                   payload=json.dumps(payload)))
        return outgoing.delivery

    def _queue_alerts(self, session: AsyncSession, key: str, alerts: tuple[str, ...]) -> None:
        if not alerts:
            return
        owner = (self._catalog().shop.owner_whatsapp or "").lstrip("+")
        if not owner:
            log.warning("no shop.owner_whatsapp in the catalog: %d alert(s) not sent: %s",
                        len(alerts), " | ".join(alerts))
            return
        for index, alert in enumerate(alerts):
            session.add(OutboxItem(kind="whatsapp", lane=f"wa:{owner}", key=f"{key}:{index}",
                                   payload=json.dumps(graph_payload(TextReply(alert), owner))))

    def _customer_wrote(self, conversation: ConversationRow, sent_at: int) -> None:
        now = self._clock.now()
        opened = window.opened_at(sent_at, now)
        known = conversation.customer_at
        conversation.customer_at = max(opened, known) if known else opened
        conversation.timer_from = now  # a customer writing resets the timers

    def _schedule(self, conversation: ConversationRow, state: ConversationState) -> None:
        due = next_timer(state, conversation.timer_from, self._timers)
        conversation.due_at = None if due is None else due.at
        conversation.due_kind = None if due is None else due.kind


@dataclass(frozen=True)
class Released:
    """What a timer or a handoff release did (the CLI prints it)."""

    customer: str
    name: str
    was_paused: bool  # the conversation was handed off before this event
    delivery: window.Delivery  # how the customer was told


class _LazyParser:
    """Builds the order parser only if the event needs it (a CLI release never does)."""

    def __init__(self, make: Callable[[], TextParser]) -> None:
        self._make = make

    def parse(self, text: str) -> Any:
        return self._make().parse(text)

