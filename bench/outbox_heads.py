"""How long the dispatcher takes to find lane heads (the claim's first query) with a big outbox.

Fills a fresh outbox with pending rows in a few shapes and times the claim query (the due
heads of at most BATCH lanes), walking the (state, lane, id) index as bot.dispatcher does, against
the GROUP BY over every pending row it replaced. Prints the median of several runs per shape.

    .venv/bin/python bench/outbox_heads.py              # SQLite file
    .venv/bin/python bench/outbox_heads.py --postgres   # fresh database on 127.0.0.1:5432
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, or_, update
from sqlmodel import col, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.db import OutboxItem, create_tables, make_engine, session_factory, utcnow
from adapters.outbox_store import BATCH, lane_heads

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
SHAPES = {  # name -> (lanes, rows per lane, sent rows before them)
    "100k pending: 10,000 chats x 10": (10_000, 10, 0),
    "100k pending: one lane backed up + 50 chats": (1, 100_000, 0),
    "100 pending after 100k sent": (50, 2, 100_000),
}


def group_by_heads() -> Any:
    """The query before: the oldest pending row per lane, by aggregating every pending row."""
    return (select(func.min(OutboxItem.id))
            .where(col(OutboxItem.state) == "pending")
            .group_by(col(OutboxItem.lane)))


def claim_query(heads: Any) -> Any:
    now = utcnow()
    return (select(OutboxItem.lane)
            .where(col(OutboxItem.id).in_(heads), col(OutboxItem.next_attempt_at) <= now,
                   or_(col(OutboxItem.claimed_until).is_(None),
                       col(OutboxItem.claimed_until) < now))
            .order_by(col(OutboxItem.id)).limit(BATCH))


async def fill(url: str, lanes: int, per_lane: int, sent: int) -> Any:
    engine = make_engine(url)
    await create_tables(engine)
    sessions = session_factory(engine)
    table = OutboxItem.__table__  # type: ignore[attr-defined]
    now = utcnow()

    def row(lane: str, state: str) -> dict[str, Any]:
        return {"kind": "whatsapp", "lane": lane, "key": uuid.uuid4().hex, "payload": "{}",
                "state": state, "attempts": 0, "next_attempt_at": now, "created_at": now}

    async with sessions() as session, session.begin():
        batch: list[dict[str, Any]] = [row(f"wa:old{n % 5000}", "sent") for n in range(sent)]
        for _ in range(per_lane):
            batch += [row("kitchen" if lanes == 1 else f"wa:{lane}", "pending")
                      for lane in range(lanes)]
        if lanes == 1:  # the backed-up kitchen plus ordinary chats, one row each
            batch += [row(f"wa:{lane}", "pending") for lane in range(50)]
        for start in range(0, len(batch), 5000):
            await session.exec(insert(table), params=batch[start:start + 5000])
        if lanes == 1:  # its head is backing off: everything behind it waits
            await session.exec(update(OutboxItem)
                               .where(col(OutboxItem.id) == select(func.min(OutboxItem.id))
                                      .where(col(OutboxItem.lane) == "kitchen")
                                      .scalar_subquery())
                               .values(next_attempt_at=now + timedelta(hours=1)))
    return engine, sessions


async def timed(sessions: Any, query: Any, runs: int) -> tuple[float, int]:
    times, found = [], 0
    for _ in range(runs):
        async with sessions() as session:
            started = time.perf_counter()
            found = len(list(await session.exec(query)))
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), found


async def main(postgres: str | None, runs: int) -> None:
    print(f"{'shape':<46} {'index walk':>11} {'GROUP BY':>10} {'lanes found':>12}")
    for name, (lanes, per_lane, sent) in SHAPES.items():
        if postgres:
            import psycopg  # noqa: PLC0415

            db = f"orderbot_heads_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(postgres, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{db}"')
            url = f"{postgres.rsplit('/', 1)[0]}/{db}"
        else:
            url = f"sqlite:///{tempfile.mkdtemp(prefix='orderbot-heads-')}/outbox.db"
        engine, sessions = await fill(url, lanes, per_lane, sent)
        try:
            if postgres:
                async with engine.begin() as connection:
                    await connection.exec_driver_sql("ANALYZE outbox")
            new, found_new = await timed(sessions, claim_query(lane_heads()), runs)
            old, found_old = await timed(sessions, claim_query(group_by_heads()), runs)
            assert found_new == found_old, (found_new, found_old)
            print(f"{name:<46} {new:>9.1f}ms {old:>8.1f}ms {found_new:>12}", flush=True)
        finally:
            await engine.dispose()
            if postgres:
                with psycopg.connect(postgres, autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--postgres", nargs="?", const=PG_ADMIN_URL, default=None,
                        metavar="ADMIN_URL")
    parser.add_argument("--runs", type=int, default=7)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.postgres, arguments.runs))
