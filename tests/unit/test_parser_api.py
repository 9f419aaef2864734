"""OrderParser as a component: the shipped sample catalog, purity, threads, bigger catalogs."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from catalog.catalog import Catalog
from catalog.models import CatalogFile
from parsers import OrderParser, ParsedLine, ParseResult, Unresolved, parse_order
from tests.paths import RESTAURANT_CATALOG
from tests.unit.parser_catalog import restaurant_catalog, restaurant_data

MESSAGES = [
    "2 chicken shawarma and a large pepsi",
    "hi can i get a beef shawarma no pickles extra cheese pls",
    "shawarma",
    "lasagna and 2 cokes",
    "pizza large, 3 wings\nfries",
    "thanks!",
]


@pytest.fixture(scope="module")
def parser() -> OrderParser:
    return OrderParser(restaurant_catalog())


@pytest.fixture(scope="module")
def sample() -> OrderParser:
    if not RESTAURANT_CATALOG.exists():
        pytest.skip(f"{RESTAURANT_CATALOG} is not there")
    from catalog.loader import load_catalog  # noqa: PLC0415 - only when the sample exists

    return OrderParser(load_catalog(RESTAURANT_CATALOG))


def test_the_sample_catalog_reads_the_canonical_order(sample: OrderParser) -> None:
    result = sample.parse("2 chicken shawarma and a large pepsi")
    assert [(x.product, x.quantity, x.variant) for x in result.lines] == [
        ("chicken-shawarma", 2, "regular"), ("pepsi", 1, "large")]
    assert result.unresolved == ()


SAMPLE_CASES = [
    ("salam, 2 shawarma djej w 1 lahme pls",
     [("chicken-shawarma", 2), ("beef-shawarma", 1)]),
    ("a za'atar manakish and a mint tea", [("zaatar-manakish", 1), ("mint-tea", 1)]),
    ("cheeseburger medium, no pickles, add bacon and an egg", [("cheeseburger", 1)]),
    ("1 chicken plate with rice and 1 beef plate with fries",
     [("chicken-shawarma-plate", 1), ("beef-shawarma-plate", 1)]),
    ("kunafa x2 and baklava", [("kunafa", 2), ("baklava", 1)]),
]


@pytest.mark.parametrize(("text", "expected"), SAMPLE_CASES, ids=[c[0] for c in SAMPLE_CASES])
def test_the_sample_catalog(sample: OrderParser, text: str,
                            expected: list[tuple[str, int]]) -> None:
    result = sample.parse(text)
    assert [(x.product, x.quantity) for x in result.lines] == expected, result.to_json()


def test_the_sample_catalog_asks_which_pizza(sample: OrderParser) -> None:
    result = sample.parse("a pizza")
    assert result.lines == ()
    assert [u.reason for u in result.unresolved] == ["ambiguous"]
    assert "margherita-pizza" in result.unresolved[0].candidates


def test_parse_order_helper_matches_the_parser(parser: OrderParser) -> None:
    for text in MESSAGES:
        assert parse_order(restaurant_catalog(), text) == parser.parse(text)


def test_result_types_are_exported(parser: OrderParser) -> None:
    result = parser.parse("2 shawarma and a pepsi")
    assert isinstance(result, ParseResult)
    assert all(isinstance(x, ParsedLine) for x in result.lines)
    assert all(isinstance(x, Unresolved) for x in result.unresolved)


def test_parsing_is_pure(parser: OrderParser) -> None:
    first = [parser.parse(text) for text in MESSAGES]
    second = [parser.parse(text) for text in reversed(MESSAGES)]
    assert first == list(reversed(second))


def test_parsing_is_thread_safe(parser: OrderParser) -> None:
    expected = {text: parser.parse(text) for text in MESSAGES}
    fresh = OrderParser(restaurant_catalog())  # cold caches, built lazily under contention
    start = threading.Barrier(8)

    def work(worker: int) -> list[tuple[str, ParseResult]]:
        start.wait()
        order = MESSAGES[worker % len(MESSAGES):] + MESSAGES[:worker % len(MESSAGES)]
        return [(text, fresh.parse(text)) for _ in range(20) for text in order]

    with ThreadPoolExecutor(max_workers=8) as pool:
        for outcome in pool.map(work, range(8)):
            for text, result in outcome:
                assert result == expected[text]


def test_spans_point_into_the_original_text(parser: OrderParser) -> None:
    text = "Hi 👋 2 Chicken Shawarma (no garlic) + 1 PEPSI large\nand lasagna"
    result = parser.parse(text)
    assert [text[s:e] for s, e in (x.span for x in result.lines)] == [
        "2 Chicken Shawarma (no garlic", "1 PEPSI large"]
    assert [text[s:e] for s, e in (u.span for u in result.unresolved)] == ["lasagna"]


def test_a_product_among_thousands(parser: OrderParser) -> None:
    data = restaurant_data()
    filler = [{"id": f"dish-{n}", "name": f"House Special {word} {n}", "price": "5"}
              for n, word in enumerate(["Plate", "Bowl", "Box", "Tray"] * 1_500)]
    big = OrderParser(Catalog(CatalogFile.model_validate(
        {**data, "products": [*data["products"], *filler]})))
    for text in MESSAGES:
        assert big.parse(text) == parser.parse(text)
    result = big.parse("2 house special bowl 4097")
    assert [(x.product, x.quantity) for x in result.lines] == [("dish-4097", 2)]


def test_duplicate_names_are_ambiguous_not_guessed() -> None:
    data = restaurant_data()
    twin = {"id": "pepsi-twin", "name": "Pepsi", "category": "Drinks", "price": "1.50"}
    twins = OrderParser(Catalog(CatalogFile.model_validate(
        {**data, "products": [*data["products"], twin]})))
    result = twins.parse("a pepsi")
    assert result.lines == ()
    assert [(u.reason, u.candidates) for u in result.unresolved] == [
        ("ambiguous", ("pepsi", "pepsi-twin"))]
