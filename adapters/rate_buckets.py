"""The per-sender rate limit's buckets (bot.rate_limit) in the database, so every server
process sharing it counts a sender's messages against one bucket.

bot.ingest calls `hold` then `write` inside its batch transaction, after the batch's INSERT:
- SQLite: that INSERT took the database's write lock, which no other process can take until
  the commit, so reading and writing the buckets cannot race.
- PostgreSQL: `hold` upserts a placeholder row per sender (in one order, so two batches cannot
  deadlock) with a no-op update: that locks each sender's row until the commit, waiting for a
  batch of another process that holds it, and returns its latest committed values in the same
  round trip. A row the upsert inserted is a new sender (a full bucket); `write` overwrites it.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import bindparam, delete, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db import RateBucket
from bot.rate_limit import Bucket

_TABLE = RateBucket.__table__  # type: ignore[attr-defined]
_COLUMNS = (_TABLE.c.customer, _TABLE.c.tokens, _TABLE.c.refreshed_at, _TABLE.c.notified)
_READ_ONE = select(*_COLUMNS).where(_TABLE.c.customer == bindparam("customer"))
# An "expanding" IN is rendered anew for each call: only for batches with several senders.
_READ_MANY = select(*_COLUMNS).where(_TABLE.c.customer.in_(bindparam("customers",
                                                                    expanding=True)))
# xmax = 0: the row was inserted by this statement (no earlier version), i.e. a new sender.
_HOLD = text(
    "INSERT INTO rate_bucket (customer, tokens, refreshed_at, notified)"
    " SELECT customer, 0, 0, false FROM unnest(:customers) AS customer ORDER BY customer"
    " ON CONFLICT (customer) DO UPDATE SET customer = excluded.customer"
    " RETURNING customer, tokens, refreshed_at, notified, xmax = 0 AS inserted"
).bindparams(bindparam("customers", type_=postgresql.ARRAY(postgresql.VARCHAR)))


async def hold(connection: AsyncConnection, customers: Collection[str]) -> dict[str, Bucket]:
    """The stored buckets of these senders (a sender without one has a full bucket), held
    until the transaction ends (see above)."""
    if not customers:
        return {}
    if connection.dialect.name == "postgresql":
        result = await connection.execute(_HOLD, {"customers": sorted(customers)})
        return {customer: Bucket(tokens, at, notified)
                for customer, tokens, at, notified, inserted in result if not inserted}
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
