"""Removing a customer's personal data: `orderbot forget WA_ID` and payload retention.

Both work on the database only, so they run beside a live server. What `forget` keeps is what
the shop's books need: order numbers, lines, totals and currency, under an anonymous token.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, delete, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from adapters.db import (
    ConversationRow,
    DisplayTicket,
    InboundMessage,
    OrderRow,
    OutboxItem,
    RateBucket,
    StatusEvent,
    utcnow,
)
from adapters.inventory import Inventory
from bot.replies import read_receipt_lane

FORGOTTEN_REASON = "customer asked to be forgotten"
BLANK = "{}"  # what a removed JSON payload becomes (the columns are not nullable)


@dataclass
class Forgotten:
    """What `forget` removed, for the operator's summary."""

    token: str
    conversations: int = 0
    messages: int = 0
    status_events: int = 0
    orders: list[int] = field(default_factory=list)
    stopped: int = 0  # messages to the customer that were still waiting: now dead, never sent
    scrubbed: int = 0  # sent/dead messages and kitchen tickets whose personal data was removed

    def summary(self) -> str:
        orders = ", ".join(f"#{number}" for number in self.orders) or "none"
        return "\n".join([
            f"Forgot the customer; their orders now read {self.token}.",
            f"  conversation rows deleted:       {self.conversations}",
            f"  inbound messages blanked:        {self.messages}",
            f"  delivery statuses deleted:       {self.status_events}",
            f"  orders anonymised (totals kept): {orders}",
            f"  waiting messages stopped:        {self.stopped}",
            f"  messages and tickets scrubbed:   {self.scrubbed}",
        ])


def new_token() -> str:
    # Random, not a hash of the number: a hash of a phone number is easily reversed by trying
    # every number, which would make the "anonymous" token personal data again.
    return f"forgotten-{secrets.token_hex(5)}"


def scrub_ticket(ticket: dict[str, Any]) -> dict[str, Any]:
    """A kitchen ticket (orderbot.ticket.v1) without the customer's name, address and note."""
    clean = dict(ticket)
    if "customer" in clean:
        clean["customer"] = {"name": "", "first_name": ""}
    if isinstance(clean.get("delivery"), dict):
        clean["delivery"] = {"address": "", "latitude": None, "longitude": None,
                             "maps_url": None}
    if "note" in clean:
        clean["note"] = ""
    return clean


def _scrub_json(text: str) -> str:
    try:
        ticket = json.loads(text)
    except ValueError:
        return BLANK
    return json.dumps(scrub_ticket(ticket)) if isinstance(ticket, dict) else BLANK


async def forget(sessions: async_sessionmaker[AsyncSession], wa_id: str, *,
                 sheet: bool = False) -> Forgotten | None:
    """Remove everything personal about `wa_id` in one transaction; None if nothing is known.

    `wa_id` may be the conversation key or the number replies go to (they differ for a
    customer known by a BSUID), so both are followed.
    """
    async with sessions() as session, session.begin():
        ids = {wa_id}
        conversations = list(await session.exec(select(ConversationRow).where(or_(
            col(ConversationRow.customer) == wa_id, col(ConversationRow.reply_to) == wa_id))))
        for conversation in conversations:
            ids.update(v for v in (conversation.customer, conversation.reply_to) if v)
        messages = list(await session.exec(
            select(InboundMessage).where(col(InboundMessage.customer).in_(ids))))
        orders = list(await session.exec(
            select(OrderRow).where(col(OrderRow.customer).in_(ids)).order_by(col(OrderRow.id))))
        lanes = [lane for number in ids for lane in (f"wa:{number}", read_receipt_lane(number))]
        outbox = list(await session.exec(
            select(OutboxItem).where(col(OutboxItem.lane).in_(lanes))))
        statuses = list(await session.exec(
            select(StatusEvent).where(col(StatusEvent.recipient).in_(ids))))
        # The rate limit's bucket is keyed by their number; no bucket is the same as a full one.
        await session.exec(delete(RateBucket).where(col(RateBucket.customer).in_(ids)))
        if not (conversations or messages or orders or outbox or statuses):
            return None

        done = Forgotten(token=new_token())
        for conversation in conversations:
            await session.delete(conversation)
        done.conversations = len(conversations)
        for message in messages:
            # The row stays (with its wamid) so a late redelivery of the webhook is still
            # recognised as a duplicate; a message not yet processed never will be.
            message.payload, message.customer = BLANK, done.token
            if message.state == "pending":
                message.state, message.processed_at = "failed", utcnow()
                message.error = FORGOTTEN_REASON
            elif message.error:  # an exception's text may quote what they wrote
                message.error = FORGOTTEN_REASON
            session.add(message)
        done.messages = len(messages)
        if statuses:
            await session.exec(delete(StatusEvent).where(
                col(StatusEvent.id).in_([status.id for status in statuses])))
        done.status_events = len(statuses)

        for row in outbox:
            if row.state == "pending":
                row.state, row.last_error = "dead", FORGOTTEN_REASON
                row.claimed_by = row.claimed_until = None
                done.stopped += 1
            else:
                done.scrubbed += 1
            # No adapter has the kind "forgotten": a retried row is refused at once, never sent.
            row.kind, row.lane, row.payload = "forgotten", f"wa:{done.token}", BLANK
            session.add(row)

        for order in orders:
            order.customer, order.customer_name = done.token, ""
            order.address, order.latitude, order.longitude, order.note = "", None, None, ""
            # Free text like the note: staff write it to this customer and may name them or
            # their address ("can't reach 12 Harbour Road"). Who cancelled stays: it is a code.
            order.cancel_reason = ""
            session.add(order)
            assert order.number is not None
            done.orders.append(order.number)
        if done.orders:
            done.scrubbed += await _scrub_tickets(session, done.orders)
            if sheet:  # the spreadsheet's order log lists names and numbers: rewrite it
                Inventory(sheet=True).queue_sheet(session, "forget")
        return done


async def _scrub_tickets(session: AsyncSession, numbers: list[int]) -> int:
    """The kitchen tickets of these orders: the display's copy and queued/sent deliveries."""
    scrubbed = 0
    for ticket in await session.exec(
            select(DisplayTicket).where(col(DisplayTicket.number).in_(numbers))):
        ticket.ticket = _scrub_json(ticket.ticket)
        session.add(ticket)
        scrubbed += 1
    keys = [col(OutboxItem.key).startswith(prefix)
            for number in numbers for prefix in (f"order-{number}:", f"display:{number}:")]
    for row in await session.exec(select(OutboxItem).where(or_(*keys))):
        # Pending tickets still go out (the kitchen may be making the order), just nameless.
        row.payload = _scrub_json(row.payload)
        session.add(row)
        scrubbed += 1
    return scrubbed


# --- retention of raw webhook payloads ---

async def blank_old_payloads(sessions: async_sessionmaker[AsyncSession], days: float,
                             now: datetime | None = None) -> int:
    """Blank raw payloads of processed messages (and delivery statuses) older than `days`.

    Rows stay for deduplication (wamid); pending messages keep theirs until processed. 0 days
    keeps everything. Returns how many payloads were blanked.
    """
    if days <= 0:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=days)
    async with sessions() as session, session.begin():
        messages = await session.exec(update(InboundMessage).where(
            # "limited": over the rate limit, never processed (bot.ingest); ages out the same.
            col(InboundMessage.state).in_(("done", "failed", "limited")),
            col(InboundMessage.received_at) < cutoff,
            col(InboundMessage.payload) != BLANK,
        ).values(payload=BLANK))
        statuses = await session.exec(update(StatusEvent).where(
            col(StatusEvent.received_at) < cutoff,
            col(StatusEvent.payload) != BLANK,
        ).values(payload=BLANK))
        return int(messages.rowcount or 0) + int(statuses.rowcount or 0)
