"""Processes stored inbound messages: one customer at a time, in order, exactly once in effect.

For each message, one transaction loads the conversation, runs the pure `decide`, and writes the
new state, the order (if confirmed), the outbox rows for replies and ticket, and marks the
message done. A crash before the commit leaves the message pending, and it is processed again
on restart (`recover`); after the commit the outbox delivers what was decided. Timers and
handoff releases take the same per-customer turns (bot.bot_turns).

Across processes sharing a database, each transaction starts with the customer's database lock
(adapters.customer_lock) and its writes are conditional: the message must still be pending and
the conversation still at the version read. A transaction that loses either race is rolled back
(`Superseded`) and the customer's pending messages are read again, so no message is handled
twice and no timer fires twice.

Statements per message, in its transaction: the lock (PostgreSQL), for a page's first message
the customer's pending rows (one query for up to a page), the conversation, the stock counts
(skipped when nothing is counted), the message claim, the conversation write and one multi-row
outbox insert; they are prepared once in adapters.message_store, which says why they bypass
the ORM.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from adapters import inbox
from adapters.customer_lock import lock_customer
from adapters.db import ConversationRow, InboundMessage, OrderRow, utcnow
from adapters.inventory import Inventory
from adapters.message_store import (
    PENDING_PAGE,
    Conversation,
    OutboxValues,
    PendingMessage,
    Superseded,
    claim_message,
    insert_outbox,
    load_conversation,
    mark_failed,
    outbox_row,
    pending_messages,
    save_conversation,
)
from bot import texts, window
from bot.bot_turns import BotTurns, CustomerLocks, Released, schedule
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
    OtherMessage,
    TextParser,
    decide,
)
from bot.inventory import short_apology
from bot.logs import correlation, correlation_id_for
from bot.metrics import Metrics
from bot.privacy import mask
from bot.replies import (
    Reply,
    TextReply,
    fit_to_whatsapp,
    graph_payload,
    mark_read_payload,
    read_receipt_lane,
)
from bot.routing import Routing, split_ticket
from bot.shop_rules import when_text
from bot.tickets import build_ticket, display_number
from bot.timers import TimerSettings
from bot.whatsapp_payloads import location_pin, message_text, native_cart, reply_id
from catalog.catalog import Catalog

log = logging.getLogger(__name__)

ORDER_NUMBER_START = 1000
RETRY_SECONDS = 1.0  # after a database hiccup, how soon a customer's messages are tried again
# Transactions in flight at once (ORDERBOT_PROCESSING_CONCURRENCY): enough to overlap database
# round trips, few enough that a flood of messages never starves the webhook's acknowledgements.
DEFAULT_CONCURRENCY = 4
MAX_ROUNDS = 100  # pages (or restarts after losing a race) per customer before backing off

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
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self._sessions = sessions
        self._catalog = catalog
        self._parser = parser
        self._on_outbox = on_outbox
        self._routing = routing or Routing()  # the ticket adapters and their categories
        self._merge_window = merge_window
        self._clock = clock or Clock()
        self._timers = timers or TimerSettings()
        self.inventory = inventory or Inventory()
        self._locks = CustomerLocks()
        self._tasks: set[asyncio.Task[None]] = set()
        self._due: dict[str, float] = {}  # customer -> when their quiet window ends
        self._metrics = metrics or Metrics()
        self._slots = asyncio.Semaphore(max(1, concurrency))
        # Awaited before each message: the app lets waiting webhook acknowledgements go first
        # (bot.ingest.Ingest.acknowledgements_first); alone, a plain turn of the loop.
        self.before_message: Callable[[], Awaitable[None]] = _one_turn
        self.bot_turns = BotTurns(sessions, catalog, parser, on_outbox, locks=self._locks,
                                  clock=self._clock, timers=self._timers, template=template)

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
        async with self._locks.hold(customer):
            await self._process_pending(customer)

    async def _process_pending(self, customer: str) -> None:
        page, rounds = PENDING_PAGE, 0
        while page == PENDING_PAGE:  # a full page: there may be more behind it
            rounds += 1
            if rounds > MAX_ROUNDS:  # another process keeps winning: let it, look again later
                log.warning("customer %s keeps being handled elsewhere; retrying in %.0f s",
                            mask(customer), RETRY_SECONDS)
                asyncio.get_running_loop().call_later(RETRY_SECONDS, self.kick, customer)
                return
            page = await self._process_page(customer)
        # Messages stored from now on kick this customer again (webhook), so no query to
        # confirm that nothing is left.

    async def _process_page(self, customer: str) -> int:
        """A page of the customer's pending messages, each in its own transaction; the page is
        read in the first one's (most customers have one message pending: a transaction less
        per message). Returns the page's size, PENDING_PAGE to read again (another process got
        there first), 0 when a retry is scheduled."""
        page: list[PendingMessage] = []  # filled by the first transaction
        held = NOTHING_HELD  # a burst gets one answer: see bot.burst
        position = 0
        while True:
            row = page[position] if page else None
            try:
                held = await self._process(customer, row, page, held)
            except Superseded:
                return PENDING_PAGE
            except OperationalError:
                # The database is busy or away (SQLite "database is locked", a dropped
                # connection): nothing was committed, so try this customer again soon.
                log.warning("database unavailable while processing customer %s; retrying in "
                            "%.0f s", mask(customer), RETRY_SECONDS, exc_info=True)
                asyncio.get_running_loop().call_later(RETRY_SECONDS, self.kick, customer)
                return 0
            except Exception as error:
                failed = row or (page[0] if page else None)
                if failed is None:  # the page itself could not be read
                    raise
                # Left pending, this message would block every later one from this
                # customer: record it as failed and tell them.
                log.exception("processing message %s failed", failed.id)
                if not await self._give_up(failed.id, error):
                    asyncio.get_running_loop().call_later(RETRY_SECONDS, self.kick, customer)
                    return 0
            position += 1
            if position >= len(page):
                return len(page)

    async def _give_up(self, message_id: int | None, error: Exception) -> bool:
        try:
            async with self._sessions() as session, session.begin():
                row = await session.get(InboundMessage, message_id)
                if row is None or row.state != "pending":
                    return True
                row.state, row.processed_at = "failed", utcnow()
                row.error = f"{type(error).__name__}: {error}"[:500]
                reply_to = json.loads(row.payload).get("reply_to") or row.customer
                await insert_outbox(session, self._replies(
                    row.wamid, reply_to, [TextReply(texts.text("internal_error"))]),
                    correlation_id_for(row.wamid))
        except Exception:
            log.exception("could not record message %s as failed; it stays pending", message_id)
            return False
        self._on_outbox()
        return True

    async def _process(
        self, customer: str, row: PendingMessage | None, page: list[PendingMessage],
        held: HeldPrompts,
    ) -> HeldPrompts:
        """One message's transaction. Without `row`, the page's first: the customer's pending
        messages are read into `page` first, and page[0] is processed."""
        async with self._slots:
            # SQLite runs inline (adapters.sqlite_driver): without a turn for the webhooks a
            # long page would hold their acknowledgements until it was done. Inside the slot,
            # so the waits of a flood's many customers do not add up to no wait at all.
            await self.before_message()
            async with self._sessions() as session, session.begin():
                await lock_customer(session, customer)
                if row is None:
                    page[:] = await pending_messages(session, customer)
                    if not page:
                        return held
                    row = page[0]
                correlation_id = correlation_id_for(row.wamid)
                with correlation(correlation_id):
                    turn = await self._turn(session, row, correlation_id, held,
                                            more_coming=row is not page[-1])
            with correlation(correlation_id):
                self._committed(row, turn)
            return turn.held

    async def _turn(
        self, session: AsyncSession, row: PendingMessage, correlation_id: str,
        held: HeldPrompts, more_coming: bool,
    ) -> _Turn:
        """Decide on one message and write what follows from it, in the caller's transaction
        (under the customer's lock)."""
        stored = json.loads(row.payload)
        loaded = await load_conversation(session, row.customer)
        conversation = loaded or Conversation(customer=row.customer)
        read_version = conversation.version
        conversation.reply_to = stored.get("reply_to") or row.customer
        conversation.name = stored.get("name") or conversation.name
        conversation.last_inbound_at = max(conversation.last_inbound_at, row.sent_at)
        self._customer_wrote(conversation, row.sent_at)
        # Live counts, so the stock questions and the menu use what is left right now.
        stock = await self.inventory.counts(session, self._catalog())
        decision = self._decide(row, stored["message"], conversation, stock)
        # Writes from here on; the first one re-checks the message inside the lock.
        await claim_message(session, row.id)
        outbox: list[OutboxValues] = []
        if decision.place_order is not None:
            decision = await self._reserve(session, row, stored["message"], conversation,
                                           decision, outbox=outbox)
        replies, held = burst_replies(
            decision.replies, revision=decision.state.revision, stage=decision.state.stage,
            more_coming=more_coming, held=held)
        if decision.place_order is not None:
            replies.append(
                await self._place_order(session, row, conversation, decision.place_order,
                                        decision.details, outbox=outbox)
            )
        outbox += self._replies(row.wamid, conversation.reply_to, replies)
        outbox += self._alerts(f"alert:{row.wamid}", decision.alerts)
        self._schedule(conversation, decision.state)
        conversation.state = decision.state.to_json()
        await save_conversation(session, conversation, read_version, is_new=loaded is None)
        if row.error is not None:  # decided with an error: recorded on the message
            await mark_failed(session, row.id, row.error)
        await insert_outbox(session, outbox, correlation_id)
        return _Turn(held, decision, len(outbox), placed=decision.place_order is not None)

    def _committed(self, row: PendingMessage, turn: _Turn) -> None:
        log.debug("message %s (%s) processed: %d outbox row(s)%s", row.id, row.type,
                  turn.outbox_rows, ", order placed" if turn.placed else "")
        # Counted after the commit: a rolled-back transaction placed nothing.
        self._metrics.processed(row.received_at)
        self._metrics.count(turn.decision.outcomes)
        if turn.placed:
            self._metrics.orders_confirmed.inc()
        self._on_outbox()

    def _decide(
        self, row: PendingMessage, message: dict[str, Any], conversation: Conversation,
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
        self, session: AsyncSession, row: PendingMessage, message: dict[str, Any],
        conversation: Conversation, decision: Decision, *, outbox: list[OutboxValues],
    ) -> Decision:
        """Take the order's units in this transaction (adapters.inventory). When another
        customer was quicker, decide again on the live counts: the conversation then says what is
        left ("only 2 left — shall I make it 2?", "sold out") and nothing is placed."""
        assert decision.place_order is not None
        catalog = self._catalog()
        taken = await self.inventory.reserve(session, row.wamid, decision.place_order, catalog)
        if taken.ok:
            outbox += self._alerts(f"stock:{row.wamid}", taken.alerts)
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
        row: PendingMessage,
        conversation: Conversation,
        priced: PricedCart,
        details: OrderDetails,
        *,
        outbox: list[OutboxValues],
    ) -> Reply:
        catalog = self._catalog()
        latitude, longitude = details.location or (None, None)
        order = OrderRow(
            customer=row.customer,
            customer_name=conversation.name,
            source_wamid=row.wamid,
            lines=json.dumps([{**line.line.to_json(), "line_total": str(line.total)}
                              for line in priced.lines]),  # line_total: the owner report
            total=str(priced.total),
            currency=catalog.shop.currency,
            fulfillment=details.fulfilment,
            address=details.address,
            latitude=latitude,
            longitude=longitude,
            note=details.note,
            prepare_at=details.prepare_at.astimezone(UTC) if details.prepare_at else None,
            assisted=details.assisted,
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
            outbox.append(outbox_row(adapter, adapter, f"order-{order.number}:{adapter}", part))
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
    def _replies(wamid: str, reply_to: str, replies: list[Reply]) -> list[OutboxValues]:
        lane = f"wa:{reply_to}"
        return [outbox_row("whatsapp", read_receipt_lane(reply_to), f"read:{wamid}",
                            mark_read_payload(wamid)),
                *(outbox_row("whatsapp", lane, f"reply:{wamid}:{index}",
                              graph_payload(reply, reply_to))
                  for index, reply in enumerate(fit_to_whatsapp(replies)))]

    # --- turns the bot starts itself: bot.bot_turns (one customer lock for both) ---

    async def run_timers(self) -> int:
        """Fire every conversation timer due at the clock's now; returns how many fired."""
        return await self.bot_turns.run_timers()

    async def release_handoff(self, customer: str) -> Released | None:
        """Give a handed-off conversation back to the bot; None for an unknown customer."""
        return await self.bot_turns.release_handoff(customer)

    async def handed_off(self) -> list[ConversationRow]:
        """Conversations a person has taken over, oldest activity first."""
        return await self.bot_turns.handed_off()

    def _alerts(self, key: str, alerts: tuple[str, ...]) -> list[OutboxValues]:
        if not alerts:
            return []
        owner = (self._catalog().shop.owner_whatsapp or "").lstrip("+")
        if not owner:
            log.warning("no shop.owner_whatsapp in the catalog: %d alert(s) not sent: %s",
                        len(alerts), " | ".join(alerts))
            return []
        return [outbox_row("whatsapp", f"wa:{owner}", f"{key}:{index}",
                            graph_payload(TextReply(alert), owner))
                for index, alert in enumerate(alerts)]

    def _customer_wrote(self, conversation: Conversation, sent_at: int) -> None:
        now = self._clock.now()
        opened = window.opened_at(sent_at, now)
        known = conversation.customer_at
        conversation.customer_at = max(opened, known) if known else opened
        conversation.timer_from = now  # a customer writing resets the timers

    def _schedule(self, conversation: Conversation, state: ConversationState) -> None:
        schedule(conversation, state, self._timers)


@dataclass(frozen=True)
class _Turn:
    """What one message's transaction did, for what follows its commit."""

    held: HeldPrompts
    decision: Decision
    outbox_rows: int
    placed: bool


async def _one_turn() -> None:
    await asyncio.sleep(0)
