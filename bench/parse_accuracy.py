"""Parser accuracy on labelled messages: the restaurant and grocery fixture sets (tune and
held-out) and the PIZZA benchmark's dev split, with a catalog built from its alias lists.

    .venv/bin/python bench/parse_accuracy.py                  # the report
    .venv/bin/python bench/parse_accuracy.py --show-errors    # ... and every failing message
    .venv/bin/python bench/parse_accuracy.py --set restaurant-tune --show-errors
    .venv/bin/python bench/parse_accuracy.py --pizza-dir /elsewhere/pizza-dev

Per set: message count; whole-message exact match (lines as a multiset of (product, quantity,
variant, options with qualifiers, removed), unresolved as a multiset of reasons; see
bench/labelled.py); line-level precision / recall / F1 (a line counts when all five parts match);
and the parse p50 latency. For pizza-dev, exact match is the benchmark's own metric (whole order,
children unordered). Held-out sets are for reporting only: never tune the parser on them
(fixtures/parsing/README.md). It is a report, not a test: the exit code is always 0.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.labelled import Comparison, Labelled, compare, describe, load_fixture
from bench.pizza_catalog import DEFAULT_DIR, DEV_FILE, build_catalog, load_dev, unknown_ids
from catalog.errors import CatalogError
from catalog.loader import load_catalog
from parsers import OrderParser

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures" / "parsing"
CATALOGS = ROOT / "fixtures" / "catalog"
SETS = ("restaurant-tune", "restaurant-heldout", "grocery-tune", "grocery-heldout", "pizza-dev")


@dataclass(frozen=True)
class SetReport:
    """The figures of one set."""

    name: str
    comparisons: list[Comparison]
    latencies: list[float]

    @property
    def count(self) -> int:
        return len(self.comparisons)

    @property
    def exact(self) -> int:
        return sum(c.exact for c in self.comparisons)

    @property
    def precision(self) -> float:
        found = sum(len(c.got_lines) for c in self.comparisons)
        return _ratio(sum(c.matched_lines for c in self.comparisons), found)

    @property
    def recall(self) -> float:
        expected = sum(len(c.labelled.lines) for c in self.comparisons)
        return _ratio(sum(c.matched_lines for c in self.comparisons), expected)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies) * 1e3 if self.latencies else 0.0


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


def run_set(name: str, parser: OrderParser, labels: list[Labelled]) -> SetReport:
    """Parse every message once (after one warm-up parse) and hold it against its label."""
    if labels:
        parser.parse(labels[0].text)
    comparisons: list[Comparison] = []
    latencies: list[float] = []
    for label in labels:
        start = time.perf_counter()
        result = parser.parse(label.text)
        latencies.append(time.perf_counter() - start)
        comparisons.append(compare(label, result))
    return SetReport(name, comparisons, latencies)


def print_header() -> None:
    print(f"{'set':<20} {'msgs':>5}  {'exact match':>15}  {'line P':>7} {'line R':>7} "
          f"{'line F1':>7}  {'p50 ms':>7}")


def print_report(report: SetReport) -> None:
    share = 100 * _ratio(report.exact, report.count)
    print(f"{report.name:<20} {report.count:>5}  {report.exact:>5} ({share:5.1f}%)  "
          f"{report.precision:>7.3f} {report.recall:>7.3f} {report.f1:>7.3f}  "
          f"{report.p50_ms:>7.2f}")


def print_errors(report: SetReport) -> None:
    failures = [c for c in report.comparisons if not c.exact]
    print(f"\n--- {report.name}: {len(failures)} of {report.count} not exact")
    for comparison in failures:
        label = comparison.labelled
        print(f"  {label.text!r}")
        print(f"      expected: {describe(label.lines, label.reasons)}")
        print(f"      got:      {describe(comparison.got_lines, comparison.got_reasons)}")


def fixture_sets() -> list[tuple[str, Path, Path]]:
    """(set name, catalog file, fixture file) of the labelled fixture sets."""
    return [(f"{shop}-{split}", CATALOGS / f"{shop}.yaml", FIXTURES / f"{shop}.{split}.yaml")
            for shop in ("restaurant", "grocery") for split in ("tune", "heldout")]


def run(selected: set[str], pizza_dir: Path, show_errors: bool) -> list[SetReport]:
    reports: list[SetReport] = []
    parsers: dict[Path, OrderParser] = {}
    print_header()
    for name, catalog_path, path in fixture_sets():
        if name not in selected:
            continue
        if catalog_path not in parsers:
            parsers[catalog_path] = OrderParser(load_catalog(catalog_path))
        report = run_set(name, parsers[catalog_path], load_fixture(path))
        print_report(report)
        reports.append(report)
    if "pizza-dev" in selected:
        pizza = run_pizza(pizza_dir)
        if pizza is not None:
            reports.append(pizza)
    if show_errors:
        for report in reports:
            print_errors(report)
    return reports


def run_pizza(directory: Path) -> SetReport | None:
    if not (directory / DEV_FILE).is_file() or not (directory / "catalogs").is_dir():
        print(f"{'pizza-dev':<20} skipped: no {DEV_FILE} and catalogs/ in {directory} "
              "(see ../shared/datasets/README.md, or pass --pizza-dir)")
        return None
    try:
        shop = build_catalog(directory)
    except CatalogError as exc:
        print(f"{'pizza-dev':<20} skipped: the catalog built from the alias lists is invalid:"
              f"\n{exc}")
        return None
    labels = load_dev(directory)
    report = run_set("pizza-dev", OrderParser(shop.catalog), labels)
    print_report(report)
    missing = unknown_ids(shop, labels)
    if missing:
        print(f"{'':<20} ({len(missing)} gold ids are not in the built catalog: "
              f"{', '.join(sorted(set(missing))[:10])})")
    return report


def main(argv: list[str] | None = None) -> int:
    arguments = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    arguments.add_argument("--show-errors", action="store_true",
                           help="print every message that is not an exact match")
    arguments.add_argument("--set", action="append", choices=SETS, dest="sets",
                           help="only this set (repeatable); default: all")
    arguments.add_argument("--pizza-dir", type=Path, default=DEFAULT_DIR,
                           help=f"the pizza-dev dataset directory (default: {DEFAULT_DIR})")
    args = arguments.parse_args(argv)
    try:
        run(set(args.sets or SETS), args.pizza_dir, args.show_errors)
    except Exception as exc:  # a report: say what broke, never fail the caller
        print(f"parse_accuracy: stopped by {type(exc).__name__}: {exc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
