"""Operator tools for the outbox: see what is waiting or dead, and send dead rows again.

Used by `orderbot outbox list|show|retry`. Works on the database directly, so it runs beside a
live server: a retried row is simply pending again and the server's dispatcher picks it up at
its next poll (about a second).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from adapters.db import OutboxItem, utcnow

STATES = ("pending", "dead", "sent")


async def list_rows(
    sessions: async_sessionmaker[AsyncSession], state: str | None, limit: int
) -> list[OutboxItem]:
    async with sessions() as session:
        query = select(OutboxItem).order_by(col(OutboxItem.id).desc()).limit(limit)
        if state is not None:
            query = query.where(col(OutboxItem.state) == state)
        return list(await session.exec(query))


async def get_row(sessions: async_sessionmaker[AsyncSession], row_id: int) -> OutboxItem | None:
    async with sessions() as session:
        return await session.get(OutboxItem, row_id)


async def retry(
    sessions: async_sessionmaker[AsyncSession], row_ids: Sequence[int] | None
) -> tuple[list[int], list[str]]:
    """Make dead rows pending again (all of them when row_ids is None): (retried, problems)."""
    retried: list[int] = []
    problems: list[str] = []
    async with sessions() as session, session.begin():
        if row_ids is None:
            rows = list(await session.exec(
                select(OutboxItem).where(col(OutboxItem.state) == "dead")
                .order_by(col(OutboxItem.id))))
        else:
            rows = []
            for row_id in row_ids:
                row = await session.get(OutboxItem, row_id)
                if row is None:
                    problems.append(f"outbox row {row_id} does not exist")
                elif row.state != "dead":
                    problems.append(f"outbox row {row_id} is {row.state}, not dead: "
                                    "only dead rows are retried")
                else:
                    rows.append(row)
        for row in rows:
            # A fresh set of attempts; the last error stays visible until a delivery succeeds.
            row.state, row.attempts, row.next_attempt_at = "pending", 0, utcnow()
            row.claimed_by = row.claimed_until = None
            session.add(row)
            assert row.id is not None
            retried.append(row.id)
    return retried, problems


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def describe(row: OutboxItem) -> str:
    """One line per row: what, where to, state, attempts, and why it failed."""
    error = f"  last error: {row.last_error}" if row.last_error else ""
    return (f"#{row.id:<6} {row.state:<8} {row.kind:<15} {row.lane:<28} "
            f"attempts {row.attempts:<2} created {_when(row.created_at)}{error}")


def details(row: OutboxItem) -> str:
    fields = [
        ("kind", row.kind), ("lane", row.lane), ("idempotency key", row.key),
        ("state", row.state), ("attempts", str(row.attempts)),
        ("created", _when(row.created_at)), ("next attempt", _when(row.next_attempt_at)),
        ("sent", _when(row.sent_at)), ("result", row.result or "-"),
        ("last error", row.last_error or "-"),
    ]
    lines = [f"outbox row #{row.id}", *(f"  {name + ':':<17}{value}" for name, value in fields),
             "  payload:"]
    try:
        payload = json.dumps(json.loads(row.payload), indent=2, ensure_ascii=False)
    except ValueError:
        payload = row.payload
    lines.extend("    " + line for line in payload.splitlines())
    return "\n".join(lines)
