"""Delivers outbox rows (WhatsApp replies, kitchen tickets) after commit, with retries.

Rows of one lane (one customer's chat, the kitchen) leave strictly in order: only the oldest
pending row of a lane is ever attempted, so a failing message holds back the ones after it
instead of letting them overtake it. Retryable failures back off exponentially with jitter;
permanent ones, and rows out of attempts, become dead letters with their last error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from adapters.db import OutboxItem, utcnow
from adapters.delivery import DeliveryError

log = logging.getLogger(__name__)

Sender = Callable[[dict[str, Any], str], Awaitable[str]]
MAX_ATTEMPTS = 8
MAX_BACKOFF_SECONDS = 300.0
CLAIM_LEASE = timedelta(seconds=60)  # longer than any adapter's timeout


def backoff_seconds(attempts: int) -> float:
    """1 s, 2 s, 4 s … capped, with ±25 % jitter so retries from many rows do not align."""
    base = min(2.0 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)
    return base * random.uniform(0.75, 1.25)


class OutboxDispatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        senders: Mapping[str, Sender],
        poll_interval: float = 1.0,
    ) -> None:
        self._sessions = sessions
        self._senders = senders
        self._poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._stopping = False

    def kick(self) -> None:
        """New rows were committed: deliver them now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the rows in hand, then let run() return (graceful shutdown).

        Cancelling a pass instead would interrupt a database session mid-write; its clean-up
        then outlives the engine and hangs the process on exit.
        """
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self.drain()
            except Exception:
                log.exception("outbox pass failed; retrying at the next poll")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_interval)

    async def pending_due(self) -> int:
        """Rows waiting for delivery now (claimed or not); 0 means the outbox is quiet."""
        async with self._sessions() as session:
            rows = await session.exec(
                select(func.count()).select_from(OutboxItem)
                .where(col(OutboxItem.state) == "pending",
                       col(OutboxItem.next_attempt_at) <= utcnow()))
            return int(rows.one())

    async def wait_quiet(self, timeout: float = 10.0) -> None:
        """Until nothing is due (tests and graceful shutdown); rows backing off don't count."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while await self.pending_due() and loop.time() < deadline:
            self.kick()
            await asyncio.sleep(0.02)

    async def drain(self) -> int:
        """Deliver every due row, lane by lane in order; returns how many were delivered."""
        delivered = 0
        while not self._stopping and (due := await self._due_rows()):
            results = await asyncio.gather(*(self._deliver(row) for row in due))
            delivered += sum(results)
            if not any(results):
                break  # everything due failed: wait for backoff instead of spinning
        return delivered

    async def _due_rows(self) -> list[OutboxItem]:
        """Claim the oldest pending row of each lane that is due and not claimed by anyone."""
        now = utcnow()
        token = uuid.uuid4().hex
        async with self._sessions() as session, session.begin():
            oldest_per_lane = (
                select(func.min(OutboxItem.id))
                .where(col(OutboxItem.state) == "pending")
                .group_by(col(OutboxItem.lane))
            )
            due = (
                select(OutboxItem.id)
                .where(col(OutboxItem.id).in_(oldest_per_lane),
                       col(OutboxItem.next_attempt_at) <= now,
                       or_(col(OutboxItem.claimed_until).is_(None),
                           col(OutboxItem.claimed_until) < now))
                .order_by(col(OutboxItem.id))
                .limit(50)
            )
            ids = list(await session.exec(due))
            if not ids:
                return []
            # The conditions are checked again inside the UPDATE: of two workers racing for a
            # row, only one matches it.
            await session.exec(
                update(OutboxItem)
                .where(col(OutboxItem.id).in_(ids), col(OutboxItem.state) == "pending",
                       or_(col(OutboxItem.claimed_until).is_(None),
                           col(OutboxItem.claimed_until) < now))
                .values(claimed_by=token, claimed_until=now + CLAIM_LEASE)
            )
        async with self._sessions() as session:
            rows = await session.exec(
                select(OutboxItem).where(col(OutboxItem.claimed_by) == token)
                .order_by(col(OutboxItem.id)))
            return list(rows)

    async def _deliver(self, row: OutboxItem) -> bool:
        sender = self._senders.get(row.kind)
        error: DeliveryError | None = None
        result = ""
        if sender is None:
            error = DeliveryError(f"no adapter configured for '{row.kind}'", retryable=False)
        else:
            try:
                result = await sender(json.loads(row.payload), row.key)
            except DeliveryError as failure:
                error = failure
            except Exception as failure:  # an adapter bug: keep the row, retry, and say so
                log.exception("adapter %s crashed on outbox row %s", row.kind, row.id)
                error = DeliveryError(f"{type(failure).__name__}: {failure}", retryable=True)
        await self._record(row, result, error)
        return error is None

    async def _record(self, row: OutboxItem, result: str, error: DeliveryError | None) -> None:
        async with self._sessions() as session, session.begin():
            stored = await session.get(OutboxItem, row.id)
            if stored is None or stored.state != "pending" or stored.claimed_by != row.claimed_by:
                return
            stored.attempts += 1
            stored.claimed_by = stored.claimed_until = None
            if error is None:
                stored.state, stored.result, stored.sent_at = "sent", result, utcnow()
            elif not error.retryable or stored.attempts >= MAX_ATTEMPTS:
                stored.state, stored.last_error = "dead", str(error)[:1000]
                log.error("outbox row %s (%s) is a dead letter: %s", row.id, row.kind, error)
            else:
                stored.last_error = str(error)[:1000]
                stored.next_attempt_at = utcnow() + timedelta(
                    seconds=backoff_seconds(stored.attempts))
                log.warning("outbox row %s (%s) failed, will retry: %s", row.id, row.kind, error)
