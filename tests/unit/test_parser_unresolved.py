"""OrderParser never invents: what cannot be placed comes back in `unresolved`, with a reason."""

from __future__ import annotations

import pytest

from catalog.loader import load_catalog
from parsers import OrderParser, ParseResult
from tests.paths import RESTAURANT_CATALOG
from tests.unit.parser_catalog import restaurant_catalog


@pytest.fixture(scope="module")
def parser() -> OrderParser:
    return OrderParser(restaurant_catalog())


def problems(result: ParseResult) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(u.reason, u.text, u.candidates) for u in result.unresolved]


def products(result: ParseResult) -> list[str]:
    return [line.product for line in result.lines]


UNKNOWN = [
    ("lasagna", "lasagna"),
    ("2 lasagna", "2 lasagna"),
    ("i want a lasagna please", "a lasagna"),
    ("sushi x3", "sushi x3"),
]


@pytest.mark.parametrize(("text", "unknown"), UNKNOWN, ids=[c[0] for c in UNKNOWN])
def test_unknown_items(parser: OrderParser, text: str, unknown: str) -> None:
    result = parser.parse(text)
    assert result.lines == ()
    assert [(u.reason, u.text) for u in result.unresolved] == [("unknown", unknown)]


def test_unknown_next_to_known_items(parser: OrderParser) -> None:
    result = parser.parse("a chicken shawarma, a lasagna and a pepsi")
    assert products(result) == ["chicken-shawarma", "pepsi"]
    assert [(u.reason, u.text) for u in result.unresolved] == [("unknown", "a lasagna")]


def test_unknown_suggests_close_products(parser: OrderParser) -> None:
    result = parser.parse("2 burgers")
    assert problems(result) == [("unknown", "2 burgers", ("cheeseburger",))]


def test_ambiguous_when_two_products_fit_equally(parser: OrderParser) -> None:
    result = parser.parse("shawarma")
    assert problems(result) == [
        ("ambiguous", "shawarma", ("chicken-shawarma", "beef-shawarma"))]
    assert result.lines == ()


def test_ambiguous_keeps_its_quantity_and_options_out_of_other_lines(
        parser: OrderParser) -> None:
    result = parser.parse("2 shawarma no garlic and a pepsi")
    assert problems(result) == [
        ("ambiguous", "2 shawarma no garlic", ("chicken-shawarma", "beef-shawarma"))]
    assert [(line.product, line.removed) for line in result.lines] == [("pepsi", ())]


def test_missing_variant_emits_the_line_and_asks(parser: OrderParser) -> None:
    result = parser.parse("pizza")
    assert [(line.product, line.variant) for line in result.lines] == [
        ("margherita-pizza", None)]
    assert problems(result) == [("missing_variant", "pizza", ("small", "medium", "large"))]
    assert result.unresolved[0].span == result.lines[0].span


def test_named_variant_needs_no_question(parser: OrderParser) -> None:
    assert parser.parse("a small margherita").unresolved == ()


def test_unavailable_product_is_identified_but_not_ordered(parser: OrderParser) -> None:
    result = parser.parse("2 baklava please")
    assert result.lines == ()
    assert problems(result) == [("unavailable", "2 baklava", ("baklava",))]


def test_unknown_option_is_reported_not_dropped(parser: OrderParser) -> None:
    result = parser.parse("chicken shawarma with lasagna")
    assert products(result) == ["chicken-shawarma"]
    assert [(u.reason, u.text) for u in result.unresolved] == [("unknown", "with lasagna")]


def test_negated_product_orders_nothing(parser: OrderParser) -> None:
    result = parser.parse("a chicken shawarma but no pepsi")
    assert products(result) == ["chicken-shawarma"]
    assert result.unresolved == ()


def test_options_without_a_product_are_not_guessed(parser: OrderParser) -> None:
    result = parser.parse("extra cheese")
    assert result.lines == ()
    assert [u.reason for u in result.unresolved] == ["unknown"]
    assert {"chicken-shawarma", "beef-shawarma"} <= set(result.unresolved[0].candidates)


def test_a_word_shared_by_several_products_is_ambiguous(parser: OrderParser) -> None:
    result = parser.parse("a chicken")
    assert problems(result) == [
        ("ambiguous", "a chicken", ("chicken-shawarma", "chicken-wings"))]


def test_a_word_shared_by_several_product_names_asks_which_rather_than_unknown() -> None:
    # The sample menu has Falafel Wrap, Falafel Plate and falafel as a salad topping.
    parser = OrderParser(load_catalog(RESTAURANT_CATALOG))
    [unresolved] = parser.parse("2 falafel").unresolved
    assert unresolved.reason == "ambiguous"
    assert set(unresolved.candidates) == {"falafel-wrap", "falafel-plate"}
    assert parser.parse("lasagna").unresolved[0].reason == "unknown"
