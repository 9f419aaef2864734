"""OrderParser on longer, conversational orders: a pizzeria's phrasing, shared-out quantities
("2 shawarmas, one without garlic"), items named only by what came before ("and a medium one")."""

from __future__ import annotations

import pytest

from catalog.catalog import Catalog
from catalog.models import CatalogFile
from parsers import OrderParser, ParseResult
from parsers.assemble import ELLIPSIS_CONFIDENCE, IMPLIED_CONFIDENCE
from tests.unit.parser_catalog import pizza_catalog, restaurant_catalog

Line = tuple[str, int, str | None, frozenset[str], frozenset[str]]


@pytest.fixture(scope="module")
def pizzeria() -> OrderParser:
    return OrderParser(pizza_catalog())


@pytest.fixture(scope="module")
def grill() -> OrderParser:
    return OrderParser(restaurant_catalog())


def line(product: str, quantity: int, variant: str | None, options: str = "",
         removed: str = "") -> Line:
    return (product, quantity, variant, frozenset(options.split()), frozenset(removed.split()))


def lines(result: ParseResult) -> list[Line]:
    return [(x.product, x.quantity, x.variant,
             frozenset(o.id if o.qualifier is None else f"{o.id}:{o.qualifier}"
                       for o in x.options), frozenset(x.removed)) for x in result.lines]


PIZZERIA: list[tuple[str, list[Line]]] = [
    ("i want two large pies with no onions and a diet coke",
     [line("pizza", 2, "large", removed="onions"), line("diet-coke", 1, "regular")]),
    ("one large pepper and onion pizza",
     [line("pizza", 1, "large", "onions green-peppers")]),
    ("one small pizza without pineapple and with black olives, thin crust please",
     [line("pizza", 1, "small", "black-olives thin-crust", "pineapple")]),
    ("get me a medium pie with ham and mushrooms but hold the olives",
     [line("pizza", 1, "medium", "ham mushrooms", "black-olives")]),
    ("three medium pizzas with sausage and two large ones with tuna and extra cheese",
     [line("pizza", 3, "medium", "sausage"), line("pizza", 2, "large", "tuna cheese:extra")]),
    ("can i have a small pizza in thin crust and i'd like chicken on it as well but no bacon",
     [line("pizza", 1, "small", "thin-crust chicken", "bacon")]),
    ("a large pizza with pepperoni, a medium pizza with ham and pineapple and four large cokes",
     [line("pizza", 1, "large", "pepperoni"), line("pizza", 1, "medium", "ham pineapple"),
      line("coke", 4, "large")]),
    ("a medium pizza with sausage no extra cheese",
     [line("pizza", 1, "medium", "sausage", "cheese")]),
    ("two pizzas in medium size with tuna", [line("pizza", 2, "medium", "tuna")]),
    ("make it a large pizza, light on the cheese",
     [line("pizza", 1, "large", "cheese:light")]),
    ("six large cokes and two dr peppers", [line("coke", 6, "large"),
                                            line("dr-pepper", 2, "regular")]),
    ("i'd like a pizza, make it large, and put mushrooms on it",
     [line("pizza", 1, "large", "mushrooms")]),
    ("one large two topping pizza with ham and bacon", [line("pizza", 1, "large", "ham bacon")]),
    ("large pie, mushrooms and thin crust, and no ham on it please",
     [line("pizza", 1, "large", "mushrooms thin-crust", "ham")]),
]


@pytest.mark.parametrize(("text", "expected"), PIZZERIA, ids=[c[0] for c in PIZZERIA])
def test_pizzeria_orders(pizzeria: OrderParser, text: str, expected: list[Line]) -> None:
    result = pizzeria.parse(text)
    assert lines(result) == expected, result.to_json()


def test_unknown_topping_is_reported_with_the_close_choices(pizzeria: OrderParser) -> None:
    result = pizzeria.parse("a small pizza with black beans")
    assert lines(result) == [line("pizza", 1, "small")]
    assert [(u.reason, u.text) for u in result.unresolved] == [("unknown", "with black beans")]
    assert result.unresolved[0].candidates == ("black-olives",)


def test_options_alone_imply_the_only_product_that_has_them(pizzeria: OrderParser) -> None:
    result = pizzeria.parse("can i get a large with pepperoni and mushrooms")
    assert lines(result) == [line("pizza", 1, "large", "pepperoni mushrooms")]
    assert result.lines[0].confidence == IMPLIED_CONFIDENCE


def test_one_option_is_too_little_to_imply_a_product(pizzeria: OrderParser) -> None:
    result = pizzeria.parse("with pepperoni")
    assert result.lines == ()
    assert [(u.reason, u.candidates) for u in result.unresolved] == [("unknown", ("pizza",))]


SHARED: list[tuple[str, list[Line]]] = [
    ("2 chicken shawarmas, one large, no garlic",
     [line("chicken-shawarma", 1, "regular"),
      line("chicken-shawarma", 1, "large", removed="garlic")]),
    ("3 beef shawarma: one with extra cheese, one without pickles",
     [line("beef-shawarma", 1, "regular"),
      line("beef-shawarma", 1, "regular", "cheese:extra"),
      line("beef-shawarma", 1, "regular", removed="pickles")]),
    ("2 large margherita pizzas, one with mushrooms and one with olives",
     [line("margherita-pizza", 1, "large", "mushrooms"),
      line("margherita-pizza", 1, "large", "olives")]),
    ("2 pepsi, one large", [line("pepsi", 1, "small"), line("pepsi", 1, "large")]),
]


def test_shares_adding_up_to_more_are_extra_items(grill: OrderParser) -> None:
    result = grill.parse("a pepsi, 2 large")
    assert lines(result) == [line("pepsi", 1, "small"), line("pepsi", 2, "large")]


@pytest.mark.parametrize(("text", "expected"), SHARED, ids=[c[0] for c in SHARED])
def test_quantities_shared_out_in_clauses(grill: OrderParser, text: str,
                                          expected: list[Line]) -> None:
    result = grill.parse(text)
    assert lines(result) == expected, result.to_json()


ELLIPSIS: list[tuple[str, list[Line]]] = [
    ("a large margherita and a medium one",
     [line("margherita-pizza", 1, "large"), line("margherita-pizza", 1, "medium")]),
    ("2 chicken shawarma and a large",
     [line("chicken-shawarma", 2, "regular"), line("chicken-shawarma", 1, "large")]),
    ("a margherita large and 2 small ones",
     [line("margherita-pizza", 1, "large"), line("margherita-pizza", 2, "small")]),
]


@pytest.mark.parametrize(("text", "expected"), ELLIPSIS, ids=[c[0] for c in ELLIPSIS])
def test_items_named_by_the_item_before(grill: OrderParser, text: str,
                                        expected: list[Line]) -> None:
    result = grill.parse(text)
    assert lines(result) == expected, result.to_json()
    assert result.lines[-1].confidence == ELLIPSIS_CONFIDENCE


def test_numbers_in_names_read_both_ways(grill: OrderParser) -> None:
    result = grill.parse("2 7-ups and a seven up")
    assert [(x.product, x.quantity) for x in result.lines] == [("seven-up", 2), ("seven-up", 1)]


def test_a_name_said_twice_in_a_row_is_one_item(pizzeria: OrderParser) -> None:
    assert lines(pizzeria.parse("a small pizza pie")) == [line("pizza", 1, "small")]


def test_a_word_describing_a_known_option_becomes_a_note(pizzeria: OrderParser) -> None:
    result = pizzeria.parse("a small pizza with ham and crispy bacon")
    assert lines(result) == [line("pizza", 1, "small", "ham bacon")]
    assert result.lines[0].note == "crispy"
    assert result.unresolved == ()


def test_a_number_that_names_a_size_is_not_a_count() -> None:
    shop = OrderParser(Catalog(CatalogFile.model_validate({
        "shop": {"name": "Basket"},
        "products": [{"id": "basmati", "name": "Basmati Rice", "price": "2", "variants": [
            {"id": "1-kg", "name": "1 kg", "default": True},
            {"id": "5-kg", "name": "5 kg", "aliases": ["5kg"]}]}]})))
    result = shop.parse("2 basmati rice 5kg and 3 x 1 kg basmati rice")
    assert [(x.quantity, x.variant) for x in result.lines] == [(2, "5-kg"), (3, "1-kg")]


@pytest.mark.parametrize("text", ["2 pepsi,3 fries", "2 pepsi+3 fries", "2 pepsi&3 fries",
                                  "2pepsi,3fries"])
def test_separators_typed_without_spaces_still_separate_items(grill: OrderParser,
                                                               text: str) -> None:
    got = {(x.product, x.quantity) for x in grill.parse(text).lines}
    assert got == {("pepsi", 2), ("fries", 3)}, text


def test_a_glued_quantity_after_a_separator_is_kept(grill: OrderParser) -> None:
    result = grill.parse("fries+2pepsi")
    assert {(x.product, x.quantity) for x in result.lines} == {("fries", 1), ("pepsi", 2)}
    pepsi = next(x for x in result.lines if x.product == "pepsi")
    assert "fries+2pepsi"[pepsi.span[0]:pepsi.span[1]] == "2pepsi"
