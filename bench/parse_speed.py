"""Parser speed: build time, parse p50/p99 on a 60-item catalog, a synthetic 100k-item one and
the real generated 100k-product grocery catalog (fixtures/catalog/generate_grocery.py), and the
ratio to a naive baseline (rapidfuzz extractOne over every name for every 1-3-gram of the
message).

    .venv/bin/python bench/parse_speed.py            # full run (the 100k catalogs take a while)
    .venv/bin/python bench/parse_speed.py --quick    # 10k instead of 100k products
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from rapidfuzz import fuzz, process

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.catalog_load import GROCERY_MESSAGES, grocery_generator
from bench.catalogs import big_catalog, menu_60
from catalog.catalog import Catalog
from catalog.loader import load_catalog

MESSAGES_60 = [
    "2 chicken shawarma and a large pepsi",
    "hi can i get a beef shawarma no pickles extra garlic sauce pls",
    "1 margherita pizza large, 2 cokes and fries",
    "chiken shawrma x2 + pepsii",
    "i'd like two cheeseburgers with bacon and onion rings please",
    "Hi 👋\n2x falafel wrap\n1 hummus\n3 ayran\nthx",
    "can I have half a dozen chicken wings and a greek salad, hold the olives",
    "thanks!",
    "one mixed grill, one lamb kofta without onions and a sparkling water",
    "a large veggie pizza with extra cheese and mushrooms and a diet pepsi",
    "lasagna and a coke",
    "shawarma please",
]
RUNS = 200


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def messages_for(catalog: Catalog, count: int, seed: int = 3) -> list[str]:
    """Orders naming real products of a generated catalog, with typos and modifiers."""
    rng = random.Random(seed)
    products = catalog.products
    messages = []
    for _ in range(count):
        first, second = rng.sample(products, 2)
        name = first.name.lower()
        if rng.random() < 0.4:  # a typo: drop one letter of the longest word
            longest = max(name.split(), key=len)
            cut = rng.randrange(1, len(longest) - 1)
            name = name.replace(longest, longest[:cut] + longest[cut + 1:], 1)
        extra = rng.choice(["", " no pickles", " with extra cheese", " large", ", no onions"])
        messages.append(f"hi can i get {rng.randint(1, 4)} {name}{extra} "
                        f"and a {second.name.lower()} please")
    return messages


def naive_parse(names: list[str], text: str) -> list[tuple[str, float]]:
    """The baseline: best fuzzy name for every 1-3-gram, no index."""
    tokens = text.lower().split()
    found = []
    for size in (1, 2, 3):
        for start in range(len(tokens) - size + 1):
            gram = " ".join(tokens[start:start + size])
            best = process.extractOne(gram, names, scorer=fuzz.WRatio, score_cutoff=85)
            if best is not None:
                found.append((best[0], best[1]))
    return found


def measure(label: str, catalog: Catalog, messages: list[str], naive_runs: int) -> None:
    from parsers import OrderParser  # noqa: PLC0415 - main() times the first import

    builds = [timed(lambda: OrderParser(catalog)) for _ in range(3)]
    parser = OrderParser(catalog)
    for text in messages:  # warm caches the way a running bot has them warm
        parser.parse(text)
    samples = []
    for _ in range(max(1, RUNS // len(messages))):
        samples += [timed(partial(parser.parse, text)) for text in messages]
    p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
    names = [p.name.lower() for p in catalog.products]
    naive = [timed(partial(naive_parse, names, text)) for text in messages[:naive_runs]]
    naive_p50 = statistics.median(naive)
    print(f"{label}: {len(catalog):>7} products")
    print(f"  index build     median {statistics.median(builds):7.3f} s   (3 builds)")
    print(f"  parse           p50 {p50 * 1e3:7.3f} ms   p99 {p99 * 1e3:7.3f} ms"
          f"   ({len(samples)} parses of {len(messages)} messages)")
    print(f"  naive baseline  p50 {naive_p50 * 1e3:9.1f} ms   ({len(naive)} messages)"
          f"   -> parser is {naive_p50 / p50:,.0f}x faster")


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__)
    arguments.add_argument("--quick", action="store_true", help="10k products, not 100k")
    quick = arguments.parse_args().quick
    start = time.perf_counter()
    import parsers  # noqa: PLC0415 - the import itself is being timed
    from parsers.order_parser import shared_pipeline  # noqa: PLC0415

    shared_pipeline()
    print(f"import parsers + build the spaCy pipeline: {time.perf_counter() - start:.3f} s"
          f" ({parsers.__name__})")
    measure("menu", menu_60(), MESSAGES_60, naive_runs=len(MESSAGES_60))
    size = 10_000 if quick else 100_000
    started = time.perf_counter()
    big = big_catalog(size)
    print(f"(generated and validated the {size:,} product catalog in "
          f"{time.perf_counter() - started:.1f} s)")
    measure("generated", big, messages_for(big, 40), naive_runs=3)
    del big
    generator = grocery_generator()
    with tempfile.TemporaryDirectory(prefix="orderbot-bench-") as folder:
        path = Path(folder) / f"grocery-{size}.yaml"
        path.write_text(generator.to_yaml(generator.generate(size)), encoding="utf-8")
        started = time.perf_counter()
        grocery = load_catalog(path)
        took = time.perf_counter() - started
        print(f"(loaded the generated {size:,} product grocery catalog, "
              f"{path.stat().st_size / 1e6:.0f} MB of YAML, in {took:.1f} s)")
    measure("grocery", grocery, GROCERY_MESSAGES, naive_runs=3)


if __name__ == "__main__":
    main()
