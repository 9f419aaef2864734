"""`orderbot serve --workers N`: N full servers on one port, started and watched by a supervisor.

Every worker is an ordinary `orderbot serve` process (webhook, dispatcher, timers, catalog
watch) that listens with SO_REUSEPORT, so the kernel spreads incoming connections over them.
What must stay correct across them (deduplication, per-customer order, outbox claims, timers)
is settled in the database, not here: the supervisor only starts, restarts and stops processes.

Supervisor and worker share a socketpair. The supervisor writes "go" when the worker may run
its startup (one worker first, so the schema and the stock seeding are done once); the worker
writes "ready" once it listens. The supervisor merely holding its end open is the worker's
lifeline: when the supervisor dies, even by kill -9, the worker reads end-of-file and stops
gracefully instead of keeping the port.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger("orderbot.workers")

GO = b"go\n"  # supervisor -> worker: run your startup now
READY = b"ready\n"  # worker -> supervisor: listening
# A worker's startup loads the catalog, the language model and the database schema.
START_TIMEOUT_SECONDS = 180.0
# A worker finishes the requests and deliveries in hand on SIGTERM (bot.app: 5 s for open
# requests, then up to 15 s for the outbox rows it holds); beyond this it is killed.
STOP_TIMEOUT_SECONDS = 25.0


# --- the worker side: an ordinary server that waits its turn, says when it listens, and minds
# its lifeline ---

def serve_as_worker(app: web.Application, host: str, port: int, number: int,
                    channel_fd: int) -> None:
    """Run `app` as worker `number`: like `orderbot serve`, but on a shared port."""
    # Imported here: the supervisor process needs none of the server's modules.
    from aiohttp import web  # noqa: PLC0415
    from prometheus_client import Info  # noqa: PLC0415

    from bot.metrics import METRICS_KEY  # noqa: PLC0415
    from bot.webhook import QuietAccessLogger  # noqa: PLC0415

    channel = socket.socket(fileno=channel_fd)
    channel.setblocking(False)
    metrics = app.get(METRICS_KEY)
    if metrics is not None:  # which worker answered a /metrics scrape (each has its own counts)
        Info("orderbot_worker", "The `orderbot serve --workers` process that answered",
             registry=metrics.registry).info({"worker": str(number), "pid": str(os.getpid())})

    async def wait_for_turn(_app: web.Application) -> None:
        # Before the app's own startup (schema, stock seeding): the supervisor lets one worker
        # do that first, while the others are already done with their slow imports.
        if await asyncio.get_running_loop().sock_recv(channel, len(GO)) != GO:
            raise RuntimeError("the `orderbot serve --workers` supervisor is gone")
        asyncio.get_running_loop().add_reader(channel.fileno(), _on_supervisor_message, channel)

    async def cut_lifeline(_app: web.Application) -> None:
        asyncio.get_running_loop().remove_reader(channel.fileno())
        channel.close()

    def announce(*_args: Any, **_kwargs: Any) -> None:
        # run_app calls its `print` once every site listens: the moment this worker serves.
        log.info("worker %d (pid %d) serving on http://%s:%d", number, os.getpid(), host, port)
        with contextlib.suppress(OSError):  # the supervisor is gone: the lifeline stops us
            channel.send(READY)

    app.on_startup.insert(0, wait_for_turn)
    app.on_cleanup.append(cut_lifeline)
    web.run_app(app, host=host, port=port, reuse_port=True, print=announce,
                shutdown_timeout=5.0, access_log_class=QuietAccessLogger)


def _on_supervisor_message(channel: socket.socket) -> None:
    try:
        data = channel.recv(64)
    except BlockingIOError:
        return
    except OSError:
        data = b""
    if not data:
        log.warning("the `orderbot serve --workers` supervisor is gone: stopping this worker")
        asyncio.get_running_loop().remove_reader(channel.fileno())
        os.kill(os.getpid(), signal.SIGTERM)  # aiohttp's own graceful stop


# --- the supervisor ---

@dataclass(frozen=True)
class RestartPolicy:
    """How long to wait before restarting a worker that died: doubling per quick death."""

    first_delay: float = 1.0
    max_delay: float = 30.0
    stable_after: float = 60.0  # up this long: its next death counts as the first again

    def delay(self, deaths: int) -> float:
        """Seconds before the restart after `deaths` (>= 1) deaths in a row."""
        return min(self.max_delay, self.first_delay * 2.0 ** max(0, deaths - 1))


@dataclass(frozen=True)
class WorkerPlan:
    """What the supervisor runs: `workers` copies of `command` + the worker options."""

    workers: int
    host: str
    port: int
    command: tuple[str, ...] = (sys.executable, "-m", "bot.cli", "serve")
    restart: RestartPolicy = field(default_factory=RestartPolicy)
    start_timeout: float = START_TIMEOUT_SECONDS
    stop_timeout: float = STOP_TIMEOUT_SECONDS


class StartFailed(Exception):
    """A worker exited (or hung) before it served, at the first start: a setup problem."""

    def __init__(self, number: int, code: int | None) -> None:
        self.number = number
        self.code = code
        super().__init__(f"worker {number} could not start "
                         + (f"(exit code {code})" if code is not None else "(no answer in time)"))


def sqlite_warning(database_url: str, workers: int) -> str | None:
    """The warning for several workers on SQLite (allowed, but not the scale-out store)."""
    if workers > 1 and database_url.partition(":")[0].partition("+")[0] == "sqlite":
        return (f"{workers} workers share one SQLite file: they take turns writing to it, so "
                "this adds little; PostgreSQL (ORDERBOT_DATABASE_URL=postgresql+psycopg://...) "
                "is the store for several processes")
    return None


def port_problem(host: str, port: int) -> str | None:
    """Why the port cannot be ours, or None. SO_REUSEPORT would otherwise let the workers share
    it silently with another program (of the same user) already listening there."""
    if not hasattr(socket, "SO_REUSEPORT"):
        return "--workers needs SO_REUSEPORT (Linux or BSD); run one process per port instead"
    try:
        probe = socket.create_server((host, port))
    except OSError as error:
        return f"cannot listen on {host}:{port}: {error.strerror or error}"
    probe.close()
    return None


class Supervisor:
    """Starts the workers, restarts one that dies, and stops them all on SIGTERM or SIGINT.

    All start at once (imports take seconds), but only the first runs its startup (schema
    creation or migration, stock seeding from the catalog) until it serves; then the others
    run theirs, against a database that is ready.
    """

    def __init__(self, plan: WorkerPlan) -> None:
        self.plan = plan
        self.stopping = asyncio.Event()
        self.processes: dict[int, asyncio.subprocess.Process] = {}
        # The supervisor's end of each worker's socketpair: its lifeline (see above).
        self.lifelines: dict[int, socket.socket] = {}

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._stop_requested, signum)
        try:
            return await self._run()
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)

    async def _run(self) -> int:
        numbers = range(1, self.plan.workers + 1)
        first_serves = asyncio.Event()
        starts = [asyncio.create_task(self._first_start(1, None, first_serves))]
        starts += [asyncio.create_task(self._first_start(n, first_serves, None))
                   for n in numbers[1:]]
        try:
            await asyncio.gather(*starts)
        except StartFailed as failure:
            log.error("%s; stopping the others (its own messages are above)", failure)
            self.stopping.set()
            await asyncio.gather(*starts, return_exceptions=True)
            await self._stop_all()
            return failure.code if failure.code and failure.code > 0 else 1
        if self.stopping.is_set():  # a signal arrived while starting
            await self._stop_all()
            return 0
        log.info("%d workers serving on http://%s:%d (pids %s)", self.plan.workers,
                 self.plan.host, self.plan.port,
                 ", ".join(str(self.processes[n].pid) for n in numbers))
        keepers = [asyncio.create_task(self._keep_running(n), name=f"worker-{n}")
                   for n in numbers]
        await self.stopping.wait()
        await self._stop_all()
        await asyncio.gather(*keepers, return_exceptions=True)
        return 0

    def _stop_requested(self, signum: int) -> None:
        if not self.stopping.is_set():
            log.info("%s: stopping the workers", signal.Signals(signum).name)
        self.stopping.set()

    async def _first_start(self, number: int, turn: asyncio.Event | None,
                           serving: asyncio.Event | None) -> None:
        if not await self._start(number, turn) and not self.stopping.is_set():
            process = self.processes.get(number)
            raise StartFailed(number, process.returncode if process else None)
        if serving is not None:
            serving.set()

    async def _start(self, number: int, turn: asyncio.Event | None = None) -> bool:
        """Start worker `number`, let it run its startup once `turn` is set (None: at once);
        True once it serves, False if it exited, hung or was asked to stop first."""
        ours, theirs = socket.socketpair()
        try:
            # Its own session: a Ctrl-C in the terminal reaches the supervisor only, which
            # forwards one SIGTERM (a second signal would cut aiohttp's graceful stop short).
            process = await asyncio.create_subprocess_exec(
                *self.plan.command, "--host", self.plan.host, "--port", str(self.plan.port),
                "--worker-number", str(number), "--worker-channel", str(theirs.fileno()),
                pass_fds=(theirs.fileno(),), start_new_session=True)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self.processes[number] = process
        log.info("worker %d started (pid %d)", number, process.pid)
        ours.setblocking(False)
        loop = asyncio.get_running_loop()
        try:
            if turn is not None and not await self._until(process, turn.wait()):
                return await self._give_up(number, process, ours)
            await loop.sock_sendall(ours, GO)
            if await self._until(process, loop.sock_recv(ours, len(READY))) != READY:
                return await self._give_up(number, process, ours)
        except OSError:  # the worker closed its end: it is exiting
            return await self._give_up(number, process, ours)
        self.lifelines[number] = ours
        return True

    async def _until(self, process: asyncio.subprocess.Process,
                     step: Coroutine[Any, Any, Any]) -> Any:
        """`step`'s result, or None if the worker exits, a stop is asked for, or the start
        takes too long first."""
        work = asyncio.ensure_future(step)
        exited = asyncio.ensure_future(process.wait())
        stop = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait({work, exited, stop}, timeout=self.plan.start_timeout,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (work, exited, stop):
                waiter.cancel()
        if work.done() and not work.cancelled() and work.exception() is None:
            return work.result()
        return None

    async def _give_up(self, number: int, process: asyncio.subprocess.Process,
                       ours: socket.socket) -> bool:
        ours.close()
        if process.returncode is None and not self.stopping.is_set():
            # Its end of the channel closes a moment before it has exited: let its own exit
            # code stand rather than signal a process on its way out.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), timeout=2.0)
            if process.returncode is None:
                log.error("worker %d (pid %d) did not serve within %.0f s; stopping it",
                          number, process.pid, self.plan.start_timeout)
        await self._terminate(process)
        return False

    async def _keep_running(self, number: int) -> None:
        """Watch one worker; restart it, with a growing delay, whenever it dies."""
        loop = asyncio.get_running_loop()
        deaths = 0
        while True:
            process = self.processes[number]
            since = loop.time()
            code = await process.wait()
            self._close_lifeline(number)
            if self.stopping.is_set():
                return
            deaths = 1 if loop.time() - since >= self.plan.restart.stable_after else deaths + 1
            delay = self.plan.restart.delay(deaths)
            log.warning("worker %d (pid %d) died (%s); restarting it in %.0f s", number,
                        process.pid, _exit_text(code), delay)
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), timeout=delay)
                if self.stopping.is_set():
                    return
                if await self._start(number):
                    break
                if self.stopping.is_set():
                    return
                deaths += 1
                delay = self.plan.restart.delay(deaths)
                failed = self.processes[number]
                log.error("worker %d (pid %d) could not start again (%s); next try in %.0f s",
                          number, failed.pid, _exit_text(failed.returncode), delay)

    def _close_lifeline(self, number: int) -> None:
        channel = self.lifelines.pop(number, None)
        if channel is not None:
            channel.close()

    async def _stop_all(self) -> None:
        await asyncio.gather(*(self._terminate(p) for p in self.processes.values()))
        for number in list(self.lifelines):
            self._close_lifeline(number)
        log.info("all workers stopped")

    async def _terminate(self, process: asyncio.subprocess.Process) -> None:
        if process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout=self.plan.stop_timeout)
        except TimeoutError:
            log.error("worker pid %d did not stop within %.0f s: killed", process.pid,
                      self.plan.stop_timeout)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


def _exit_text(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


def supervise(plan: WorkerPlan) -> int:
    """Run the workers until SIGTERM/SIGINT; the exit code for `orderbot serve`."""
    return asyncio.run(Supervisor(plan).run())
