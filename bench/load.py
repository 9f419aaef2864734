"""Load benchmark (issue 6, "Load and chaos"): signed webhooks at rising rates against a real
`orderbot serve` process, with the local WhatsApp emulator answering its sends.

Three processes: this one (the load generator, aiohttp with a connection pool), the server
(`orderbot serve`, configured only by its documented environment variables) and the emulator
(`orderbot emulator`). Every message comes from a customer not seen before, with an order text
from fixtures/parsing/restaurant.tune.yaml, so each message is exactly one turn with one
unambiguous answer. Per rate it prints:

- offered and sent rate, and accepted messages/s (HTTP 200s over the time to the last 200);
  above 600 messages/s the sending is shared by several generator processes (--senders), as
  one aiohttp client process cannot offer much more than 1,000 signed POSTs a second;
- ack latency p50/p99: from the moment a webhook was due to be sent until its 200 arrived
  (measured from the schedule, so a backlog in the client pool counts too);
- end-to-end turn latency p50/p99: webhook due -> first reply to that customer recorded by
  the emulator (its `received_at`, millisecond resolution, same machine clock);
- turns/s: replies seen over the time from the first send to the last reply;
- errors (non-200 answers and failed requests) and how many messages had no reply within the
  reply timeout.

The quiet window (ORDERBOT_MERGE_WINDOW_SECONDS, 2 s by default) adds itself to every turn, so
the benchmark runs with a small one (0.05 s unless --merge-window says otherwise).

    .venv/bin/python bench/load.py                  # SQLite file, the full rate ladder
    .venv/bin/python bench/load.py --postgres       # fresh database on 127.0.0.1:5432
    .venv/bin/python bench/load.py --quick          # a smoke run of a few seconds
    .venv/bin/python bench/load.py --rates 100,200 --duration 10 --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import json
import math
import multiprocessing
import os
import platform
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import aiohttp
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ports import child_port
from bot import fake_customer

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "fixtures" / "catalog" / "restaurant.yaml"
TEXTS = ROOT / "fixtures" / "parsing" / "restaurant.tune.yaml"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"

APP_SECRET = "load-bench-app-secret"
VERIFY_TOKEN = "load-bench-verify"
ACCESS_TOKEN = "load-bench-access-token"
PHONE_NUMBER_ID = "106540352242922"

FULL_RATES = (50, 100, 200, 400, 800, 1000)
QUICK_RATES = (20, 50)
SENDER_RATE = 600  # messages/s one sending process is asked to offer (see SenderPool)
STUCK_SECONDS = 20.0  # settling gives up after this long without a new answer or a change
POLL_SECONDS = 0.1  # emulator polling; latency comes from its timestamps, not from this


@dataclass
class Result:
    """One run at one rate. Latencies in milliseconds."""

    rate: float
    duration: float
    sent: int = 0
    send_rate: float = 0.0  # what the generator actually managed
    accepted: int = 0
    accepted_rate: float = 0.0
    ack_ms: list[float] = field(default_factory=list)
    e2e_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    no_reply: int = 0
    turns_rate: float = 0.0
    drain_s: float = math.inf  # last send -> every message answered (inf: not within settle)
    server_cpu: float = 0.0  # server CPU seconds per wall second while sending (1.0 = a core)
    # Server CPU from the first send until every answer was in, per answered message: unlike
    # the latencies, hardly moved by other work on the machine.
    cpu_ms_per_message: float = math.nan
    server_rss_mb: float = 0.0  # the server's peak resident memory during the step
    stored_ms: list[float] = field(default_factory=list)  # stored -> processed (server clock)
    queued_ms: list[float] = field(default_factory=list)  # reply queued -> sent (server clock)


@dataclass(frozen=True)
class Row:
    """What is printed for one rate (medians over runs)."""

    rate: float
    send_rate: float
    accepted_rate: float
    ack_p50: float
    ack_p99: float
    e2e_p50: float
    e2e_p99: float
    turns_rate: float
    errors: float
    no_reply: float
    sent: float
    drain_s: float
    server_cpu: float
    cpu_ms_per_message: float
    server_rss_mb: float
    stored_p50: float
    stored_p99: float
    queued_p50: float
    queued_p99: float
    error_kinds: dict[str, int]


def percentile(samples: list[float], share: float) -> float:
    if not samples:
        return math.nan
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summarise(rate: float, runs: list[Result]) -> Row:
    def median(values: list[float]) -> float:
        return statistics.median(values)

    def p(name: str, share: float) -> float:
        return median([percentile(getattr(r, name), share) for r in runs])

    kinds: Counter[str] = Counter()
    for run in runs:
        kinds.update(run.errors)
    return Row(
        rate=rate,
        send_rate=median([r.send_rate for r in runs]),
        accepted_rate=median([r.accepted_rate for r in runs]),
        ack_p50=p("ack_ms", 0.50), ack_p99=p("ack_ms", 0.99),
        e2e_p50=p("e2e_ms", 0.50), e2e_p99=p("e2e_ms", 0.99),
        turns_rate=median([r.turns_rate for r in runs]),
        errors=median([float(sum(r.errors.values())) for r in runs]),
        no_reply=median([float(r.no_reply) for r in runs]),
        sent=median([float(r.sent) for r in runs]),
        drain_s=median([r.drain_s for r in runs]),
        server_cpu=median([r.server_cpu for r in runs]),
        cpu_ms_per_message=median([r.cpu_ms_per_message for r in runs]),
        server_rss_mb=max(r.server_rss_mb for r in runs),
        stored_p50=p("stored_ms", 0.50), stored_p99=p("stored_ms", 0.99),
        queued_p50=p("queued_ms", 0.50), queued_p99=p("queued_ms", 0.99),
        error_kinds=dict(kinds),
    )


# --- the processes under test ------------------------------------------------------------------


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """This environment without any orderbot/WhatsApp settings, plus the benchmark's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERBOT_", "WHATSAPP_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env | extra


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str], cwd: Path, log: IO[bytes]
            ) -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen([sys.executable, "-m", "bot.cli", *args], env=env, cwd=cwd,
                             stdout=log, stderr=subprocess.STDOUT)
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@contextlib.contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh database for this run (dropped afterwards), so runs never see each other."""
    import psycopg  # noqa: PLC0415  (only the --postgres run needs the driver)

    name = f"orderbot_load_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def wait_until_up(http: aiohttp.ClientSession, url: str, child: subprocess.Popen[bytes],
                        log_path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"load: {url} did not start:\n{log_path.read_text()[-3000:]}")
        with contextlib.suppress(aiohttp.ClientError):
            async with http.get(url) as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.1)
    raise SystemExit(f"load: {url} not up after {timeout:.0f} s:\n{log_path.read_text()[-3000:]}")


class Database:
    """A read-only look at the server's tables: its backlog, and when each message was
    stored, processed and answered (the server's own timestamps), to show where time goes."""

    def __init__(self, url: str) -> None:
        self._url = url  # the SQLAlchemy-style URL the server was given
        self._inbound_mark = 0
        self._outbox_mark = 0

    def _rows(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        if self._url.startswith("sqlite"):
            path = self._url.split(":///", 1)[1]
            with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True,
                                                    timeout=30)) as connection:
                return connection.execute(sql.replace("%s", "?"), params).fetchall()
        import psycopg  # noqa: PLC0415  (only the --postgres run needs the driver)

        url = self._url.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(url, autocommit=True) as connection:
            return connection.execute(sql, params).fetchall()

    async def backlog(self) -> int:
        """Messages not yet processed plus deliveries not yet made."""
        rows = await asyncio.to_thread(
            self._rows, "SELECT (SELECT count(*) FROM inbound_message WHERE state = 'pending')"
                        " + (SELECT count(*) FROM outbox WHERE state = 'pending')")
        return int(rows[0][0])

    async def mark(self) -> None:
        """From now on, stages() looks only at rows added after this point."""
        rows = await asyncio.to_thread(
            self._rows, "SELECT (SELECT coalesce(max(id), 0) FROM inbound_message),"
                        " (SELECT coalesce(max(id), 0) FROM outbox)")
        self._inbound_mark, self._outbox_mark = int(rows[0][0]), int(rows[0][1])

    async def stages(self) -> tuple[list[float], list[float]]:
        """Milliseconds from stored to processed for each message since mark(), and from
        queued to sent for each first reply."""
        stored = await asyncio.to_thread(
            self._rows, "SELECT received_at, processed_at FROM inbound_message"
                        " WHERE id > %s AND processed_at IS NOT NULL", self._inbound_mark)
        queued = await asyncio.to_thread(
            self._rows, "SELECT created_at, sent_at FROM outbox WHERE id > %s"
                        " AND key LIKE 'reply:%%:0' AND sent_at IS NOT NULL", self._outbox_mark)
        return ([_span_ms(a, b) for a, b in stored], [_span_ms(a, b) for a, b in queued])


def _span_ms(start: datetime | str, end: datetime | str) -> float:
    # SQLite hands datetimes back as text; both columns were written by the same clock.
    begin = datetime.fromisoformat(start) if isinstance(start, str) else start
    finish = datetime.fromisoformat(end) if isinstance(end, str) else end
    return (finish - begin).total_seconds() * 1000


def rss_mb(pids: list[int]) -> float:
    """Resident memory of the processes, in MB (Linux /proc; 0 elsewhere)."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
    return total


class ServerFailed(Exception):
    """The server died or outgrew the memory limit; the run cannot go on."""


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU the processes have used so far (Linux /proc; 0 elsewhere)."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            # Fields after the ")" that ends the command name: utime and stime are 12 and 13.
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


# --- the load ----------------------------------------------------------------------------------


class Replies:
    """Follows the emulator's message log and times the first reply to each customer."""

    def __init__(self, http: aiohttp.ClientSession, emulator_url: str) -> None:
        self._http = http
        self._url = emulator_url
        self._after = 0
        self.due: dict[str, float] = {}  # customer -> wall time their message was due
        self.answered: dict[str, float] = {}  # customer -> wall time of the first reply
        self.acked: set[str] = set()  # customers whose webhook got a 200
        self._stopping = asyncio.Event()

    def outstanding(self) -> int:
        """Acknowledged messages without an answer yet (an unacknowledged one is Meta's to
        deliver again, so it is counted as an error, not waited for)."""
        return len(self.acked.difference(self.answered))

    async def follow(self) -> None:
        while not self._stopping.is_set():
            await self.poll()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), POLL_SECONDS)

    async def poll(self) -> int:
        """Read new emulator messages; returns how many were new."""
        try:
            async with self._http.get(f"{self._url}/_emulator/messages",
                                      params={"after": str(self._after)}) as response:
                body: dict[str, Any] = await response.json()
        except (aiohttp.ClientError, TimeoutError):
            return 0  # a busy machine: the next poll catches up (times come from the emulator)
        entries: list[dict[str, Any]] = body["messages"]
        for entry in entries:
            self._after = max(self._after, int(entry["seq"]))
            to = str(entry["to"])
            if to in self.due and to not in self.answered:
                self.answered[to] = datetime.fromisoformat(entry["received_at"]).timestamp()
        return len(entries)

    def stop(self) -> None:
        self._stopping.set()

    async def reset(self) -> None:
        # The emulator's listing scans all it holds: keep it small between steps.
        async with self._http.post(f"{self._url}/_emulator/reset") as response:
            response.raise_for_status()


class Load:
    def __init__(self, http: aiohttp.ClientSession, webhook_urls: list[str], emulator_url: str,
                 *, database: Database, servers: list[subprocess.Popen[bytes]],
                 texts: list[str], seed: int, max_rss_mb: float,
                 senders: SenderPool | None = None) -> None:
        self._http = http
        self._senders = senders  # worker processes for high rates; None: send from here
        self._servers = servers
        self._pids = [server.pid for server in servers]
        self._max_rss_mb = max_rss_mb
        self._failure = ""
        self._urls = webhook_urls
        self._emulator_url = emulator_url
        self._db = database
        self._texts = texts
        self._rng = random.Random(seed)
        self._customers = 0

    def _bodies(self, count: int) -> list[tuple[str, bytes, dict[str, str]]]:
        """Signed bodies built before the clock starts, so signing does not slow the sender."""
        bodies = []
        for _ in range(count):
            self._customers += 1
            phone = f"1999{self._customers:08d}"
            message = fake_customer.text_message(phone, self._rng.choice(self._texts))
            body = fake_customer.envelope(message, phone, f"Load Customer {self._customers}",
                                          PHONE_NUMBER_ID)
            bodies.append((phone, body, fake_customer.signed_headers(body, APP_SECRET)))
        return bodies

    async def step(self, rate: float, duration: float, reply_timeout: float,
                   settle_timeout: float) -> Result:
        result = Result(rate=rate, duration=duration)
        await self._db.mark()
        replies = Replies(self._http, self._emulator_url)
        follower = asyncio.create_task(replies.follow())
        watch = asyncio.create_task(self._watch(result))
        bodies = self._bodies(max(1, round(rate * duration)))
        cpu_before, clock_before = cpu_seconds(self._pids), time.monotonic()
        if self._senders is not None and self._senders.wanted(rate) > 1:
            wall_start = await self._senders.offer(result, replies, bodies, self._urls)
        else:
            wall_start = await self._offer(result, replies, bodies)
        result.server_cpu = ((cpu_seconds(self._pids) - cpu_before)
                             / (time.monotonic() - clock_before))
        # Each message gets reply_timeout from when it was due.
        last_due = max(replies.due.values())
        while replies.outstanding() and time.time() < last_due + reply_timeout:
            self._check()
            await asyncio.sleep(POLL_SECONDS)
        replies.stop()
        await follower
        await self._settle(replies, settle_timeout)
        if replies.answered:
            result.cpu_ms_per_message = ((cpu_seconds(self._pids) - cpu_before) * 1000
                                         / len(replies.answered))
        watch.cancel()

        for phone, due in replies.due.items():
            answered = replies.answered.get(phone)
            if phone in replies.acked and (answered is None or answered - due > reply_timeout):
                result.no_reply += 1
            if answered is not None:  # late answers too: the true latency under overload
                result.e2e_ms.append(max(0.0, answered - due) * 1000)
        if replies.answered:
            last_answer = max(replies.answered.values())
            result.turns_rate = len(replies.answered) / max(last_answer - wall_start, 1 / rate)
            if not replies.outstanding():
                result.drain_s = max(0.0, last_answer - last_due)
        result.stored_ms, result.queued_ms = await self._db.stages()
        await replies.reset()
        return result

    async def _offer(self, result: Result, replies: Replies,
                     bodies: list[tuple[str, bytes, dict[str, str]]]) -> float:
        """Send the bodies evenly spaced at result.rate (open loop: a slow answer does not delay
        the next send); fills the send and ack figures, returns the wall time of the first."""
        loop = asyncio.get_running_loop()
        acked: list[float] = []  # loop time of each 200

        async def send(index: int, due: float) -> None:
            phone, body, headers = bodies[index]
            url = self._urls[index % len(self._urls)]
            try:
                async with self._http.post(url, data=body, headers=headers) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as error:
                result.errors[type(error).__name__] += 1
                return
            now = loop.time()
            if status == 200:
                acked.append(now)
                replies.acked.add(phone)
                result.ack_ms.append((now - due) * 1000)
            else:
                result.errors[f"HTTP {status}"] += 1

        rate = result.rate
        start = loop.time() + 0.05
        wall_start = time.time() + (start - loop.time())
        tasks = []
        for index, (phone, _, _) in enumerate(bodies):
            due = start + index / rate
            if (delay := due - loop.time()) > 0:
                await asyncio.sleep(delay)
            replies.due[phone] = wall_start + (due - start)
            tasks.append(asyncio.create_task(send(index, due)))
        last_started = loop.time()
        await asyncio.gather(*tasks)
        result.sent = len(bodies)
        result.send_rate = len(bodies) / max(last_started - start, 1 / rate)
        result.accepted = len(acked)
        if acked:
            result.accepted_rate = len(acked) / max(max(acked) - start, 1 / rate)
        return wall_start

    async def _watch(self, result: Result) -> None:
        """Track the server's memory; stop it before it can take the machine down with it."""
        while True:
            rss = rss_mb(self._pids)
            result.server_rss_mb = max(result.server_rss_mb, rss)
            if rss > self._max_rss_mb:
                self._failure = (f"the server used {rss:.0f} MB (limit {self._max_rss_mb:.0f} MB,"
                                 " --max-server-rss-mb) at an offered rate of"
                                 f" {result.rate:g} messages/s; it was stopped")
                for server in self._servers:
                    server.kill()
                return
            await asyncio.sleep(0.25)

    def _check(self) -> None:
        if not self._failure:
            for server in self._servers:
                if server.poll() is not None:
                    self._failure = f"a server exited (code {server.returncode}) during the run"
        if self._failure:
            raise ServerFailed(self._failure)

    async def _settle(self, replies: Replies, settle_timeout: float) -> None:
        """Wait until every acknowledged message is answered and the server has no backlog,
        so that late answers are counted and the next rate starts from an idle server. Gives up
        after settle_timeout, or after STUCK_SECONDS without any progress (a message the server
        will not process until it restarts must not stall the benchmark)."""
        deadline = time.monotonic() + settle_timeout
        progress: tuple[int, int] = (-1, -1)
        progressed_at = time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - progressed_at < STUCK_SECONDS:
            self._check()
            await replies.poll()
            backlog = await self._db.backlog()
            if not replies.outstanding() and not backlog:
                return
            if (len(replies.answered), backlog) != progress:
                progress, progressed_at = (len(replies.answered), backlog), time.monotonic()
            await asyncio.sleep(0.25)


class SenderPool:
    """Worker processes that share the sending at high rates: one aiohttp client process tops
    out around 1,000 signed POSTs a second on this kind of machine, so above SENDER_RATE
    messages/s the schedule is dealt out round-robin to ceil(rate / SENDER_RATE) processes.
    Each keeps the same open-loop schedule (wall-clock due times) and reports its answers."""

    def __init__(self, workers: int, connections: int) -> None:
        self._max = workers
        self._connections = connections
        # spawn: a fork of a process with a running event loop is not safe.
        self._pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"))

    async def start(self) -> None:
        """Start every worker now (a spawned process takes a second to import), so the first
        step's schedule is not late. Sleeping tasks keep each on its own process."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self._pool, time.sleep, 1.0)
                               for _ in range(self._max)))

    def wanted(self, rate: float) -> int:
        return min(self._max, math.ceil(rate / SENDER_RATE))

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)

    async def offer(self, result: Result, replies: Replies,
                    bodies: list[tuple[str, bytes, dict[str, str]]], urls: list[str]) -> float:
        loop = asyncio.get_running_loop()
        workers = self.wanted(result.rate)
        # Time for the workers to be handed their share before the first message is due.
        wall_start = time.time() + 0.5
        for index, (phone, _, _) in enumerate(bodies):
            replies.due[phone] = wall_start + index / result.rate
        shares = [[(index, urls[index % len(urls)], body, headers, wall_start + index / result.rate)
                   for index, (_, body, headers) in enumerate(bodies) if index % workers == n]
                  for n in range(workers)]
        connections = max(1, self._connections // workers)
        answers = await asyncio.gather(*(
            loop.run_in_executor(self._pool, send_share, share, connections)
            for share in shares))
        acked: list[float] = []
        last_started = wall_start
        for share_answers, started in answers:
            last_started = max(last_started, started)
            for index, outcome, at in share_answers:
                phone = bodies[index][0]
                if outcome == "200":
                    acked.append(at)
                    replies.acked.add(phone)
                    result.ack_ms.append((at - replies.due[phone]) * 1000)
                elif outcome.isdigit():
                    result.errors[f"HTTP {outcome}"] += 1
                else:
                    result.errors[outcome] += 1
        result.sent = len(bodies)
        result.send_rate = len(bodies) / max(last_started - wall_start, 1 / result.rate)
        result.accepted = len(acked)
        if acked:
            result.accepted_rate = len(acked) / max(max(acked) - wall_start, 1 / result.rate)
        return wall_start


def send_share(share: list[tuple[int, str, bytes, dict[str, str], float]], connections: int
               ) -> tuple[list[tuple[int, str, float]], float]:
    """In a worker process: POST each body at its wall-clock due time. Returns (index, "200" /
    another status / an error name, wall time of the answer) per body, and when the last send
    started."""
    return asyncio.run(_send_share(share, connections))


async def _send_share(share: list[tuple[int, str, bytes, dict[str, str], float]],
                      connections: int) -> tuple[list[tuple[int, str, float]], float]:
    loop = asyncio.get_running_loop()
    answers: list[tuple[int, str, float]] = []
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=30)) as http:
        async def send(index: int, url: str, body: bytes, headers: dict[str, str]) -> None:
            try:
                async with http.post(url, data=body, headers=headers) as response:
                    await response.read()
                    answers.append((index, str(response.status), time.time()))
            except (aiohttp.ClientError, TimeoutError) as error:
                answers.append((index, type(error).__name__, time.time()))

        offset = loop.time() - time.time()  # wall due time -> this loop's clock
        tasks = []
        for index, url, body, headers, due in share:
            if (delay := due + offset - loop.time()) > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(index, url, body, headers)))
        last_started = time.time()
        await asyncio.gather(*tasks)
    return answers, last_started


# --- running it --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    rates: list[float]
    duration: float
    runs: int
    merge_window: float
    reply_timeout: float
    settle_timeout: float
    connections: int
    senders: int  # most sending processes (SenderPool); 1: everything from this process
    servers: int
    postgres: str | None  # admin URL, or None for SQLite
    seed: int
    max_rss_mb: float


def load_texts() -> list[str]:
    items: list[dict[str, Any]] = yaml.safe_load(TEXTS.read_text())
    return [str(item["text"]) for item in items]


async def run(plan: Plan, workdir: Path) -> tuple[list[Row], dict[str, str]]:
    with contextlib.ExitStack() as stack:
        if plan.postgres is not None:
            database_url = stack.enter_context(postgres_database(plan.postgres))
        else:
            database_url = f"sqlite:///{workdir / 'load.db'}"
        emulator_port = child_port()
        emulator_url = f"http://127.0.0.1:{emulator_port}"
        emulator_log_path = workdir / "emulator.log"
        emulator_log = stack.enter_context(emulator_log_path.open("wb"))
        emulator = stack.enter_context(process(
            ["emulator", "--port", str(emulator_port)],
            child_env({"WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
                       "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID}),
            workdir, emulator_log))
        settings = {
            "ORDERBOT_DATABASE_URL": database_url,
            "ORDERBOT_CATALOG": str(CATALOG),
            "ORDERBOT_MERGE_WINDOW_SECONDS": str(plan.merge_window),
            "WHATSAPP_APP_SECRET": APP_SECRET,
            "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
            "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
            "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "WHATSAPP_API_BASE_URL": f"{emulator_url}/v23.0",
        }
        servers = []
        for index in range(plan.servers):
            port = child_port()
            log_path = workdir / f"server{index}.log"
            log = stack.enter_context(log_path.open("wb"))
            child = stack.enter_context(process(
                ["serve"],
                child_env(settings | {"ORDERBOT_HOST": "127.0.0.1", "ORDERBOT_PORT": str(port)}),
                workdir, log))
            servers.append((f"http://127.0.0.1:{port}", child, log_path))
            if index == 0 and plan.servers > 1:
                # The first one creates the tables; two racing create_all calls could clash.
                async with aiohttp.ClientSession() as probe:
                    await wait_until_up(probe, f"http://127.0.0.1:{port}/healthz", child,
                                        log_path)

        senders = None
        if plan.senders > 1 and max(plan.rates) > SENDER_RATE:
            senders = SenderPool(plan.senders, plan.connections)
            stack.callback(senders.close)
            await senders.start()
        connector = aiohttp.TCPConnector(limit=plan.connections)
        timeout = aiohttp.ClientTimeout(total=max(10.0, plan.reply_timeout))
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            await wait_until_up(http, f"{emulator_url}/_emulator/reads", emulator,
                                emulator_log_path)
            for url, child, log_path in servers:
                await wait_until_up(http, f"{url}/healthz", child, log_path)
            load = Load(http, [f"{url}/webhook" for url, _, _ in servers], emulator_url,
                        database=Database(database_url),
                        servers=[child for _, child, _ in servers],
                        texts=load_texts(), seed=plan.seed, max_rss_mb=plan.max_rss_mb,
                        senders=senders)
            # Warm-up: connections, the parser's caches and the database files.
            await load.step(10, 1.0, reply_timeout=20.0, settle_timeout=20.0)
            rows = []
            failure = ""
            try:
                for rate in plan.rates:
                    runs = [await load.step(rate, plan.duration, plan.reply_timeout,
                                            plan.settle_timeout) for _ in range(plan.runs)]
                    rows.append(summarise(rate, runs))
                    print_row(rows[-1])
            except ServerFailed as error:
                failure = str(error)
                print(f"load: stopped: {failure}. The end of the server's log:", flush=True)
                for _, _, log_path in servers:
                    print("\n".join(log_path.read_text(errors="replace").splitlines()[-15:]))
        return rows, {"database": redact(database_url), "failure": failure}


def redact(url: str) -> str:
    return url.split("@", 1)[-1] if "@" in url else url


HEADER = (f"{'offered':>7} {'sent/s':>6} {'acc/s':>6} {'ack p50':>8} {'ack p99':>8} "
          f"{'e2e p50':>8} {'e2e p99':>8} {'turns/s':>7} {'errors':>6} {'no reply':>8} "
          f"{'drain':>6} {'srv CPU':>7} {'ms/msg':>6} {'srv MB':>6}")
STAGES_HEADER = (f"{'offered':>7} {'stored->processed p50':>22} {'p99':>8} "
                 f"{'reply queued->sent p50':>23} {'p99':>8}")


def ms(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:.1f}ms" if value < 100 else f"{value:.0f}ms"


def print_row(row: Row) -> None:
    drain = f"{row.drain_s:.1f}s" if math.isfinite(row.drain_s) else "never"
    print(f"{row.rate:>7.0f} {row.send_rate:>6.0f} {row.accepted_rate:>6.0f} "
          f"{ms(row.ack_p50):>8} {ms(row.ack_p99):>8} {ms(row.e2e_p50):>8} {ms(row.e2e_p99):>8} "
          f"{row.turns_rate:>7.0f} {row.errors:>6.0f} {row.no_reply:>8.0f} {drain:>6} "
          f"{row.server_cpu:>7.0%} {row.cpu_ms_per_message:>6.1f} {row.server_rss_mb:>6.0f}",
          flush=True)
    if row.error_kinds:
        print(f"{'':>7} errors: " + ", ".join(f"{k} x{v}" for k, v in row.error_kinds.items()),
              flush=True)


def print_stages(rows: list[Row]) -> None:
    print("\nwhere the time goes (server timestamps): stored = webhook row written, processed ="
          " turn committed (includes the merge window), queued -> sent = the first reply in"
          " the outbox until the emulator accepted it")
    print(STAGES_HEADER)
    for row in rows:
        print(f"{row.rate:>7.0f} {ms(row.stored_p50):>22} {ms(row.stored_p99):>8} "
              f"{ms(row.queued_p50):>23} {ms(row.queued_p99):>8}")


def machine() -> str:
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, "
            f"aiohttp {aiohttp.__version__}")


def parse_args(argv: list[str] | None) -> tuple[Plan, Path | None, Path | None]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run of a few seconds (rates 20,50 for 1.5 s each)")
    parser.add_argument("--rates", help="comma-separated target messages/s "
                        f"(default {','.join(map(str, FULL_RATES))})")
    parser.add_argument("--duration", type=float, help="seconds per rate (default 5)")
    parser.add_argument("--runs", type=int, default=1, help="runs per rate; medians are printed")
    parser.add_argument("--merge-window", type=float, default=0.05,
                        help="ORDERBOT_MERGE_WINDOW_SECONDS for the server (default 0.05)")
    parser.add_argument("--reply-timeout", type=float, default=10.0,
                        help="a message without a reply this long after it was sent counts as"
                             " unanswered (default 10 s)")
    parser.add_argument("--settle-timeout", type=float, default=300.0,
                        help="how long to let the server catch up between rates (default 300 s)")
    parser.add_argument("--connections", type=int, default=256,
                        help="client connection pool size (default 256)")
    parser.add_argument("--senders", type=int, default=4,
                        help="most load-generating processes: above "
                        f"{SENDER_RATE} messages/s the sending is shared by ceil(rate / "
                        f"{SENDER_RATE}) of them (default 4; 1: all from one process)")
    parser.add_argument("--servers", type=int, default=1,
                        help="`orderbot serve` processes sharing the database (default 1)")
    parser.add_argument("--postgres", nargs="?", const=PG_ADMIN_URL, default=None,
                        metavar="ADMIN_URL", help="use PostgreSQL: a fresh database is created"
                        f" through ADMIN_URL (default {PG_ADMIN_URL}) and dropped afterwards")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--max-server-rss-mb", type=float, default=2000.0,
                        help="stop the run if a server's memory grows past this (default 2000)")
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    parser.add_argument("--workdir", type=Path, help="keep the database and the server and "
                        "emulator logs in this folder (default: a temporary one, removed)")
    args = parser.parse_args(argv)
    if args.rates:
        rates = [float(part) for part in args.rates.split(",") if part.strip()]
    else:
        rates = list(QUICK_RATES if args.quick else FULL_RATES)
    duration = args.duration or (1.5 if args.quick else 5.0)
    if (not rates or min(rates) <= 0 or duration <= 0 or args.runs < 1 or args.servers < 1
            or args.senders < 1):
        parser.error("rates, --duration, --runs, --senders and --servers must be positive")
    plan = Plan(rates=rates, duration=duration, runs=args.runs, merge_window=args.merge_window,
                reply_timeout=min(args.reply_timeout, 5.0) if args.quick else args.reply_timeout,
                settle_timeout=min(args.settle_timeout, 10.0) if args.quick
                else args.settle_timeout,
                connections=args.connections, senders=args.senders, servers=args.servers,
                postgres=args.postgres,
                seed=args.seed, max_rss_mb=args.max_server_rss_mb)
    return plan, args.json, args.workdir


def main(argv: list[str] | None = None) -> int:
    # A plain SIGTERM would skip the clean-up and leave the server and emulator running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    plan, json_path, workdir = parse_args(argv)
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f} at the start (other"
          " processes on this machine compete with the benchmark for the cores)")
    database = "PostgreSQL (fresh database)" if plan.postgres else "SQLite (fresh file)"
    print(f"settings: {database}, {plan.servers} server process(es), merge window "
          f"{plan.merge_window:g} s (ORDERBOT_MERGE_WINDOW_SECONDS), {plan.duration:g} s per rate"
          f", {plan.runs} run(s) per rate (medians), pool of {plan.connections} connections, "
          f"reply timeout {plan.reply_timeout:g} s, one new customer per message, "
          "emulator and generator in their own processes (the generator in up to "
          f"{plan.senders} above {SENDER_RATE} messages/s)")
    print("acc/s = HTTP 200s per second; ack = webhook due -> its 200; e2e = webhook due -> first"
          " reply at the emulator (late ones included); turns/s = answers per second until the"
          " last one; no reply = acknowledged but not answered within the reply timeout;"
          " drain = last send -> last answer (never: some acknowledged message was not answered);"
          " srv CPU = server CPU while sending (100% = one core); ms/msg = server CPU from the"
          " first send until the last answer, per answered message (little moved by other work"
          " on the machine); srv MB = peak server memory")
    print(HEADER, flush=True)
    with contextlib.ExitStack() as stack:
        if workdir is None:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="orderbot-load-"))
            workdir = Path(tmp)
        else:
            workdir.mkdir(parents=True, exist_ok=True)
            for name in ("load.db", "load.db-wal", "load.db-shm"):  # a fresh database every run
                (workdir / name).unlink(missing_ok=True)
        rows, facts = asyncio.run(run(plan, workdir))
    print_stages(rows)
    if json_path is not None:
        json_path.write_text(json.dumps({"machine": machine(), "plan": asdict(plan),
                                         **facts, "rows": [asdict(r) for r in rows]}, indent=2))
    return 3 if facts["failure"] else 0


if __name__ == "__main__":
    sys.exit(main())
