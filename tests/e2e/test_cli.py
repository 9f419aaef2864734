"""The command-line contracts: `orderbot parse` and `orderbot catalog check`, as processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.paths import RESTAURANT_CATALOG

ORDERBOT = [sys.executable, "-m", "bot.cli"]


def orderbot(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ORDERBOT, *args], input=stdin, capture_output=True, text=True,
                          timeout=60, check=False)


def test_parse_prints_one_json_object_in_the_contract_shape() -> None:
    done = orderbot("parse", "--catalog", str(RESTAURANT_CATALOG),
                    "2 chicken shawarma and a large pepsi")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) == {"lines", "unresolved"}
    assert [(line["product"], line["quantity"], line["variant"]) for line in result["lines"]] == [
        ("chicken-shawarma", 2, "regular"), ("pepsi", 1, "large")]
    first = result["lines"][0]
    assert {"options", "removed", "note", "confidence", "span"} <= set(first)
    assert 0.0 <= first["confidence"] <= 1.0
    start, end = first["span"]
    assert "2 chicken shawarma"[start:end].startswith("2")


def test_parse_jsonl_answers_each_stdin_line_in_order() -> None:
    done = orderbot("parse", "--catalog", str(RESTAURANT_CATALOG), "--jsonl",
                    stdin="a coke\nlasagna\n3x fries\n")
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(results) == 3
    assert results[0]["lines"][0]["product"] == "coca-cola"
    assert results[1]["lines"] == [] and results[1]["unresolved"][0]["reason"] == "unknown"
    assert results[2]["lines"][0]["quantity"] == 3


def test_parse_with_a_broken_catalog_says_why(tmp_path: Path) -> None:
    broken = tmp_path / "menu.yaml"
    broken.write_text("shop:\n  name: X\nproducts: []\n")
    done = orderbot("parse", "--catalog", str(broken), "tea")
    assert done.returncode == 1
    assert "menu.yaml" in done.stderr and done.stdout == ""


def test_catalog_check_summary_and_problems(tmp_path: Path) -> None:
    ok = orderbot("catalog", "check", str(RESTAURANT_CATALOG))
    assert ok.returncode == 0
    assert "Products: 64" in ok.stdout
    broken = tmp_path / "menu.yaml"
    broken.write_text("shop:\n  name: X\nproducts:\n  - id: tea\n    name: Tea\n"
                      "    price: $2\n    pirce: 3\n")
    bad = orderbot("catalog", "check", str(broken))
    assert bad.returncode == 1
    assert "line 6" in bad.stdout and "without the currency sign" in bad.stdout
    assert "line 7" in bad.stdout and "Did you mean 'price'" in bad.stdout
