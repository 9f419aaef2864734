"""Group commit for the inbox: concurrent webhooks share one transaction.

Each webhook request hands its messages and statuses to `Ingest.store` and waits. One writer
task takes everything queued meanwhile and stores it in ONE transaction (adapters.inbox), then
answers each request with what was new in its own delivery. While a batch commits, the next
one queues up, so under load a commit carries many requests and its cost is shared; when idle,
a request is written at once, alone. A request is answered only after its rows are committed
(Meta must never hear 200 for a message we could still lose); a batch that fails fails every
request in it (503, Meta delivers again), except that a delivery the database refuses (not an
outage) is retried alone so it cannot take its neighbours down with it.

The per-sender rate limit (bot.rate_limit) is decided here, in arrival order, for the new
messages only (a redelivery spends no token), against buckets kept in the database
(adapters.rate_buckets) so that every server process counts a sender alike: a message over the
limit is stored with state "limited" (acknowledged, visible to the operator, never processed)
and the first one of a spell queues one polite reply in the same transaction.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters import inbox, rate_buckets
from bot import texts
from bot.logs import correlation_id_for
from bot.privacy import mask
from bot.rate_limit import Plan, RateLimiter
from bot.replies import TextReply, graph_payload
from bot.whatsapp_payloads import Inbound, Status

log = logging.getLogger(__name__)

# Enough to amortise a commit many times over; bounds one transaction's size and time.
MAX_BATCH_MESSAGES = 2000
# Acknowledgements before processing (Ingest.acknowledgements_first): more webhooks than this
# waiting for their commit make processing pause, for at most the second figure per message.
ACK_BACKLOG = 16
ACK_FIRST_LONGEST_SECONDS = 0.25
ACK_POLL_SECONDS = 0.002
# A flood: at least FLOOD_DELIVERIES deliveries (webhook POSTs with messages or statuses) in one
# FLOOD_WINDOW_SECONDS, the current or the one before. Then processing waits until no webhook
# at all waits for its commit.
FLOOD_WINDOW_SECONDS = 0.1
FLOOD_DELIVERIES = 40  # 400 a second: twice what one process answers at full speed
# Rate buckets that have refilled completely are deleted at most this often.
PRUNE_EVERY_SECONDS = 60.0


class IngestUnavailable(Exception):
    """The delivery was not stored (database trouble, or shutting down): answer 503."""


@dataclass(frozen=True)
class Stored:
    """What became of one delivery's messages."""

    fresh: list[Inbound]  # new, to be processed
    limited: list[Inbound]  # new, over the sender's rate limit: stored, not processed
    duplicates: int  # already stored (or twice in this batch)

    @property
    def new(self) -> list[Inbound]:
        return self.fresh + self.limited


@dataclass
class _Job:
    messages: list[Inbound]
    statuses: list[Status]
    future: asyncio.Future[Stored]
    size: int = field(init=False)

    def __post_init__(self) -> None:
        self.size = len(self.messages) + len(self.statuses)


class Ingest:
    """The single writer of the inbox. `on_customer` learns whose messages await processing
    (once per customer and batch), `on_outbox` that a reply was queued or a status proved a
    pending row sent (its lane may move on); both after the commit."""

    def __init__(self, engine: AsyncEngine, limiter: RateLimiter, now: Callable[[], float], *,
                 on_customer: Callable[[str], None],
                 on_outbox: Callable[[], None]) -> None:
        self._engine = engine
        self._limiter = limiter
        self._now = now
        self._on_customer = on_customer
        self._on_outbox = on_outbox
        self._queue: list[_Job] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._pruned_at = 0.0  # the rate buckets were last pruned (epoch seconds)
        self.batches = 0  # transactions committed (bench and tests: proof of batching)
        self._unanswered = 0  # store() calls waiting for their commit
        # Deliveries counted per FLOOD_WINDOW_SECONDS window (the current and the one before).
        self._window_start = 0.0
        self._window_count = 0
        self._previous_count = 0

    async def store(self, messages: list[Inbound], statuses: list[Status]) -> Stored:
        """Store one delivery; returns once it is committed. Raises IngestUnavailable."""
        if not messages and not statuses:
            return Stored([], [], 0)
        if self._closing:
            raise IngestUnavailable("shutting down")
        if self._task is None:
            self.start()
        loop = asyncio.get_running_loop()
        self._count_delivery(loop.time())
        job = _Job(messages, statuses, loop.create_future())
        self._queue.append(job)
        self._wake.set()
        self._unanswered += 1
        try:
            return await job.future
        finally:
            self._unanswered -= 1

    @property
    def unanswered(self) -> int:
        """Webhook deliveries waiting for their commit."""
        return self._unanswered

    async def acknowledgements_first(self) -> None:
        """Message processing awaits this before each message: a turn of the loop, and while
        more than ACK_BACKLOG webhooks wait for their commit (in a flood: any), a pause until
        they are down to it (at most ACK_FIRST_LONGEST_SECONDS).

        Why: SQLite runs on the loop's thread (adapters.sqlite_driver), so a transaction holds
        the loop while it runs, and in a flood processing would take the CPU the
        acknowledgements need; Meta, unanswered, delivers again and eventually gives up.
        Stored messages are safe: they are processed a little at a time during a flood and
        fully after it. At an ordinary pace one or two webhooks are in flight at a time, and
        processing runs at full speed. Counts, not times: on a machine busy with other work
        everything is late, and processing must not stop for that.
        """
        await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        # In a flood every acknowledgement goes first: each pending one is a webhook Meta may
        # time out and send again, which only adds to the flood.
        backlog = 0 if self._flooded(loop.time()) else ACK_BACKLOG
        if self._unanswered <= backlog:
            return
        deadline = loop.time() + ACK_FIRST_LONGEST_SECONDS
        while self._unanswered > backlog and loop.time() < deadline:
            await asyncio.sleep(ACK_POLL_SECONDS)

    def _count_delivery(self, now: float) -> None:
        if now - self._window_start >= FLOOD_WINDOW_SECONDS:
            recent = now - self._window_start < 2 * FLOOD_WINDOW_SECONDS
            self._previous_count = self._window_count if recent else 0
            self._window_start, self._window_count = now, 0
        self._window_count += 1

    def _flooded(self, now: float) -> bool:
        if now - self._window_start >= 2 * FLOOD_WINDOW_SECONDS:
            return False  # nothing came for a whole window
        return max(self._window_count, self._previous_count) >= FLOOD_DELIVERIES

    def start(self) -> None:
        if self._task is None:
            self._closing = False
            self._task = asyncio.create_task(self._run(), name="inbox-writer")

    async def stop(self) -> None:
        """Store what is queued, then stop; later deliveries are refused (503)."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._queue:
                    batch = self._take_batch()
                    try:
                        await self._write(batch)
                    finally:
                        _fail(batch, "not stored")  # only if a bug or a cancel left one waiting
                if self._closing:
                    return
        finally:
            _fail(self._queue, "shutting down")
            self._queue = []

    def _take_batch(self) -> list[_Job]:
        taken, size = 0, 0
        for job in self._queue:
            if taken and size + job.size > MAX_BATCH_MESSAGES:
                break
            taken, size = taken + 1, size + job.size
        batch, self._queue = self._queue[:taken], self._queue[taken:]
        return batch

    async def _write(self, jobs: list[_Job]) -> None:
        try:
            outcomes, notified, confirmed = await self._store(jobs)
        except Exception as error:
            if len(jobs) > 1 and not _unavailable(error):
                # Not an outage: one delivery the database refuses. Store them one by one so
                # it fails alone.
                for job in jobs:
                    await self._write([job])
                return
            log.error("could not store %d webhook delivery(ies) (%s); answered 503 so Meta "
                      "delivers them again", len(jobs), _describe(error),
                      exc_info=not isinstance(error, DBAPIError))
            _fail(jobs, _describe(error))
            return
        self.batches += 1
        for job, outcome in zip(jobs, outcomes, strict=True):
            if not job.future.done():  # a request whose client left still had its rows stored
                job.future.set_result(outcome)
        for message in notified:
            log.warning("customer %s is sending faster than the rate limit; their messages are "
                        "stored but not processed until they slow down", mask(message.customer))
        try:
            for customer in dict.fromkeys(m.customer for o in outcomes for m in o.fresh):
                self._on_customer(customer)
            if notified or confirmed:
                self._on_outbox()
        except Exception:  # the rows are safe; processing recovers them at the latest on restart
            log.exception("could not start processing a stored batch")

    async def _store(self, jobs: list[_Job]) -> tuple[list[Stored], list[Inbound], int]:
        """One transaction for the whole batch; returns each job's outcome, the messages
        that opened a limited spell (a polite reply was queued for each) and how many outbox
        rows the statuses proved sent."""
        messages = inbox.first_of_each([m for job in jobs for m in job.messages])
        async with self._engine.begin() as connection:
            new_ids = await inbox.insert_messages(connection, messages)
            statuses = [s for job in jobs for s in job.statuses]
            await inbox.insert_statuses(connection, statuses)
            # A status proving a send whose answer was lost frees its lane (bot.dispatcher).
            confirmed = await inbox.confirm_sends(connection, statuses)
            new = [message for message in messages if message.wamid in new_ids]
            plan = await self._rate_plan(connection, [message.customer for message in new])
            over = {message.wamid for message, verdict in zip(new, plan.verdicts, strict=True)
                    if not verdict.allowed}
            notified = [message for message, verdict in zip(new, plan.verdicts, strict=True)
                        if verdict.notify]
            await inbox.mark_limited(connection, sorted(over))
            await inbox.queue(connection, [_polite_reply(message) for message in notified])
        outcomes, unclaimed = [], set(new_ids)
        for job in jobs:
            fresh: list[Inbound] = []
            limited: list[Inbound] = []
            duplicates = 0
            for message in job.messages:
                if message.wamid not in unclaimed:  # stored before, or earlier in this batch
                    duplicates += 1
                    continue
                unclaimed.discard(message.wamid)
                (limited if message.wamid in over else fresh).append(message)
            outcomes.append(Stored(fresh, limited, duplicates))
        return outcomes, notified, confirmed

    async def _rate_plan(self, connection: AsyncConnection, senders: list[str]) -> Plan:
        """The rate limit's verdicts for the new messages' senders, in order, their buckets
        written in the batch's transaction (a failed batch spends nobody's tokens)."""
        now = self._now()
        if not senders or not self._limiter.enabled:
            return self._limiter.plan(senders, now, {})
        distinct = set(senders)
        plan = self._limiter.plan(senders, now, await rate_buckets.hold(connection, distinct))
        await rate_buckets.write(connection, plan.buckets)
        if now - self._pruned_at >= PRUNE_EVERY_SECONDS:
            self._pruned_at = now
            await rate_buckets.prune(connection, now - self._limiter.refill_seconds)
        return plan


def _polite_reply(message: Inbound) -> inbox.OutboxRow:
    reply = graph_payload(TextReply(texts.text("rate_limited")), message.reply_to)
    return inbox.OutboxRow(kind="whatsapp", lane=f"wa:{message.reply_to}",
                           key=f"limited:{message.wamid}", payload=json.dumps(reply),
                           correlation_id=correlation_id_for(message.wamid))


def _fail(jobs: list[_Job], reason: str) -> None:
    for job in jobs:
        if not job.future.done():
            job.future.set_exception(IngestUnavailable(reason))


def _unavailable(error: Exception) -> bool:
    """The database is away, locked or busy, as opposed to refusing this data."""
    return isinstance(error, OperationalError | InterfaceError | OSError | TimeoutError)


def _describe(error: Exception) -> str:
    # A DBAPIError's text quotes the statement's parameters (customers' numbers and messages):
    # keep only the first line of the driver's own message ("database is locked").
    if isinstance(error, DBAPIError):
        first_line = str(error.orig).splitlines()[0][:200] if str(error.orig) else ""
        return f"{type(error.orig).__name__}: {first_line}"
    return type(error).__name__  # a bug: the traceback is logged with it
