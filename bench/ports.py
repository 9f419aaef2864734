"""Ports for tests and benchmarks: one a child process will listen on, one that refuses
connections.

A port probed with bind(0) and closed is up for grabs again until the child binds it: any
outgoing connection may take it as its source port, any other bind(0) as its own. The kernel
hands out neither kind from outside its ephemeral range, so `child_port` picks from there, each
pytest-xdist worker from its own slice, so that only an explicit bind can race the child. (The
benchmarks use it too: the suite runs their --quick modes, and chaos rebinds its server's port
after every kill.)
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import random
import socket
from collections.abc import Iterator
from pathlib import Path

EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LINUX_DEFAULT_EPHEMERAL = (32768, 60999)
UNPRIVILEGED = range(1024, 65536)
ENOUGH = 1000  # ports a suite run may need, with room for the ones found in use


def _ephemeral() -> tuple[int, int]:
    try:
        low, high = map(int, EPHEMERAL_RANGE.read_text().split())
    except (OSError, ValueError):
        return LINUX_DEFAULT_EPHEMERAL
    return low, high


def _outside_ephemeral() -> range:
    """Above the ephemeral range (61000-65535 by default; services rarely listen up there, many
    do below it), else below it, else everything when the range leaves no room."""
    low, high = _ephemeral()
    above, below = range(high + 1, UNPRIVILEGED.stop), range(UNPRIVILEGED.start, low)
    if len(above) >= ENOUGH:
        return above
    return max(above, below, key=len) or UNPRIVILEGED


@functools.cache
def _this_worker_s_ports() -> range:
    """This xdist worker's share ("gw0", "gw1", ...; all of them without xdist)."""
    ports = _outside_ephemeral()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return ports
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    size = max(1, len(ports) // workers)
    start = int(worker.removeprefix("gw")) % workers * size
    return ports[start:start + size]


# Walked from a random place: another checkout's suite on this machine starts elsewhere in the
# same slice, so the two rarely try the same ports.
_START = random.Random().randrange(UNPRIVILEGED.stop)
_handed_out = itertools.count()


def child_port() -> int:
    """A port on 127.0.0.1 for a child process to listen on, free when handed out and never
    handed out twice by this process (until its share wraps around)."""
    ports = _this_worker_s_ports()
    for _ in ports:
        port = ports[(_START + next(_handed_out)) % len(ports)]
        if _free(port):
            return port
    raise RuntimeError(f"no free port in {ports}")


def _free(port: int) -> bool:
    # Without SO_REUSEADDR (off by default) this fails on a port bound to 0.0.0.0 too, and on
    # one still in TIME_WAIT, which the child (with SO_REUSEADDR) could take but need not.
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A port on 127.0.0.1 where connecting is refused while the block runs: held bound but not
    listening, so no server or outgoing connection can take it meanwhile."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield int(held.getsockname()[1])
