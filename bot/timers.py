"""Conversation timers: idle-cart reminder, cart expiry, handoff timeout.

The deadline lives in the database (conversation.due_at / due_kind), recomputed by
`next_timer` every time a conversation changes; nothing exists only in memory, so a restart
keeps every timer. An APScheduler interval job (`TimerSweeper`) asks the processor to run what
is due; the processor fires each one under the customer's lock, in one transaction, like a
message (bot.processing.Processor.run_timers).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.conversation import ConversationState

log = logging.getLogger(__name__)

TimerKind = Literal["reminder", "expiry", "handoff_timeout"]


@dataclass(frozen=True)
class TimerSettings:
    """Zero switches a timer off."""

    reminder: timedelta = timedelta(minutes=15)
    expiry: timedelta = timedelta(minutes=120)
    handoff_timeout: timedelta = timedelta(minutes=60)

    @classmethod
    def minutes(cls, reminder: float, expiry: float, handoff_timeout: float) -> TimerSettings:
        return cls(timedelta(minutes=reminder), timedelta(minutes=expiry),
                   timedelta(minutes=handoff_timeout))


@dataclass(frozen=True)
class Due:
    kind: TimerKind
    at: datetime


def next_timer(state: ConversationState, since: datetime | None,
               settings: TimerSettings) -> Due | None:
    """The next timer of a conversation whose customer (or a release) last acted at `since`."""
    if since is None:
        return None
    if state.handoff:
        if not settings.handoff_timeout:
            return None
        return Due("handoff_timeout", since + settings.handoff_timeout)
    if not state.cart and not state.pending:
        return None  # nothing unfinished to remind about or to clear
    reminder_first = settings.reminder and (not settings.expiry or settings.reminder <
                                            settings.expiry)
    if not state.reminded and reminder_first:
        return Due("reminder", since + settings.reminder)
    if not settings.expiry:
        return None
    return Due("expiry", since + settings.expiry)


def due_now(state: ConversationState, since: datetime | None, settings: TimerSettings,
            now: datetime) -> TimerKind | None:
    """The timer to fire at `now`, if any. When the expiry is due as well as the reminder (the
    server was down), only the expiry: a reminder about a cart that is cleared next says nothing
    useful."""
    due = next_timer(state, since, settings)
    if due is None or due.at > now:
        return None
    if due.kind == "reminder":
        later = next_timer(replace(state, reminded=True), since, settings)
        if later is not None and later.at <= now:
            return later.kind
    return due.kind


class TimerSweeper:
    """Runs `sweep` every `interval` seconds (and once at start, for timers due while down)."""

    def __init__(self, sweep: Callable[[], Awaitable[int]], interval: float,
                 housekeeping: Callable[[], Awaitable[int]] | None = None,
                 housekeeping_interval: float = 3600) -> None:
        self._sweep = sweep
        self._interval = interval
        # Slow, rare upkeep (payload retention, bot.privacy_admin) on the same scheduler.
        self._housekeeping = housekeeping
        self._housekeeping_interval = housekeeping_interval
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._running: asyncio.Task[None] | None = None
        self._upkeeping: asyncio.Task[None] | None = None

    def start(self) -> None:
        # max_instances=1 + coalesce: a slow sweep is never overlapped by the next one.
        self._scheduler.add_job(self._run, "interval", seconds=self._interval, max_instances=1,
                                coalesce=True, next_run_time=datetime.now(UTC),
                                id="conversation-timers")
        if self._housekeeping is not None:
            self._scheduler.add_job(self._upkeep, "interval", seconds=self._housekeeping_interval,
                                    max_instances=1, coalesce=True,
                                    next_run_time=datetime.now(UTC), id="housekeeping")
        self._scheduler.start()

    async def _upkeep(self) -> None:
        assert self._housekeeping is not None
        self._upkeeping = asyncio.current_task()
        try:
            done = await self._housekeeping()
            if done:
                log.info("housekeeping: %d stored payload(s) past retention blanked", done)
        except Exception:
            log.exception("housekeeping failed; the next run retries")
        finally:
            self._upkeeping = None

    async def _run(self) -> None:
        self._running = asyncio.current_task()
        try:
            fired = await self._sweep()
            if fired:
                log.info("timers: %d conversation timer(s) fired", fired)
        except Exception:
            log.exception("timer sweep failed; the next one retries (deadlines are stored)")
        finally:
            self._running = None

    async def stop(self) -> None:
        """Stop scheduling and let a sweep in progress finish its transaction."""
        self._scheduler.shutdown(wait=False)
        running = [task for task in (self._running, self._upkeeping)
                   if task is not None and not task.done()]
        if running:
            await asyncio.gather(*running, return_exceptions=True)
