"""Smoke test of bench/chaos.py: customers order while the server is killed -9 and the WhatsApp
emulator and the kitchen fail or stall; nothing acknowledged is lost, nothing is doubled.

Not a timed test. It checks that chaos really happened (a kill, injected faults), so that a run
in which nothing went wrong cannot pass for one that survived, and that the script's own
checks found no violation. Slow by nature: each restart of `orderbot serve` takes seconds, and
a delivery that was in flight at the kill waits for its claim to expire (60 s).
"""

from __future__ import annotations

import re
import subprocess
import sys

from tests.paths import ROOT


def count(out: str, label: str) -> str:
    match = re.search(rf"^{re.escape(label)}: (.*)$", out, re.MULTILINE)
    assert match, f"{label!r} not printed:\n{out}"
    return match.group(1)


def test_quick_chaos_run_kills_injects_faults_and_loses_or_doubles_nothing() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "chaos.py"), "--quick", "--seed", "6"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    out = run.stdout
    assert run.returncode == 0, out + run.stderr
    assert count(out, "violations") == "0"

    kills, restarts = (int(n) for n in count(out, "kills (SIGKILL) and restarts").split(" / "))
    assert kills >= 1 and restarts == kills
    emulator_failures, stalls = count(
        out, "emulator faults injected: failures by code / stalls").split(" / ")
    kitchen_failures, kitchen_stalls = count(
        out, "kitchen faults injected: failures by status / stalls").split(" / ")
    assert emulator_failures != "{}" or stalls != "0"
    assert kitchen_failures != "{}" or kitchen_stalls != "0"

    sent, acked, _ = (int(n) for n in count(
        out, "customer messages / acknowledged / never acknowledged").split(" / "))
    assert sent >= 5 and acked == sent  # Meta-style redelivery got every message in
    done, failed, pending, missing = (int(n) for n in count(
        out, "acknowledged messages: done / failed / pending / missing").split(" / "))
    assert (done + failed, pending, missing) == (acked, 0, 0)
    assert int(count(out, "  outbox rows delivered more than once")) == 0
    orders = int(count(out, "orders in the database"))
    raw, distinct, _ = (int(n) for n in count(
        out, "kitchen tickets received (raw) / distinct orders / distinct keys").split(" / "))
    dead = int(count(out, "  orders whose ticket is a dead letter"))
    assert orders >= 1 and distinct + dead == orders and raw >= distinct
