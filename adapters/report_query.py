"""The rows behind the owner report (bot.report): one period's orders, inbox and outbox counts."""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import func
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from adapters.db import InboundMessage, OrderRow, OutboxItem
from bot.report import Activity, OrderFact, Period, SoldLine

LIMITED = "limited"  # inbound state of a message over the per-sender rate limit


async def read_period(sessions: async_sessionmaker[AsyncSession], period: Period
                      ) -> tuple[list[OrderFact], Activity]:
    """Orders placed and messages received between the period's UTC bounds (read-only)."""
    start, end = period.start, period.end
    async with sessions() as session:
        rows = await session.exec(
            select(OrderRow).where(col(OrderRow.created_at) >= start,
                                   col(OrderRow.created_at) < end)
            .order_by(col(OrderRow.id)))
        orders = [_fact(row) for row in rows]
        by_state = dict((await session.exec(
            select(InboundMessage.state, func.count())
            .where(col(InboundMessage.received_at) >= start,
                   col(InboundMessage.received_at) < end)
            .group_by(col(InboundMessage.state)))).all())
        dead_in_period = (await session.exec(
            select(func.count()).select_from(OutboxItem)
            .where(col(OutboxItem.state) == "dead", col(OutboxItem.created_at) >= start,
                   col(OutboxItem.created_at) < end))).one()
        dead_now = (await session.exec(
            select(func.count()).select_from(OutboxItem)
            .where(col(OutboxItem.state) == "dead"))).one()
    activity = Activity(messages=sum(by_state.values()), failed=by_state.get("failed", 0),
                        limited=by_state.get(LIMITED, 0), dead_letters=dead_in_period,
                        dead_now=dead_now)
    return orders, activity


def _fact(row: OrderRow) -> OrderFact:
    return OrderFact(
        number=row.number or 0, created_at=row.created_at, status=row.status,
        total=Decimal(row.total), currency=row.currency, fulfillment=row.fulfillment,
        lines=tuple(SoldLine.from_json(line) for line in json.loads(row.lines)),
        assisted=row.assisted, cancelled_by=row.cancelled_by, cancel_reason=row.cancel_reason)
