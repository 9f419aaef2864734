"""The per-sender rate limit's buckets (bot.rate_limit) in the database, so every server
process sharing it counts a sender's messages against one bucket.

bot.ingest calls these inside its batch transaction, after the batch's INSERT:
- SQLite: that INSERT took the database's write lock, which no other process can take until
  the commit, so reading and writing the buckets cannot race.
- PostgreSQL: `lock` takes a transaction-scoped advisory lock per sender (in one order, so
  two batches cannot deadlock), in a key space of its own (the two-number form; the customer
  lock of adapters.customer_lock uses the one-number form), so a batch never waits for a
  customer's message being processed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import bindparam, delete, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db import RateBucket
from bot.rate_limit import Bucket

_TABLE = RateBucket.__table__  # type: ignore[attr-defined]
# pg_advisory_xact_lock(int, int): the first number names what is locked ("rate" in ASCII).
_LOCK_SPACE = int.from_bytes(b"rate", "big")
_LOCK = text("SELECT count(pg_advisory_xact_lock(:space, key)) FROM unnest(:keys) AS key"
             ).bindparams(bindparam("keys", type_=postgresql.ARRAY(postgresql.INTEGER)))
_COLUMNS = (_TABLE.c.customer, _TABLE.c.tokens, _TABLE.c.refreshed_at, _TABLE.c.notified)
_READ_ONE = select(*_COLUMNS).where(_TABLE.c.customer == bindparam("customer"))
# An "expanding" IN is rendered anew for each call: only for batches with several senders.
_READ_MANY = select(*_COLUMNS).where(_TABLE.c.customer.in_(bindparam("customers",
                                                                    expanding=True)))


def lock_key(customer: str) -> int:
    """The same signed 32-bit number for a customer in every process."""
    digest = hashlib.blake2b(customer.encode("utf-8", "surrogatepass"), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


async def lock(connection: AsyncConnection, customers: Collection[str]) -> None:
    """Hold these senders' buckets until the transaction ends (PostgreSQL; see above)."""
    if customers and connection.dialect.name == "postgresql":
        keys = sorted({lock_key(customer) for customer in customers})
        await connection.execute(_LOCK, {"space": _LOCK_SPACE, "keys": keys})


async def read(connection: AsyncConnection, customers: Collection[str]) -> dict[str, Bucket]:
    """The stored buckets of these senders (a sender without one has a full bucket)."""
    if not customers:
        return {}
    if len(customers) == 1:
        [customer] = customers
        result = await connection.execute(_READ_ONE, {"customer": customer})
    else:
        result = await connection.execute(_READ_MANY, {"customers": list(customers)})
    return {customer: Bucket(tokens, at, notified)
            for customer, tokens, at, notified in result}


def _upsert(dialect: Any) -> Any:
    statement = dialect.insert(_TABLE)
    return statement.on_conflict_do_update(
        index_elements=[_TABLE.c.customer],
        set_={"tokens": statement.excluded.tokens,
              "refreshed_at": statement.excluded.refreshed_at,
              "notified": statement.excluded.notified})


# Built once: SQLAlchemy then reuses their cache key and compiled form (bot.ingest runs them
# for every batch).
_UPSERT = {"postgresql": _upsert(postgresql), "sqlite": _upsert(sqlite)}
_STALE = _TABLE.c.refreshed_at < bindparam("untouched_since")
# On PostgreSQL a bucket another batch has locked is left for the next prune: waiting for it
# while this batch holds its own senders' locks could deadlock two processes pruning at once.
_PRUNE = {"postgresql": delete(_TABLE).where(_TABLE.c.customer.in_(
              select(_TABLE.c.customer).where(_STALE).with_for_update(skip_locked=True)
              .scalar_subquery())),
          "sqlite": delete(_TABLE).where(_STALE)}


async def write(connection: AsyncConnection, buckets: Mapping[str, Bucket]) -> None:
    rows = [{"customer": customer, "tokens": bucket.tokens, "refreshed_at": bucket.at,
             "notified": bucket.notified} for customer, bucket in buckets.items()]
    if rows:
        await connection.execute(_UPSERT[connection.dialect.name],
                                 rows[0] if len(rows) == 1 else rows)


async def prune(connection: AsyncConnection, untouched_since: float) -> int:
    """Delete buckets untouched since then (refilled: the same as no bucket); returns how many."""
    result = await connection.execute(_PRUNE[connection.dialect.name],
                                      {"untouched_since": untouched_since})
    return result.rowcount
