"""Big-catalog speed: load time per size and format, index build, parse p50/p99, startup.

    .venv/bin/python bench/catalog_load.py               # 2k, 20k and 100k products (~2 min)
    .venv/bin/python bench/catalog_load.py --quick       # 2k and 20k only
    .venv/bin/python bench/catalog_load.py --sizes 100000 --mistake

The grocery catalogs come from fixtures/catalog/generate_grocery.py (real brand x line x type
names with pack-size variants), written as YAML and as CSV into a temporary directory that is
removed afterwards. Times are medians of 3 unless said otherwise. `--mistake` also times a file
with one planted mistake, which is read the exact (slow) way to report it with its line.

Targets: 100k products: load < 3 s, index build well under 3 s, parse p50 < 5 ms; startup
(import + spaCy pipeline) < 2 s; 64-product restaurant catalog: parse p50 < 1 ms.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from catalog.catalog import Catalog
from catalog.errors import CatalogError
from catalog.loader import load_catalog

ROOT = Path(__file__).resolve().parents[1]

SIZES = (2_000, 20_000, 100_000)
RUNS = 3
PARSE_ROUNDS = 20
# Orders as grocery customers type them: brands, pack sizes, counts, misspellings, chat.
GROCERY_MESSAGES = [
    "2 basmati rice 5kg and a dozen eggs",
    "hi can i get 2 golden harvest basmati rice 5 kg and a dozen happy cow eggs pls",
    "3 whole milk 2l, 1 white bread and bananas",
    "olive oil 1l x2",
    "i need 2 bags of sugar and a pack of black tea",
    "4 happy cow whole mlik and 2 golden harvest jasmin rice",
    "crystal springs still water 500 ml x 24, 3 packs",
    "a box of corn flakes and rolled oats please",
    "thanks!",
    "2 toilet paper 9 rolls and dish soap",
    "1 kg tomatos, 2 kg onions and garlic",
    "blue valley basmati rice 10kg",
    "some chicken breast and 2 ground beef",
    "do you have lasagna?",
    "sunny farm greek yogurt 1kg x 3 and alpine fresh labneh",
    "2 oasis orange juice 1 l x 6, a fizz co cola 330 ml x 24",
    "bean brothers ground coffee 500g and tea garden mint tea 100 bags",
    "happy paws dry cat food 7kg and 2 whisker cat litter",
    "need diapers size 4 and baby wipes",
    "polar fresh frozen peas 1kg, frosty vanilla ice cream 2 l",
    "3 sparkle laundry detergent 3l",
    "can I get prime cuts chicken breast 1kg and butchers best beef steak 600 g",
    "fresh fields tomatoes 5kg, local farm potatos 10 kg and riverbend lemons",
    "silk & co shampoo 500ml and fresh mint toothpaste",
    "crunchy co tortila chips 150g x 2",
    "a dozen eggs and milk",
    "del sol tuna in olive oil 160 g x 4 and harvest table chopped tomatoes",
    "morning star corn flakes 750g please",
    "5 bella cucina spagetti 1kg",
    "golden harvest organic basmati rice 5kg",
]
RESTAURANT_MESSAGES = [
    "2 chicken shawarma and a large pepsi",
    "hi can i get a beef shawarma no pickles extra garlic sauce pls",
    "chiken shawrma x2 + pepsii",
    "a large veggie pizza with extra cheese and mushrooms",
    "thanks!",
    "one mixed grill and a sparkling water",
]


def grocery_generator() -> ModuleType:
    """fixtures/catalog/generate_grocery.py as a module (fixtures is not a package)."""
    path = ROOT / "fixtures" / "catalog" / "generate_grocery.py"
    spec = importlib.util.spec_from_file_location("generate_grocery", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def median_time(function: Callable[[], object], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
        del result  # freed outside the timing, as a caller keeping the catalog would
    return statistics.median(times)


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def startup_time() -> float:
    """A fresh interpreter importing the parser and building the spaCy pipeline."""
    code = ("import parsers; from parsers.order_parser import shared_pipeline; "
            "shared_pipeline()")
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def parse_figures(catalog: Catalog, messages: list[str]) -> str:
    from parsers import OrderParser  # noqa: PLC0415 - imported once the catalog is ready

    build = median_time(lambda: OrderParser(catalog))
    parser = OrderParser(catalog)
    cold = []
    for text in messages:  # first sight of each message: the index's answers are not cached
        start = time.perf_counter()
        parser.parse(text)
        cold.append(time.perf_counter() - start)
    warm = []
    for _ in range(PARSE_ROUNDS):
        for text in messages:
            start = time.perf_counter()
            parser.parse(text)
            warm.append(time.perf_counter() - start)
    ms = 1e3
    return (f"index build {build:6.2f} s | parse p50 {percentile(warm, 0.5) * ms:5.2f} ms  "
            f"p99 {percentile(warm, 0.99) * ms:5.2f} ms | first parse of each message: "
            f"p50 {percentile(cold, 0.5) * ms:5.2f} ms  max {max(cold) * ms:5.2f} ms")


def plant_mistake(path: Path) -> Path:
    """A copy of `path` whose last product reuses the first product's id."""
    text = path.read_text(encoding="utf-8")
    broken = path.with_name(f"broken-{path.name}")
    if path.suffix == ".csv":
        rows = text.splitlines()
        first = next(i for i, row in enumerate(rows) if row.startswith("id,")) + 1
        rows[-1] = rows[first].split(",")[0] + "," + rows[-1].split(",", 1)[1]
        broken.write_text("\n".join(rows) + "\n", encoding="utf-8")
    else:
        first_id = text.split("  - id: ", 2)[1].split("\n", 1)[0]
        head, _, tail = text.rpartition("  - id: ")
        broken.write_text(f"{head}  - id: {first_id}\n{tail.split(chr(10), 1)[1]}",
                          encoding="utf-8")
    return broken


def mistake_time(path: Path) -> str:
    start = time.perf_counter()
    try:
        load_catalog(path)
    except CatalogError as error:
        took = time.perf_counter() - start
        return f"{took:6.2f} s to report: {error.problems[0]}"
    return "the planted mistake was not reported!"


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__)
    arguments.add_argument("--quick", action="store_true", help="2k and 20k products only")
    arguments.add_argument("--sizes", type=int, nargs="+", help="catalog sizes to measure")
    arguments.add_argument("--mistake", action="store_true",
                           help="also time loading a file with one mistake (the slow path)")
    options = arguments.parse_args()
    sizes = options.sizes or (SIZES[:2] if options.quick else SIZES)

    print(f"startup (fresh python: import parsers + spaCy pipeline): {startup_time():.2f} s")
    from parsers.order_parser import shared_pipeline  # noqa: PLC0415 - after the startup run

    shared_pipeline()
    restaurant = load_catalog(ROOT / "fixtures" / "catalog" / "restaurant.yaml")
    print(f"restaurant sample ({len(restaurant)} products): "
          f"{parse_figures(restaurant, RESTAURANT_MESSAGES)}")

    generator = grocery_generator()
    with tempfile.TemporaryDirectory(prefix="orderbot-bench-") as folder:
        for size in sizes:
            products = generator.generate(size)
            files = {kind: Path(folder) / f"grocery-{size}.{kind}" for kind in ("yaml", "csv")}
            files["yaml"].write_text(generator.to_yaml(products), encoding="utf-8")
            files["csv"].write_text(generator.to_csv(products), encoding="utf-8")
            del products
            print(f"\ngrocery, {size:,} products")
            loaded: dict[str, Catalog] = {}
            for kind, path in files.items():
                took = median_time(partial(load_catalog, path))
                loaded[kind] = load_catalog(path)
                print(f"  load {kind:<4} {path.stat().st_size / 1e6:6.1f} MB  {took:6.2f} s")
            assert loaded["yaml"].data == loaded["csv"].data, "YAML and CSV differ"
            catalog = loaded.pop("yaml")
            loaded.clear()
            print(f"  {parse_figures(catalog, GROCERY_MESSAGES)}")
            if options.mistake:
                for kind, path in files.items():
                    print(f"  one mistake, {kind:<4} {mistake_time(plant_mistake(path))}")
            del catalog


if __name__ == "__main__":
    main()
