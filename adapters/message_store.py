"""The statements a message's transaction runs (bot.processing), prepared once.

Why not the ORM here: these run for every message, and SQLAlchemy's ORM layer costs several
times the query itself (measured on SQLite: a conditional UPDATE through `session.exec(update(
Model)...)` 860 µs of CPU, the same statement built once against the table and executed on the
session's connection 120 µs; a primary-key read 436 µs through `session.get`, 172 µs as Core).
Statements built once also keep their cache key, so SQLAlchemy does not rebuild it per call.

Each function runs on the caller's session, so inside its transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert
from sqlmodel.ext.asyncio.session import AsyncSession

from adapters.db import ConversationRow, InboundMessage, OutboxItem, utcnow

OutboxValues = dict[str, Any]  # one outbox row: kind, lane, key, payload (JSON text)


class Superseded(Exception):
    """Another process handled this message, or changed the conversation, since it was read."""


@dataclass(slots=True)
class PendingMessage:
    """A pending inbound message as processing reads it: a plain copy, because building an ORM
    object per row cost about 90 µs of CPU (sqlmodel's constructor), more than the query."""

    id: int
    wamid: str
    customer: str
    type: str
    sent_at: int
    payload: str
    received_at: datetime
    error: str | None = None  # set when deciding failed: recorded with mark_failed


@dataclass(slots=True)
class Conversation:
    """A conversation row as processing reads and writes it: the same columns as
    adapters.db.ConversationRow (a test keeps them equal), without the ORM's per-object cost
    (about 60 µs to build a ConversationRow)."""

    customer: str
    reply_to: str = ""
    name: str = ""
    state: str = "{}"
    version: int = 0
    last_inbound_at: int = 0
    updated_at: datetime = field(default_factory=utcnow)
    customer_at: datetime | None = None
    timer_from: datetime | None = None
    due_at: datetime | None = None
    due_kind: str | None = None


_messages: Table = InboundMessage.__table__  # type: ignore[attr-defined]
_conversations: Table = ConversationRow.__table__  # type: ignore[attr-defined]
_outbox: Table = OutboxItem.__table__  # type: ignore[attr-defined]

PENDING_PAGE = 50  # a customer's pending messages read per query
_PENDING = (
    select(*(_messages.c[name] for name in ("id", "wamid", "customer", "type", "sent_at",
                                             "payload", "received_at")))
    .where(_messages.c.customer == bindparam("customer"), _messages.c.state == "pending")
    .order_by(_messages.c.sent_at, _messages.c.id)  # the customer's own order
    .limit(PENDING_PAGE)
)
_CLAIM = (
    update(_messages)
    .where(_messages.c.id == bindparam("message_id"), _messages.c.state == "pending")
    .values(state="done", processed_at=bindparam("at"))
)
_MARK_FAILED = (
    update(_messages)
    .where(_messages.c.id == bindparam("message_id"))
    .values(state="failed", error=bindparam("failure"))
)
_CONVERSATION = select(_conversations).where(_conversations.c.customer == bindparam("customer"))
_CONVERSATION_FIELDS = ("reply_to", "name", "state", "last_inbound_at", "customer_at",
                        "timer_from", "due_at", "due_kind", "version", "updated_at")
_UPDATE_CONVERSATION = (
    update(_conversations)
    .where(_conversations.c.customer == bindparam("key_customer"),
           _conversations.c.version == bindparam("read_version"))
    # Bind names apart from the column names: SQLAlchemy keeps those for its own SET clause.
    .values({name: bindparam(f"new_{name}") for name in _CONVERSATION_FIELDS})
)
_INSERT_CONVERSATION: dict[str, Insert] = {  # executed with the column values as parameters
    "postgresql": postgresql.insert(_conversations).on_conflict_do_nothing(),
    "sqlite": sqlite.insert(_conversations).on_conflict_do_nothing(),
}
_INSERT_OUTBOX = insert(_outbox)


def outbox_row(kind: str, lane: str, key: str, payload: Any) -> OutboxValues:
    """One outbox row's values, its payload as JSON text (insert_outbox adds the rest)."""
    return {"kind": kind, "lane": lane, "key": key, "payload": json.dumps(payload)}


async def pending_messages(session: AsyncSession, customer: str) -> list[PendingMessage]:
    """Up to PENDING_PAGE of the customer's pending messages in the order they sent them,
    whole: the message's transaction then needs no read of its own (its claim re-checks)."""
    connection = await session.connection()
    rows = await connection.execute(_PENDING, {"customer": customer})
    return [PendingMessage(*row) for row in rows]


async def claim_message(session: AsyncSession, message_id: int | None) -> None:
    """Mark the message done if it is still pending; else another process handled it."""
    connection = await session.connection()
    claimed = await connection.execute(_CLAIM, {"message_id": message_id, "at": utcnow()})
    if claimed.rowcount != 1:
        raise Superseded


async def mark_failed(session: AsyncSession, message_id: int | None, failure: str) -> None:
    connection = await session.connection()
    await connection.execute(_MARK_FAILED, {"message_id": message_id, "failure": failure})


async def load_conversation(session: AsyncSession, customer: str) -> Conversation | None:
    """The conversation as a copy: it is written back only by save_conversation."""
    connection = await session.connection()
    row = (await connection.execute(_CONVERSATION, {"customer": customer})).first()
    return None if row is None else Conversation(**row._mapping)


async def save_conversation(session: AsyncSession, conversation: Conversation,
                            read_version: int, *, is_new: bool = False, bump: bool = True
                            ) -> None:
    """Write the conversation if nobody moved it since it was read (raises Superseded)."""
    if bump:
        conversation.version = read_version + 1
    conversation.updated_at = utcnow()
    values: dict[str, Any] = {name: getattr(conversation, name) for name in _CONVERSATION_FIELDS}
    connection = await session.connection()
    if is_new:
        # preserve_rowcount: SQLAlchemy reports an INSERT's row count only when asked.
        written = await connection.execute(
            _INSERT_CONVERSATION[connection.dialect.name],
            {"customer": conversation.customer, **values},
            execution_options={"preserve_rowcount": True})
    else:
        written = await connection.execute(
            _UPDATE_CONVERSATION,
            {"key_customer": conversation.customer, "read_version": read_version,
             **{f"new_{name}": value for name, value in values.items()}})
    if written.rowcount != 1:
        raise Superseded


async def insert_outbox(session: AsyncSession, rows: list[OutboxValues],
                        correlation_id: str | None = None, *, now: datetime | None = None
                        ) -> None:
    """All of a transaction's outbox rows in one multi-row insert, in list order (= lane order)."""
    if not rows:
        return
    now = now or utcnow()
    connection = await session.connection()
    await connection.execute(_INSERT_OUTBOX, [
        {**row, "state": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now,
         "correlation_id": correlation_id} for row in rows])
