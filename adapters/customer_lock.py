"""One customer at a time across processes: a lock taken first in each of their transactions.

Several `orderbot serve` processes may share one database; the in-process asyncio lock in
bot.processing only serialises one process. Each message, timer and handoff-release transaction
therefore starts with `lock_customer`:

- PostgreSQL: `pg_advisory_xact_lock` on a stable 64-bit hash of the customer. A second process
  waits for the first one's commit, and then reads the state that commit left.
- SQLite: no extra statement. SQLite has one writer at a time, and the transaction's first
  write (bot.processing claims the message, or moves the conversation from the version it read)
  is conditional: when another process got there first it matches no row and the transaction
  is rolled back and redone on fresh state. Taking the write lock up front (BEGIN IMMEDIATE)
  instead would hold it while the message is parsed and decided, stalling the webhook's inserts.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession


def lock_key(customer: str) -> int:
    """The same signed 64-bit number for a customer in every process (unlike hash())."""
    digest = hashlib.blake2b(customer.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def lock_customer(session: AsyncSession, customer: str) -> None:
    """Hold the customer's lock until the session's transaction ends (PostgreSQL; see above)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.exec(select(func.pg_advisory_xact_lock(lock_key(customer))))
