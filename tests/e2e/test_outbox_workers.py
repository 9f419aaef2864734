"""Two dispatchers on one database (two server processes): every row once, each lane in order.

Each dispatcher has its own engine, as a separate process would. On PostgreSQL rows are claimed
with SELECT … FOR UPDATE SKIP LOCKED, on SQLite with a conditional UPDATE; both are run.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from adapters.db import OutboxItem, create_tables, make_engine, session_factory
from adapters.delivery import DeliveryError, RetryPolicy
from bot.dispatcher import OutboxDispatcher, Sender
from tests.postgres import fresh_database, psycopg

LANES = 20
ROWS = 200
FAST = RetryPolicy(base_seconds=0.01, max_seconds=0.05)


@dataclass(frozen=True)
class Delivery:
    worker: str
    lane: str
    seq: int


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'workers.db'}"
        return
    with fresh_database("orderbot_workers") as url:
        yield url


def flaky_sender(worker: str, delivered: list[Delivery], rng: random.Random) -> Sender:
    """Takes a few ms per row and refuses about one attempt in six (a busy receiver)."""

    async def send(payload: dict[str, Any], _key: str) -> str:
        await asyncio.sleep(rng.uniform(0.0, 0.004))
        if rng.random() < 0.15:
            raise DeliveryError("receiver busy", retryable=True)
        delivered.append(Delivery(worker, payload["lane"], payload["seq"]))
        return "ok"

    return send


async def test_two_dispatchers_deliver_every_row_once_and_each_lane_in_order(
    database_url: str,
) -> None:
    engines = [make_engine(database_url), make_engine(database_url)]
    await create_tables(engines[0])
    sessions = session_factory(engines[0])
    async with sessions() as session, session.begin():
        for index in range(ROWS):  # lanes interleaved, as orders from many chats arrive
            lane, seq = f"lane-{index % LANES}", index // LANES
            session.add(OutboxItem(kind="test", lane=lane, key=f"{lane}:{seq}",
                                   payload=json.dumps({"lane": lane, "seq": seq})))

    delivered: list[Delivery] = []
    rng = random.Random(5)
    workers = [
        OutboxDispatcher(session_factory(engine), {"test": flaky_sender(name, delivered, rng)},
                         policy=FAST, poll_interval=0.01)
        for name, engine in zip(("a", "b"), engines, strict=True)
    ]
    try:
        for worker in workers:
            worker.start()
        deadline = asyncio.get_running_loop().time() + 60
        while len(delivered) < ROWS and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # a second delivery of any row would show up now
    finally:
        for worker in workers:
            await worker.stop()

    try:
        assert len(delivered) == ROWS
        assert Counter((d.lane, d.seq) for d in delivered).most_common(1)[0][1] == 1
        for number in range(LANES):
            assert [d.seq for d in delivered if d.lane == f"lane-{number}"] == list(range(10))
        by_worker = Counter(d.worker for d in delivered)
        assert by_worker["a"] > 0 and by_worker["b"] > 0, by_worker  # both did share the work
        async with sessions() as session:
            states = Counter((await session.exec(select(OutboxItem.state))).all())
            retried = (await session.exec(
                select(OutboxItem).where(col(OutboxItem.attempts) > 1))).all()
        assert states == {"sent": ROWS}
        assert retried  # the busy receiver did make rows wait, yet the order held
    finally:
        for engine in engines:
            await engine.dispose()


@pytest.mark.postgres
async def test_on_postgres_a_row_another_worker_holds_is_skipped_not_waited_for() -> None:
    with fresh_database("orderbot_workers") as url:
        engine = make_engine(url)
        try:
            await create_tables(engine)
            sessions = session_factory(engine)
            async with sessions() as session, session.begin():
                for lane in ("kitchen", "wa:1", "wa:2"):
                    session.add(OutboxItem(kind="test", lane=lane, key=lane,
                                           payload=json.dumps({"lane": lane, "seq": 0})))
            delivered: list[Delivery] = []

            async def send(payload: dict[str, Any], _key: str) -> str:
                delivered.append(Delivery("a", payload["lane"], payload["seq"]))
                return "ok"

            dispatcher = OutboxDispatcher(sessions, {"test": send}, policy=FAST)
            # Another worker is in the middle of claiming the kitchen row.
            with psycopg.connect(url) as other:
                other.execute("SELECT id FROM outbox WHERE lane = 'kitchen' FOR UPDATE")
                assert await asyncio.wait_for(dispatcher.drain(), timeout=5) == 2
                assert sorted(d.lane for d in delivered) == ["wa:1", "wa:2"]
            assert await asyncio.wait_for(dispatcher.drain(), timeout=5) == 1
            assert delivered[-1].lane == "kitchen"
        finally:
            await engine.dispose()


async def test_stop_finishes_the_delivery_in_hand_and_claims_nothing_more(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    try:
        await create_tables(engine)
        sessions = session_factory(engine)
        async with sessions() as session, session.begin():
            for seq in range(2):
                session.add(OutboxItem(kind="test", lane="kitchen", key=f"k{seq}",
                                       payload=json.dumps({"lane": "kitchen", "seq": seq})))
        entered, release = asyncio.Event(), asyncio.Event()
        delivered: list[int] = []

        async def slow(payload: dict[str, Any], _key: str) -> str:
            entered.set()
            await release.wait()  # the printer is still printing when shutdown begins
            delivered.append(payload["seq"])
            return "printed"

        dispatcher = OutboxDispatcher(sessions, {"test": slow}, policy=FAST)
        dispatcher.start()
        await asyncio.wait_for(entered.wait(), timeout=5)
        stopping = asyncio.create_task(dispatcher.stop(grace=5))
        await asyncio.sleep(0.05)
        assert not stopping.done()  # waits for the row in hand rather than cancelling it
        release.set()
        await asyncio.wait_for(stopping, timeout=5)
        dispatcher.kick()  # too late: nothing starts after a stop
        await asyncio.sleep(0.1)
        async with sessions() as session:
            states = [(row.state, row.claimed_by) for row in
                      await session.exec(select(OutboxItem).order_by(col(OutboxItem.id)))]
        assert delivered == [0]
        assert states == [("sent", None), ("pending", None)]  # recorded; the next one waits
    finally:
        await engine.dispose()
