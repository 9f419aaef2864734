"""Durable inbox: stores inbound messages and statuses once each, keyed by Meta's ids."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from adapters.db import InboundMessage, StatusEvent
from bot.whatsapp_payloads import Inbound, Status


def _insert_ignoring_duplicates(dialect: str, table: Any) -> Any:
    # One statement per row: an atomic "insert unless this id exists" on both databases, so
    # concurrent deliveries of the same wamid store it exactly once.
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


async def store(
    sessions: async_sessionmaker[AsyncSession], messages: list[Inbound], statuses: list[Status]
) -> list[Inbound]:
    """Store everything in one transaction; return the messages that were new (not duplicates)."""
    if not messages and not statuses:
        return []
    fresh: list[Inbound] = []
    async with sessions() as session, session.begin():
        dialect = session.get_bind().dialect.name
        for message in messages:
            statement = _insert_ignoring_duplicates(dialect, InboundMessage).values(
                wamid=message.wamid,
                customer=message.customer,
                phone_number_id=message.phone_number_id,
                type=message.type,
                sent_at=message.timestamp,
                payload=json.dumps({"message": message.message, "name": message.name,
                                    "reply_to": message.reply_to}),
                state="pending",
            )
            result = await session.exec(statement)
            if result.rowcount:
                fresh.append(message)
        for status in statuses:
            await session.exec(
                _insert_ignoring_duplicates(dialect, StatusEvent).values(
                    wamid=status.wamid,
                    status=status.status,
                    recipient=status.recipient,
                    sent_at=status.timestamp,
                    error_code=status.error_code,
                    payload=json.dumps(status.raw),
                )
            )
    return fresh


async def customers_with_pending(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    """Customers whose messages were acknowledged but not yet processed (e.g. after a crash)."""
    async with sessions() as session:
        rows = await session.exec(
            select(InboundMessage.customer).where(col(InboundMessage.state) == "pending").distinct()
        )
        return list(rows)
