"""Smoke test of bench/load.py: the load benchmark starts its server and emulator, drives them
and prints its figures. Not a timed test: no figure is compared with a target."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_load_run_prints_the_figures_per_rate(tmp_path: Path) -> None:
    results = tmp_path / "load.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "load.py"), "--quick", "--rates", "10,20",
         "--duration", "1", "--json", str(results)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert "cores" in out and "SQLite" in out and "merge window 0.05 s" in out
    for column in ("acc/s", "ack p50", "ack p99", "e2e p50", "e2e p99", "errors", "no reply"):
        assert column in out
    printed = [line.split()[0] for line in out.splitlines() if line[:7].strip() in {"10", "20"}]
    assert printed == ["10", "20", "10", "20"]  # the main table and the stages table

    rows = json.loads(results.read_text())["rows"]
    assert [row["rate"] for row in rows] == [10, 20]
    for row in rows:
        assert row["sent"] == row["rate"]  # one second's worth of messages at each rate
        # Every message was acknowledged and answered: the wiring of server, emulator and
        # reply tracking works (how fast is the benchmark's business, not this test's).
        assert row["errors"] == 0 and row["no_reply"] == 0
        assert row["ack_p50"] > 0 and row["e2e_p50"] > 0
