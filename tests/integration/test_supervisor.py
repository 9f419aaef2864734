"""The `--workers` supervisor (bot.workers) driving small stand-in workers: real processes that
speak its socketpair protocol in a few lines, so restarts and failed starts are quick to test.
The real server as a worker is tests/e2e/test_workers.py."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from pathlib import Path

import pytest

from bot.workers import RestartPolicy, Supervisor, WorkerPlan, port_problem, sqlite_warning

# A worker: wait for "go", say "ready", then run until SIGTERM, until the file named in argv[1]
# says "die <number>", or until its supervisor goes away. It records each start and each
# "ready" next to that file; worker N exits with code 3 at once when control.refuse says N.
FAKE_WORKER = """
import os, select, signal, socket, sys
args = sys.argv[2:]
number = args[args.index("--worker-number") + 1]
channel = socket.socket(fileno=int(args[args.index("--worker-channel") + 1]))
control = sys.argv[1]
if os.path.exists(control + ".refuse") and open(control + ".refuse").read() == number:
    sys.exit(3)
with open(control + ".starts", "a") as starts:
    starts.write(number + "\\n")
assert channel.recv(3) == b"go\\n"
channel.sendall(b"ready\\n")
with open(control + ".starts", "a") as starts:
    starts.write("ready" + number + "\\n")
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
while True:
    if select.select([channel], [], [], 0.02)[0] and not channel.recv(16):
        sys.exit(0)  # the lifeline: the supervisor is gone (a test run cut short)
    if os.path.exists(control) and open(control).read() == "die " + number:
        os.remove(control)
        sys.exit(1)
"""

QUICK = RestartPolicy(first_delay=0.05, max_delay=0.2, stable_after=60.0)


def plan(tmp_path: Path, workers: int = 2) -> WorkerPlan:
    return WorkerPlan(workers=workers, host="127.0.0.1", port=0,
                      command=(sys.executable, "-c", FAKE_WORKER, str(tmp_path / "control"),
                               "serve"),
                      restart=QUICK, start_timeout=20.0, stop_timeout=5.0)


def starts(tmp_path: Path) -> list[str]:
    path = tmp_path / "control.starts"
    return path.read_text().split() if path.exists() else []


async def until(condition: object, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_worker_that_dies_is_started_again_and_sigterm_stops_all(
    tmp_path: Path,
) -> None:
    supervisor = Supervisor(plan(tmp_path))
    running = asyncio.create_task(supervisor.run())
    await until(lambda: len(supervisor.lifelines) == 2)
    first_pid = supervisor.processes[2].pid

    (tmp_path / "control").write_text("die 2")
    await until(lambda: supervisor.processes[2].pid != first_pid
                and 2 in supervisor.lifelines)
    assert sorted(starts(tmp_path)) == ["1", "2", "2", "ready1", "ready2", "ready2"]

    supervisor._stop_requested(signal.SIGTERM)  # what the SIGTERM handler does
    assert await asyncio.wait_for(running, timeout=10) == 0
    assert all(process.returncode == 0 for process in supervisor.processes.values())


async def test_a_worker_that_cannot_start_ends_the_supervisor_without_retrying(
    tmp_path: Path,
) -> None:
    (tmp_path / "control.refuse").write_text("1")
    supervisor = Supervisor(plan(tmp_path))
    assert await asyncio.wait_for(supervisor.run(), timeout=20) == 3  # the worker's own code
    # Worker 2 waited for its turn (after worker 1 serves), never got it, and was stopped;
    # worker 1 was not tried again.
    assert "ready2" not in starts(tmp_path)
    assert all(p.returncode is not None for p in supervisor.processes.values())


async def test_the_supervisor_going_away_closes_every_lifeline(tmp_path: Path) -> None:
    supervisor = Supervisor(plan(tmp_path, workers=1))
    running = asyncio.create_task(supervisor.run())
    await until(lambda: 1 in supervisor.lifelines)
    lifeline = supervisor.lifelines[1]
    supervisor._stop_requested(signal.SIGINT)
    assert await asyncio.wait_for(running, timeout=10) == 0
    assert lifeline.fileno() == -1  # closed: a worker still running would read end-of-file


def test_restart_delays_double_up_to_a_cap() -> None:
    policy = RestartPolicy(first_delay=1.0, max_delay=30.0)
    assert [policy.delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_several_workers_on_sqlite_are_allowed_with_a_warning() -> None:
    assert "PostgreSQL" in (sqlite_warning("sqlite:///orderbot.db", 2) or "")
    assert sqlite_warning("sqlite+aiosqlite:///x.db", 1) is None
    assert sqlite_warning("postgresql+psycopg://u@h/db", 4) is None


def test_a_port_another_program_listens_on_is_refused_up_front() -> None:
    with socket.create_server(("127.0.0.1", 0)) as other:
        port = other.getsockname()[1]
        problem = port_problem("127.0.0.1", port)
    assert problem is not None and str(port) in problem
    if not hasattr(socket, "SO_REUSEPORT"):
        pytest.skip("no SO_REUSEPORT here")
    assert port_problem("127.0.0.1", port) is None  # free again
