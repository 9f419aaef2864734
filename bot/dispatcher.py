"""Delivers outbox rows (WhatsApp replies, kitchen tickets) after commit, with retries.

Rows of one lane (one customer's chat, the kitchen) leave strictly in order: a pass claims the
oldest pending rows of each lane whose head is due (up to LANE_RUN), sends them one after the
other and stops the lane at its first failure, so a failing message holds back the ones after
it instead of letting them overtake it (a chat's read receipts have a lane of their own beside
it: bot.replies.read_receipt_lane). What
a failure leads to is the retry policy's call (adapters.delivery: backoff with jitter, a budget
of attempts per kind of failure); a row given up becomes a dead letter with its last error
and, in the same transaction, an owner alert.

A send whose outcome is unknown (the WhatsApp client timed out, or the connection dropped,
after the request was written: Meta may have accepted it) is not sent again at once, which
used to give customers the same reply twice. WhatsApp has no idempotency key, so the row stays
pending with the marker UNCERTAIN in `result` and its next attempt `uncertain_wait` seconds
later (its lane stays held: order matters). Every message carries its row key as
biz_opaque_callback_data, which Meta echoes in the message's status webhooks; a status naming
the key records the row sent at once (adapters.inbox.confirm_sends, which kicks the
dispatcher). When the wait ends without one, the dispatcher looks in status_event once more:
found, the row is recorded sent without sending; not found, it is sent again (at-least-once: a
message Meta accepted but never reported can still arrive twice).

When it runs: an APScheduler interval job polls (rows written by another process, the
`orderbot outbox retry` command, leases left by a crashed worker), `kick()` starts a pass at
once after a commit, and a timer wakes it when the next backoff ends. One pass at a time per
dispatcher; several processes share the work through row claims (SKIP LOCKED on PostgreSQL).
A lane's claimed rows are always its oldest pending ones, so whoever holds its head holds it.

Statements per pass: one transaction to claim (the lane heads, found by a walk over the
(state, lane, id) index, then one UPDATE … RETURNING of the runs) and one to record (one
executemany for the rows sent, one UPDATE releasing rows not tried, the failures row by row),
all built once in adapters.outbox_store.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from adapters.db import OutboxItem, StatusEvent, utcnow
from adapters.delivery import DeliveryError, FailureKind, RetryPolicy
from adapters.outbox_store import (
    BATCH,
    CLAIM,
    LANE_HEADS,
    LANE_RUN,
    RECORD_SENT,
    RELEASE_UNTRIED,
    RENEW_CLAIM,
    Claimed,
)
from bot.alerts import OwnerAlert, auth_alert, dead_letter_alert, is_alert_row, owner_number
from bot.logs import correlation
from bot.metrics import Metrics
from bot.whatsapp_payloads import ACCEPTED_STATUSES

log = logging.getLogger(__name__)

Sender = Callable[[dict[str, Any], str], Awaitable[str]]
# A claim lasts this long unless renewed: while a round runs it is renewed every
# LEASE_RENEW_SECONDS (_keep_claim), so only a worker that died (kill -9, power loss) lets its
# rows wait, for at most this long, before another worker or its own restart sends them.
CLAIM_LEASE = timedelta(seconds=15)
LEASE_RENEW_SECONDS = CLAIM_LEASE.total_seconds() / 3
UNCERTAIN = "sent?"  # `result` of a pending row whose last send may have been accepted
UNCERTAIN_WAIT_SECONDS = 20.0  # how long such a row waits for a status before a resend


@dataclass(frozen=True)
class _Outcome:
    row: Claimed
    result: str = ""
    error: DeliveryError | None = None
    tried: bool = True  # False: not attempted (an earlier row of its lane failed, or stopping)


def _no_owner() -> str | None:
    return None


class OutboxDispatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        senders: Mapping[str, Sender],
        *,
        owner: Callable[[], str | None] = _no_owner,
        policy: RetryPolicy | None = None,
        poll_interval: float = 1.0,
        scheduler: AsyncIOScheduler | None = None,
        job_id: str = "outbox-dispatcher",
        metrics: Metrics | None = None,
        round_seconds: float = CLAIM_LEASE.total_seconds() / 2,
        uncertain_wait: float = UNCERTAIN_WAIT_SECONDS,
    ) -> None:
        """`owner` returns shop.owner_whatsapp now (the catalog may be reloaded). A shared
        `scheduler` is started and shut down by its owner; without one the dispatcher has its own.
        """
        self._sessions = sessions
        self._senders = senders
        self._owner = owner
        self._policy = policy or RetryPolicy()
        self._poll_interval = poll_interval
        # A round starts no new send after this long, so it is recorded well inside the claim
        # lease (slow adapters, a long lane): a lease that ran out mid-round would let another
        # worker claim rows this one already sent, and send them again.
        self._round_seconds = round_seconds
        self._uncertain_wait = uncertain_wait
        self._owns_scheduler = scheduler is None
        self._scheduler = scheduler or AsyncIOScheduler(timezone=UTC)
        self._job_id = job_id
        self._pass: asyncio.Task[None] | None = None
        self._again = False
        self._stopping = False
        self._wake: asyncio.TimerHandle | None = None
        self._woken = False  # the backoff timer fired: arm it again after the pass
        self._metrics = metrics or Metrics()

    # --- running ------------------------------------------------------------------------

    def start(self) -> None:
        """Poll from now on; the first pass runs at once (rows left pending by a restart)."""
        self._stopping = False
        # coalesce + max_instances=1: a late poll never piles up behind a slow one.
        self._scheduler.add_job(self._poll, "interval", seconds=self._poll_interval,
                                id=self._job_id, replace_existing=True, max_instances=1,
                                coalesce=True, next_run_time=datetime.now(UTC))
        if self._owns_scheduler and not self._scheduler.running:
            self._scheduler.start()

    @property
    def running(self) -> bool:
        """Started, not stopping, and its poll job still scheduled (GET /readyz)."""
        return (not self._stopping and self._scheduler.running
                and self._scheduler.get_job(self._job_id) is not None)

    def kick(self) -> None:
        """New rows were committed: deliver them now rather than at the next poll."""
        if self._stopping:
            return
        self._again = True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # called before the app runs: the first poll delivers the rows
            return
        if self._pass is None or self._pass.done():
            self._pass = loop.create_task(self._passes(), name="outbox-pass")

    async def stop(self, grace: float = 15.0) -> None:
        """Finish the rows in hand, then return (graceful shutdown).

        No new rows are claimed once stopping. Cancelling a pass instead would interrupt a
        database session mid-write; its clean-up then outlives the engine and hangs the
        process on exit. Only a pass still busy after `grace` seconds (an adapter hung past
        its own timeout) is cancelled; its rows' leases expire and they retry on restart.
        """
        self._stopping = True
        with contextlib.suppress(JobLookupError):
            self._scheduler.remove_job(self._job_id)
        if self._owns_scheduler and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        if self._wake is not None:
            self._wake.cancel()
        running = self._pass
        if running is None or running.done():
            return
        try:
            await asyncio.wait_for(running, timeout=grace)
        except TimeoutError:
            log.warning("outbox dispatcher did not stop in time; rows in hand retry on restart")

    async def _poll(self) -> None:
        self.kick()

    async def _passes(self) -> None:
        # A kick while this task runs only sets _again (see kick), so look again before leaving.
        while self._again and not self._stopping:
            self._again = False
            try:
                await self.drain()
            except Exception:
                log.exception("outbox pass failed; retrying at the next poll")
            if self._again or self._stopping or not self._woken:
                continue  # no failure since the last arming: the wake in place still holds
            self._woken = False
            try:
                await self._arm_wake()
            except Exception:
                log.exception("could not schedule the next retry; the poll will find it")

    async def _arm_wake(self) -> None:
        """Wake when the next backoff ends if that is sooner than the next poll."""
        async with self._sessions() as session:
            rows = await session.exec(
                select(func.min(OutboxItem.next_attempt_at))
                .where(col(OutboxItem.state) == "pending",
                       col(OutboxItem.next_attempt_at) > utcnow()))
            soonest = rows.one()
        if soonest is None:
            return
        if soonest.tzinfo is None:  # SQLite hands back naive UTC
            soonest = soonest.replace(tzinfo=UTC)
        delay = max((soonest - utcnow()).total_seconds(), 0.0) + 0.01
        if delay >= self._poll_interval or self._stopping:
            return
        if self._wake is not None:
            self._wake.cancel()
        self._wake = asyncio.get_running_loop().call_later(delay, self._wake_up)

    def _wake_up(self) -> None:
        self._woken = True  # rows may still be backing off behind the ones due now
        self.kick()

    # --- observing ----------------------------------------------------------------------

    async def pending_due(self) -> int:
        """Lanes whose next row is due now (claimed or not); 0 means the outbox is quiet.

        Rows waiting behind a row that is backing off are not due: they cannot go before it.
        """
        async with self._sessions() as session:
            rows = await session.exec(
                select(func.count()).select_from(OutboxItem)
                .where(col(OutboxItem.id).in_(LANE_HEADS),
                       col(OutboxItem.next_attempt_at) <= utcnow()))
            return int(rows.one())

    async def wait_quiet(self, timeout: float = 10.0) -> None:
        """Until nothing is due (tests and graceful shutdown); rows backing off don't count."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while await self.pending_due() and loop.time() < deadline:
            self.kick()
            await asyncio.sleep(0.02)

    # --- delivering ---------------------------------------------------------------------

    async def drain(self) -> int:
        """Deliver every due row, lane by lane in order; returns how many were delivered."""
        delivered = 0
        while not self._stopping:
            token, claimed = await self._claim()
            if not claimed:
                break
            lanes: dict[str, list[Claimed]] = {}
            for row in claimed:
                lanes.setdefault(row.lane, []).append(row)
            deadline = asyncio.get_running_loop().time() + self._round_seconds
            done = asyncio.Event()
            keeping = asyncio.create_task(
                self._keep_claim(token, [row.id for row in claimed], done), name="outbox-lease")
            try:
                runs = await asyncio.gather(*(self._deliver_lane(rows, deadline)
                                              for rows in lanes.values()))
            finally:
                # Not cancelled: a renewal half-way through its UPDATE finishes first, and the
                # round's record never races it for the same rows (a deadlock on PostgreSQL).
                done.set()
                await keeping
            outcomes = [outcome for run in runs for outcome in run]
            sent = await self._record(token, outcomes)
            delivered += sent
            if not sent:
                break  # everything due failed: wait for backoff instead of spinning
            if (len(lanes) < BATCH and all(len(rows) < LANE_RUN for rows in lanes.values())
                    and all(outcome.tried for outcome in outcomes)):
                break  # all that was due is done; rows committed since then kick() again
        return delivered

    async def _claim(self) -> tuple[str, list[Claimed]]:
        """Claim the oldest pending rows (up to LANE_RUN) of each lane whose head is due and
        not claimed by anyone, for at most BATCH lanes; returns the claim token and the rows.
        The statements are prepared once (_ClaimStatements)."""
        now = utcnow()
        token = uuid.uuid4().hex
        async with self._sessions() as session, session.begin():
            connection = await session.connection()
            statements = CLAIM[connection.dialect.name == "postgresql"]
            lanes = list((await connection.execute(statements.due, {"now": now})).scalars())
            if not lanes:
                return token, []
            rows = await connection.execute(statements.claim, {
                "lanes": lanes, "now": now, "token": token, "until": now + CLAIM_LEASE})
            claimed = sorted((Claimed(*row) for row in rows), key=lambda row: row.id)
        return token, claimed

    async def _keep_claim(self, token: str, ids: list[int], done: asyncio.Event) -> None:
        """Renew the round's claim every LEASE_RENEW_SECONDS until `done`: a round with slow
        adapters keeps its rows, while a dead worker's claim runs out after CLAIM_LEASE."""
        while True:
            try:
                await asyncio.wait_for(done.wait(), LEASE_RENEW_SECONDS)
                return
            except TimeoutError:
                pass
            try:
                async with self._sessions() as session, session.begin():
                    connection = await session.connection()
                    await connection.execute(RENEW_CLAIM, {
                        "ids": ids, "token": token, "until": utcnow() + CLAIM_LEASE})
            except Exception:
                # The round itself stops starting sends at half the lease (round_seconds).
                log.exception("could not renew the claim on the outbox rows in hand")

    async def _deliver_lane(self, rows: list[Claimed], deadline: float) -> list[_Outcome]:
        """One lane's rows in order, up to its first failure or the round's deadline; the rest
        are left for the next round."""
        outcomes: list[_Outcome] = []
        blocked = False
        loop = asyncio.get_running_loop()
        for row in rows:
            if blocked or self._stopping or loop.time() > deadline:
                outcomes.append(_Outcome(row, tried=False))
                continue
            with correlation(row.correlation_id):
                outcomes.append(await self._deliver(row))
            blocked = outcomes[-1].error is not None
        return outcomes

    async def _deliver(self, row: Claimed) -> _Outcome:
        sender = self._senders.get(row.kind)
        if sender is None:
            return _Outcome(row, error=DeliveryError(f"no adapter configured for '{row.kind}'",
                                                     retryable=False))
        if row.result == UNCERTAIN:
            # The last send's answer was lost and no status arrived during the wait (it
            # would have recorded the row sent): one more look before sending it again.
            wamid = await self._proof_of_send(row.key)
            if wamid is not None:
                log.info("outbox row %s (%s) was sent after all (status for %s): not resent",
                         row.id, row.kind, wamid)
                return _Outcome(row, result=wamid)
            log.warning("outbox row %s (%s): no status proves the send whose answer was lost; "
                        "sending it again", row.id, row.kind)
        started = asyncio.get_running_loop().time()
        try:
            result = await sender(json.loads(row.payload), row.key)
            log.debug("outbox row %s (%s) delivered: %s", row.id, row.kind, result)
            return _Outcome(row, result=result)
        except DeliveryError as failure:
            return _Outcome(row, error=failure)
        except Exception as failure:  # an adapter bug: keep the row, retry, and say so
            log.exception("adapter %s crashed on outbox row %s", row.kind, row.id)
            return _Outcome(row, error=DeliveryError(f"{type(failure).__name__}: {failure}",
                                                     retryable=True))
        finally:
            self._metrics.delivery_seconds.labels(row.kind).observe(
                asyncio.get_running_loop().time() - started)

    async def _proof_of_send(self, key: str) -> str | None:
        """The wamid of a stored status saying Meta accepted the message sent for `key`."""
        async with self._sessions() as session:
            found = await session.exec(
                select(StatusEvent.wamid)
                .where(col(StatusEvent.biz_opaque_callback_data) == key,
                       col(StatusEvent.status).in_(sorted(ACCEPTED_STATUSES)))
                .order_by(col(StatusEvent.id)).limit(1))
            return found.first()

    async def _record(self, token: str, outcomes: list[_Outcome]) -> int:
        """Write a round's results in one transaction; returns how many rows were sent.

        Every statement matches only rows still claimed with this round's token: a row whose
        lease ran out and was taken by another worker is theirs to record.
        """
        sent = [outcome for outcome in outcomes if outcome.tried and outcome.error is None]
        untried = [outcome.row.id for outcome in outcomes if not outcome.tried]
        failed = [outcome for outcome in outcomes if outcome.error is not None]
        alerted = False
        now = utcnow()
        async with self._sessions() as session, session.begin():
            connection = await session.connection()
            if sent:
                await connection.execute(RECORD_SENT, [
                    {"row_id": o.row.id, "row_result": o.result, "token": token, "at": now}
                    # In id order, as a status webhook confirming rows locks them (no deadlock).
                    for o in sorted(sent, key=lambda o: o.row.id)])
            if untried:
                await connection.execute(RELEASE_UNTRIED, {"ids": untried, "token": token})
            for outcome in failed:
                assert outcome.error is not None
                with correlation(outcome.row.correlation_id):
                    alerted |= await self._record_failure(session, outcome.row, outcome.error)
        for outcome in sent:
            self._metrics.delivered(outcome.row.kind, "sent")
        if failed:
            self._woken = True  # a retry is due later: arm the wake after this pass
        if alerted:
            self._again = True  # deliver the alert in this pass, not at the next poll
        return len(sent)

    async def _record_failure(self, session: AsyncSession, row: Claimed,
                              error: DeliveryError) -> bool:
        """Back off or bury one failed row; True when an owner alert was queued."""
        stored = await session.get(OutboxItem, row.id)
        if stored is None or stored.state != "pending" or stored.claimed_by != row.claimed_by:
            return False
        stored.attempts += 1
        stored.claimed_by = stored.claimed_until = None
        stored.last_error = str(error)[:1000]
        delay = self._policy.next_delay(error, stored.attempts)
        if delay is not None and error.uncertain:
            # Meta may have the message: wait for its status rather than send it twice.
            stored.result = UNCERTAIN
            delay = max(delay, self._uncertain_wait)
            stored.next_attempt_at = utcnow() + timedelta(seconds=delay)
            log.warning("outbox row %s (%s) may have been sent (attempt %d): waiting %.1f s for "
                        "its status before sending it again: %s",
                        row.id, row.kind, stored.attempts, delay, error)
            self._metrics.delivered(row.kind, "retry")
            return False
        if delay is not None:
            stored.next_attempt_at = utcnow() + timedelta(seconds=delay)
            log.warning("outbox row %s (%s) failed (%s, attempt %d), retry in %.1f s: %s",
                        row.id, row.kind, error.kind, stored.attempts, delay, error)
            self._metrics.delivered(row.kind, "retry")
            return False
        stored.state = "dead"
        self._metrics.delivered(row.kind, "dead")
        log.error("outbox row %s (%s) is a dead letter after %d attempt(s) (%s): %s",
                  row.id, row.kind, stored.attempts, error.kind, error)
        return await self._queue_alert(session, stored, error)

    async def _queue_alert(
        self, session: AsyncSession, row: OutboxItem, error: DeliveryError
    ) -> bool:
        """Tell the owner, once: per dead row, or per auth incident for refused credentials."""
        try:
            owner = owner_number(self._owner())
        except Exception:  # no catalog loaded: the dead letter itself is what matters
            log.exception("cannot read the owner's number; outbox row %s not alerted", row.id)
            return False
        auth_incident = error.incident if error.kind is FailureKind.AUTH else None
        if auth_incident:
            log.error("%s credentials refused (%s): nothing of this kind goes out until they "
                      "are renewed", row.kind, auth_incident)
        if is_alert_row(row.key, row.lane, owner):
            return False
        if owner is None:
            log.warning("no shop.owner_whatsapp in the catalog: outbox row %s not alerted", row.id)
            return False
        assert row.id is not None
        alert: OwnerAlert | None
        if auth_incident:
            alert = auth_alert(owner, row.kind, auth_incident, str(error))
        else:
            alert = dead_letter_alert(owner, row.id, kind=row.kind, key=row.key,
                                      payload=json.loads(row.payload), reason=str(error))
        if alert is None:
            return False
        now = utcnow()
        values = {"kind": "whatsapp", "lane": alert.lane, "key": alert.key,
                  "payload": json.dumps(alert.payload), "state": "pending", "attempts": 0,
                  "next_attempt_at": now, "created_at": now}
        # The key is unique: a second death of the same row, or the same incident seen by
        # another row or another process, inserts nothing.
        insert = (postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert)
        outcome = await session.exec(
            insert(OutboxItem).values(**values).on_conflict_do_nothing(index_elements=["key"]),
            execution_options={"preserve_rowcount": True})  # else an INSERT's count is -1
        added = bool(outcome.rowcount)
        if added:
            log.info("owner alert %s queued for outbox row %s", alert.key, row.id)
        return added


def _dialect(session: AsyncSession) -> str:
    bind = session.bind
    return bind.dialect.name if bind is not None else ""
