"""A dispatcher pass: each lane's due rows in one go, in order, up to the lane's first failure."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from adapters.db import OutboxItem, create_tables, make_engine, session_factory, utcnow
from adapters.delivery import DeliveryError, RetryPolicy
from bot import dispatcher as dispatcher_module
from bot.dispatcher import OutboxDispatcher
from bot.logs import current_correlation_id
from tests.conftest import BOTH_DATABASES

FAST = RetryPolicy(base_seconds=0.01, max_seconds=0.02)


@pytest.fixture
async def sessions(database_url: str, tmp_path: Path
                   ) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(database_url)
    await create_tables(engine)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


async def add_rows(sessions: async_sessionmaker[AsyncSession], lanes: dict[str, int],
                   correlation_id: str | None = None) -> None:
    async with sessions() as session, session.begin():
        for seq in range(max(lanes.values())):
            for lane, count in lanes.items():
                if seq < count:
                    session.add(OutboxItem(kind="test", lane=lane, key=f"{lane}:{seq}",
                                           payload=json.dumps({"lane": lane, "seq": seq}),
                                           correlation_id=correlation_id))


class Receiver:
    """Records (lane, seq) and the log correlation id; refuses the rows it is told to, once."""

    def __init__(self, refuse: set[tuple[str, int]] | None = None) -> None:
        self.got: list[tuple[str, int]] = []
        self.correlation_ids: list[str | None] = []
        self.refuse = refuse or set()

    async def send(self, payload: dict[str, Any], _key: str) -> str:
        item = (payload["lane"], payload["seq"])
        if item in self.refuse:
            self.refuse.discard(item)
            raise DeliveryError("receiver busy", retryable=True)
        self.got.append(item)
        self.correlation_ids.append(current_correlation_id())
        return "ok"


def claims_counted(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    claims: list[str] = []
    bind = sessions.kw["bind"]
    event.listen(bind.sync_engine, "before_cursor_execute",
                 lambda _c, _cur, sql, *_rest: claims.append(sql)
                 if sql.startswith("UPDATE outbox SET claimed_by") else None)
    return claims


@BOTH_DATABASES
async def test_each_lanes_rows_go_out_in_one_pass_in_order(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add_rows(sessions, {"wa:1": 3, "wa:2": 2, "kitchen": 1})
    receiver = Receiver()
    claims = claims_counted(sessions)
    dispatcher = OutboxDispatcher(sessions, {"test": receiver.send}, policy=FAST)

    assert await dispatcher.drain() == 6
    # One claim for everything: the reply no longer waits a round behind the read receipt.
    assert len(claims) == 1
    for lane, count in {"wa:1": 3, "wa:2": 2, "kitchen": 1}.items():
        assert [seq for got_lane, seq in receiver.got if got_lane == lane] == list(range(count))
    async with sessions() as session:
        rows = list(await session.exec(select(OutboxItem)))
    assert {(row.state, row.claimed_by, row.attempts) for row in rows} == {("sent", None, 1)}


@BOTH_DATABASES
async def test_a_failure_holds_back_only_the_rest_of_its_own_lane(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add_rows(sessions, {"wa:1": 3, "wa:2": 3})
    receiver = Receiver(refuse={("wa:1", 1)})
    # A backoff that cannot run out during the pass (FAST's 10 ms can on a busy machine, and
    # the refused row would go again in the same drain); _due_now ends it below.
    dispatcher = OutboxDispatcher(sessions, {"test": receiver.send},
                                  policy=RetryPolicy(base_seconds=30, max_seconds=60))

    assert await dispatcher.drain() == 4
    assert [item for item in receiver.got if item[0] == "wa:1"] == [("wa:1", 0)]
    assert [item for item in receiver.got if item[0] == "wa:2"] == [("wa:2", n) for n in range(3)]
    async with sessions() as session:
        waiting = list(await session.exec(select(OutboxItem).where(
            col(OutboxItem.state) == "pending").order_by(col(OutboxItem.id))))
    # The refused row backs off; the one behind it was never tried and is nobody's claim.
    assert [(row.key, row.attempts, row.claimed_by) for row in waiting] == [
        ("wa:1:1", 1, None), ("wa:1:2", 0, None)]

    await _due_now(sessions)
    assert await dispatcher.drain() == 2
    assert [item for item in receiver.got if item[0] == "wa:1"] == [("wa:1", n) for n in range(3)]


@BOTH_DATABASES
async def test_a_lane_backed_up_behind_a_failing_head_does_not_hide_the_others(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add_rows(sessions, {"kitchen": 2000, "wa:1": 1, "wa:2": 1})
    async with sessions() as session, session.begin():
        await session.exec(update(OutboxItem)
                           .where(col(OutboxItem.key) == "kitchen:0")
                           .values(next_attempt_at=utcnow() + timedelta(hours=1), attempts=3))
    receiver = Receiver()
    dispatcher = OutboxDispatcher(sessions, {"test": receiver.send}, policy=FAST)

    assert await dispatcher.pending_due() == 2
    assert await dispatcher.drain() == 2
    assert sorted(receiver.got) == [("wa:1", 0), ("wa:2", 0)]  # nothing from behind the head
    assert await dispatcher.pending_due() == 0


async def test_a_delivery_logs_under_the_correlation_id_of_its_message(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'outbox.db'}")
    await create_tables(engine)
    try:
        sessions = session_factory(engine)
        await add_rows(sessions, {"wa:1": 2}, correlation_id="c0ffee123456")
        receiver = Receiver()
        await OutboxDispatcher(sessions, {"test": receiver.send}, policy=FAST).drain()
        assert receiver.correlation_ids == ["c0ffee123456", "c0ffee123456"]
        assert current_correlation_id() is None  # and nothing leaks out of the pass
    finally:
        await engine.dispose()


async def _due_now(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        await session.exec(update(OutboxItem).values(next_attempt_at=utcnow()))


@BOTH_DATABASES
async def test_a_slow_lane_is_recorded_in_rounds_that_end_well_inside_the_claim_lease(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A round stops starting sends at its deadline and records what it sent, so a lease never
    runs out on rows already sent (another worker would send them again); the rest follow in
    the next rounds, still in order."""
    await add_rows(sessions, {"wa:slow": 6})
    receiver = Receiver()

    async def slow(payload: dict[str, Any], key: str) -> str:
        await asyncio.sleep(0.05)
        return await receiver.send(payload, key)

    claims = claims_counted(sessions)
    dispatcher = OutboxDispatcher(sessions, {"test": slow}, policy=FAST, round_seconds=0.08)
    assert await dispatcher.drain() == 6
    assert receiver.got == [("wa:slow", seq) for seq in range(6)]
    assert len(claims) >= 2  # cut into rounds, each recorded before the next claim


@BOTH_DATABASES
async def test_a_round_longer_than_the_claim_lease_keeps_its_rows_by_renewing_it(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The lease is short so that a dead worker's rows wait little; a live worker's slow
    round renews it, so a second worker polling meanwhile never sends the same row again."""
    monkeypatch.setattr(dispatcher_module, "CLAIM_LEASE", timedelta(seconds=0.3))
    monkeypatch.setattr(dispatcher_module, "LEASE_RENEW_SECONDS", 0.1)
    await add_rows(sessions, {"wa:slow": 1})
    receiver = Receiver()
    sending = asyncio.Event()

    async def slow(payload: dict[str, Any], key: str) -> str:
        sending.set()
        await asyncio.sleep(1.0)  # an adapter answering slowly, well past the lease
        return await receiver.send(payload, key)

    first = OutboxDispatcher(sessions, {"test": slow}, policy=FAST)
    second = OutboxDispatcher(sessions, {"test": receiver.send}, policy=FAST)
    draining = asyncio.create_task(first.drain())
    await sending.wait()
    for _ in range(8):  # the other worker polls throughout the slow send
        await asyncio.sleep(0.1)
        assert await second.drain() == 0
    assert await draining == 1
    assert receiver.got == [("wa:slow", 0)]


@BOTH_DATABASES
async def test_a_dead_workers_claim_runs_out_after_the_lease(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dispatcher_module, "CLAIM_LEASE", timedelta(seconds=0.3))
    await add_rows(sessions, {"wa:held": 1})
    async with sessions() as session, session.begin():  # claimed by a worker that then died
        await session.exec(update(OutboxItem).values(
            claimed_by="dead-worker", claimed_until=utcnow() + timedelta(seconds=0.3)))
    receiver = Receiver()
    dispatcher = OutboxDispatcher(sessions, {"test": receiver.send}, policy=FAST)
    assert await dispatcher.drain() == 0  # still held
    await asyncio.sleep(0.35)
    assert await dispatcher.drain() == 1
    assert receiver.got == [("wa:held", 0)]
