"""Turns the bot starts itself: due conversation timers (reminder, cart expiry, handoff timeout)
and handoff releases (`orderbot handoff release`).

Each runs like a message (bot.processing): under the customer's lock, in one transaction with
the customer's database lock and conditional writes, so a timer swept by two processes fires
once. What the bot says then is a message nobody just asked for, so WhatsApp's 24-hour window
decides how it goes (bot.window).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from adapters.customer_lock import lock_customer
from adapters.db import ConversationRow
from adapters.message_store import (
    Conversation,
    OutboxValues,
    Superseded,
    insert_outbox,
    load_conversation,
    outbox_row,
    save_conversation,
)
from bot import window
from bot.clock import Clock
from bot.conversation import (
    Context,
    ConversationState,
    HandoffRelease,
    TextParser,
    TimerFired,
    decide,
)
from bot.replies import Reply
from bot.timers import TimerSettings, due_now, next_timer
from catalog.catalog import Catalog

log = logging.getLogger(__name__)


class CustomerLocks:
    """One asyncio lock per customer while anyone holds or waits for it: a customer's messages,
    timers and releases in this process take turns."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    @contextlib.asynccontextmanager
    async def hold(self, customer: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(customer, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked():
                self._locks.pop(customer, None)


def schedule(conversation: Conversation, state: ConversationState,
             timers: TimerSettings) -> None:
    """Store the conversation's next timer (due_at, due_kind), so that restarts keep it."""
    due = next_timer(state, conversation.timer_from, timers)
    conversation.due_at = None if due is None else due.at
    conversation.due_kind = None if due is None else due.kind


@dataclass(frozen=True)
class Released:
    """What a timer or a handoff release did (the CLI prints it)."""

    customer: str
    name: str
    was_paused: bool  # the conversation was handed off before this event
    delivery: window.Delivery  # how the customer was told


class BotTurns:
    """Timers and handoff releases, each one customer's turn (see the module docstring)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        catalog: Callable[[], Catalog],
        parser: Callable[[], TextParser],
        on_outbox: Callable[[], None],
        *,
        locks: CustomerLocks,
        clock: Clock,
        timers: TimerSettings,
        template: window.Template | None,
    ) -> None:
        self._sessions = sessions
        self._catalog = catalog
        self._parser = parser
        self._on_outbox = on_outbox
        self._locks = locks
        self._clock = clock
        self._timers = timers
        self._template = template  # sent instead of messages due after the 24-hour window

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
        async with self._locks.hold(customer):
            result = await self._run_bot_event(customer, release)
        if result is not None:
            self._on_outbox()
        return result

    async def _run_bot_event(self, customer: str, release: bool) -> Released | None:
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            await lock_customer(session, customer)
            conversation = await load_conversation(session, customer)
            if conversation is None:
                return None
            read_version = conversation.version
            state = ConversationState.from_json(conversation.state)
            event: TimerFired | HandoffRelease
            if release:
                event, label = HandoffRelease(), "release"
            else:
                # Recomputed from the state: a message in the meantime moved the deadline.
                kind = due_now(state, conversation.timer_from, self._timers, now)
                if kind is None:
                    schedule(conversation, state, self._timers)
                    with contextlib.suppress(Superseded):  # moved meanwhile: nothing to do
                        await save_conversation(session, conversation, read_version,
                                                 bump=False)
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
                with contextlib.suppress(Superseded):
                    await save_conversation(session, conversation, read_version, bump=False)
                return None
            outbox, delivery = self._bot_initiated(
                f"{label}:{customer}:{conversation.version}", conversation, decision.replies, now)
            if release:
                conversation.timer_from = now  # cart timers start again from here
            log.info("%s for %s: %d message(s), %s", label, customer, len(decision.replies),
                     delivery)
            schedule(conversation, decision.state, self._timers)
            conversation.state = decision.state.to_json()
            try:
                # Conditional: a second process sweeping the same timer finds it moved on.
                await save_conversation(session, conversation, read_version)
            except Superseded:
                return None
            await insert_outbox(session, outbox)
            return Released(customer, conversation.name, state.handoff, delivery)

    def _bot_initiated(
        self, key: str, conversation: Conversation, replies: tuple[Reply, ...],
        now: datetime,
    ) -> tuple[list[OutboxValues], window.Delivery]:
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
        return [outbox_row("whatsapp", f"wa:{to}", f"{key}:{index}", payload)
                for index, payload in enumerate(outgoing.payloads)], outgoing.delivery


class _LazyParser:
    """Builds the order parser only if the event needs it (a CLI release never does)."""

    def __init__(self, make: Callable[[], TextParser]) -> None:
        self._make = make

    def parse(self, text: str) -> Any:
        return self._make().parse(text)
