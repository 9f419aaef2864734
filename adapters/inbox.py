"""Durable inbox: stores inbound messages and statuses once each, keyed by Meta's ids.

Plain SQLAlchemy Core on one connection: a whole batch of webhooks (bot.ingest) is one INSERT
... ON CONFLICT DO NOTHING RETURNING wamid (SQLAlchemy sends it as multi-row statements), so
the database tells which messages were new; concurrent deliveries of one wamid store it once.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from adapters.db import InboundMessage, OutboxItem, StatusEvent, utcnow
from bot.whatsapp_payloads import Inbound, Status

PENDING = "pending"  # waiting for the processor
LIMITED = "limited"  # over the sender's rate limit: kept for the operator, never processed
# Outbox rows a status proving the send can record sent (confirm_sends).
_CONFIRMABLE = ("pending", "dead")

log = logging.getLogger(__name__)

_INBOUND = InboundMessage.__table__  # type: ignore[attr-defined]
_STATUS = StatusEvent.__table__  # type: ignore[attr-defined]
_OUTBOX = OutboxItem.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class OutboxRow:
    """A message to queue with the inbound rows (e.g. the rate limit's polite reply)."""

    kind: str
    lane: str
    key: str  # unique: queuing the same key again does nothing
    payload: str
    correlation_id: str | None = None


def _insert(connection: AsyncConnection, table: Any) -> Any:
    # An atomic "insert unless this key exists" on both databases.
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def _message_row(message: Inbound) -> dict[str, Any]:
    return {
        "wamid": message.wamid,
        "customer": message.customer,
        "phone_number_id": message.phone_number_id,
        "type": message.type,
        "sent_at": message.timestamp,
        "payload": json.dumps({"message": message.message, "name": message.name,
                               "reply_to": message.reply_to}),
        "state": PENDING,
        "received_at": utcnow(),
    }


async def insert_messages(connection: AsyncConnection, messages: Sequence[Inbound]) -> set[str]:
    """Insert the messages not stored yet; returns the wamids that were new."""
    if not messages:
        return set()
    rows = [_message_row(message) for message in messages]
    if connection.dialect.name == "sqlite" and sqlite3.sqlite_version_info >= (3, 38):
        return await _insert_sqlite(connection, rows)
    statement = _insert(connection, _INBOUND)
    if connection.dialect.insert_returning:
        # SQLAlchemy sends this executemany as multi-row INSERT ... RETURNING statements.
        result = await connection.execute(statement.returning(_INBOUND.c.wamid), rows)
        return {wamid for (wamid,) in result}
    # No RETURNING (SQLite before 3.35): one statement per row, new when it changed a row.
    fresh = set()
    for row in rows:
        if (await connection.execute(statement, row)).rowcount:
            fresh.add(row["wamid"])
    return fresh


# The rows travel as ONE JSON parameter and are inserted by one statement, i.e. one step of the
# driver. Why not RETURNING: each returned row is a step of its own; when the driver ran in a
# thread (aiosqlite, before adapters.sqlite_driver) a batch of 100 took 100+ ms that way instead
# of 2, and one statement is still the cheapest.
_SQLITE_INSERT = text(
    "INSERT INTO inbound_message (wamid, customer, phone_number_id, type, sent_at, payload,"
    " received_at, state) SELECT value ->> '$[0]', value ->> '$[1]', value ->> '$[2]',"
    " value ->> '$[3]', value ->> '$[4]', value ->> '$[5]', :received_at, :state"
    " FROM json_each(:rows) WHERE true ON CONFLICT DO NOTHING")  # WHERE: SQLite's parser needs it


async def _insert_sqlite(connection: AsyncConnection, rows: list[dict[str, Any]]) -> set[str]:
    # Written exactly as SQLAlchemy writes the column elsewhere (SQLite compares it as text).
    dialect = connection.dialect
    stamp = _INBOUND.c.received_at.type.dialect_impl(dialect).bind_processor(dialect)(utcnow())
    packed = json.dumps([[row["wamid"], row["customer"], row["phone_number_id"], row["type"],
                          row["sent_at"], row["payload"]] for row in rows])
    result = await connection.execute(_SQLITE_INSERT, {"rows": packed, "received_at": stamp,
                                                       "state": PENDING})
    wamids = [row["wamid"] for row in rows]
    inserted = result.rowcount
    if inserted == len(set(wamids)):
        return set(wamids)
    if not inserted:
        return set()
    # Some were stored before. The rows this statement added hold the last `inserted` rowids
    # (SQLite numbers them in order, and this transaction holds the write lock), so a row
    # with one of these wamids and a smaller id is a duplicate.
    older = await connection.execute(select(_INBOUND.c.wamid).where(
        _INBOUND.c.wamid.in_(wamids), _INBOUND.c.id <= result.lastrowid - inserted))
    return set(wamids).difference(wamid for (wamid,) in older)


async def insert_statuses(connection: AsyncConnection, statuses: Sequence[Status]) -> None:
    if statuses:
        await connection.execute(_insert(connection, _STATUS), [{
            "wamid": status.wamid,
            "status": status.status,
            "recipient": status.recipient,
            "sent_at": status.timestamp,
            "error_code": status.error_code,
            "payload": json.dumps(status.raw),
            "received_at": utcnow(),
            "biz_opaque_callback_data": status.opaque,
        } for status in statuses])


async def confirm_sends(connection: AsyncConnection, statuses: Sequence[Status]) -> int:
    """Record as sent the pending outbox rows these statuses prove Meta accepted; returns how
    many. A status names its row by the biz_opaque_callback_data we sent (the row's key): a
    send whose answer never came (client timeout) then counts as sent instead of being sent
    again, and the rows queued behind it in its lane may go. A dead letter (its answers lost
    until it was given up) that a late status proves delivered leaves the dead-letter list:
    nobody should resend what the customer has. Unknown keys change nothing."""
    proof: dict[str, str] = {}
    for status in statuses:
        if status.opaque is not None and status.accepted:
            proof.setdefault(status.opaque, status.wamid)
    if not proof:
        return 0
    # One look first: most statuses are for rows already recorded sent.
    found = await connection.execute(
        select(_OUTBOX.c.id, _OUTBOX.c.key, _OUTBOX.c.state)
        .where(_OUTBOX.c.key.in_(sorted(proof)), _OUTBOX.c.state.in_(_CONFIRMABLE),
               _OUTBOX.c.kind == "whatsapp")
        .order_by(_OUTBOX.c.id))  # rows locked in id order, as the dispatcher records them
    confirmed = 0
    now = utcnow()
    for row_id, key, state in found:
        # The claim is left alone: a worker still waiting on this send records the same wamid.
        result = await connection.execute(
            update(_OUTBOX).where(_OUTBOX.c.id == row_id, _OUTBOX.c.state == state)
            .values(state="sent", result=proof[key], sent_at=now))
        confirmed += result.rowcount
        if state == "dead" and result.rowcount:
            log.info("outbox row %s was delivered after all (status for %s): no longer a "
                     "dead letter", row_id, proof[key])
    return confirmed


async def mark_limited(connection: AsyncConnection, wamids: Sequence[str]) -> None:
    if wamids:
        await connection.execute(update(_INBOUND).where(_INBOUND.c.wamid.in_(wamids))
                                 .values(state=LIMITED))


async def queue(connection: AsyncConnection, rows: Sequence[OutboxRow]) -> None:
    if rows:
        now = utcnow()
        await connection.execute(_insert(connection, _OUTBOX), [{
            "kind": row.kind, "lane": row.lane, "key": row.key, "payload": row.payload,
            "correlation_id": row.correlation_id, "state": "pending", "attempts": 0,
            "next_attempt_at": now, "created_at": now,
        } for row in rows])


async def store(
    sessions: async_sessionmaker[AsyncSession], messages: list[Inbound], statuses: list[Status]
) -> list[Inbound]:
    """Store one delivery in its own transaction; return the messages that were new. (The
    webhook goes through bot.ingest, which batches; this is for tools and tests.)"""
    if not messages and not statuses:
        return []
    async with sessions() as session, session.begin():
        connection = await session.connection()
        fresh = await insert_messages(connection, first_of_each(messages))
        await insert_statuses(connection, statuses)
        await confirm_sends(connection, statuses)
    return [message for message in first_of_each(messages) if message.wamid in fresh]


def first_of_each(messages: Sequence[Inbound]) -> list[Inbound]:
    """One message per wamid (the first), as the database will keep it."""
    seen: dict[str, Inbound] = {}
    for message in messages:
        seen.setdefault(message.wamid, message)
    return list(seen.values())


async def customers_with_pending(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    """Customers whose messages were acknowledged but not yet processed (e.g. after a crash)."""
    async with sessions() as session:
        rows = await session.exec(
            select(InboundMessage.customer).where(col(InboundMessage.state) == PENDING).distinct()
        )
        return list(rows)
