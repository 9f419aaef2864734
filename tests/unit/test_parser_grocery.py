"""OrderParser on the way people write shop orders: pack sizes ("24 pack", "size 4", "eggs 12"),
brand words that narrow a product type down, quantities like "X2" and "(2)", a name that goes on
to name something else ("coke zero"), and questions about the shop that are not orders."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.catalog import Catalog
from catalog.models import CatalogFile
from parsers import OrderParser, ParseResult
from tests.unit.parser_catalog import restaurant_catalog, restaurant_data

# (product, quantity, variant)
Line = tuple[str, int, str | None]


def _sizes(*names: str) -> list[dict[str, Any]]:
    """Variants named as written, the first one the default."""
    return [{"id": name.replace(" ", "-"), "name": name, "default": n == 0}
            for n, name in enumerate(names)]


def _product(pid: str, name: str, *sizes: str, aliases: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"id": pid, "name": name, "category": "Groceries", "price": "2.00",
            "aliases": list(aliases), "variants": _sizes(*sizes)}


def grocery_catalog() -> Catalog:
    return Catalog(CatalogFile.model_validate({"shop": {"name": "Corner Market"}, "products": [
        _product("happy-cow-eggs", "Happy Cow Fresh Eggs", "6 eggs", "12 eggs", "30 eggs",
                 aliases=("Happy Cow eggs",)),
        _product("alpine-eggs", "Alpine Fresh Fresh Eggs", "6 eggs", "30 eggs",
                 aliases=("Alpine Fresh eggs",)),
        _product("alpine-organic-eggs", "Alpine Fresh Organic Fresh Eggs", "6 eggs", "30 eggs"),
        _product("alpine-yogurt", "Alpine Fresh Plain Yogurt", "500 g", "1 kg",
                 aliases=("Alpine Fresh yogurt",)),
        _product("alpine-greek-yogurt", "Alpine Fresh Greek Yogurt", "500 g"),
        _product("nour-yogurt", "Nour Plain Yogurt", "500 g", aliases=("Nour yoghurt",)),
        _product("fizz-cola", "Fizz Co Cola", "330 ml", "330 ml x 6", "330 ml x 24",
                 aliases=("Fizz Co coke",)),
        _product("fizz-water", "Fizz Co Water", "500 ml", "500 ml x 24"),
        _product("diapers", "Gentle Care Baby Diapers", "size 3 x 44", "size 4 x 40",
                 "size 5 x 36", aliases=("Gentle Care diapers",)),
        _product("bin-bags", "Sparkle Trash Bags", "30 bags", "100 bags",
                 aliases=("Sparkle bin bags",)),
        _product("frosty-fries", "Frosty Frozen French Fries", "1 kg", "5 kg"),
        _product("frosty-peas", "Frosty Frozen Peas", "1 kg"),
        _product("arctic-fries", "Arctic Frozen French Fries", "1 kg"),
        _product("cheddar", "Happy Cow Cheddar Cheese", "200 g"),
        _product("feta", "Happy Cow Feta Cheese", "200 g"),
        _product("tuna", "Del Sol Tuna", "160 g"),
    ]}))


@pytest.fixture(scope="module")
def grocer() -> OrderParser:
    return OrderParser(grocery_catalog())


@pytest.fixture(scope="module")
def grill() -> OrderParser:
    return OrderParser(restaurant_catalog())


def lines(result: ParseResult) -> list[Line]:
    return [(x.product, x.quantity, x.variant) for x in result.lines]


def reasons(result: ParseResult) -> list[str]:
    return [u.reason for u in result.unresolved]


PACKS: list[tuple[str, list[Line]]] = [
    # a multipack "<size> x <count>" by its count
    ("fizz co cola 24 pack", [("fizz-cola", 1, "330-ml-x-24")]),
    ("fizz co coke 6pk", [("fizz-cola", 1, "330-ml-x-6")]),
    ("2 fizz co cola 24 pack", [("fizz-cola", 2, "330-ml-x-24")]),
    ("fizz co water 500ml x 24", [("fizz-water", 1, "500-ml-x-24")]),
    # ... and by its unit when no other variant is called that
    ("gentle care diapers size 4", [("diapers", 1, "size-4-x-40")]),
    ("2 gentle care diapers size 5", [("diapers", 2, "size-5-x-36")]),
    # a count of what the product is names the pack of that many
    ("HAPPY COW EGGS 12", [("happy-cow-eggs", 1, "12-eggs")]),
    ("happy cow eggs 30, fizz co cola", [("happy-cow-eggs", 1, "30-eggs"),
                                         ("fizz-cola", 1, "330-ml")]),
    ("a dozen happy cow eggs", [("happy-cow-eggs", 1, "12-eggs")]),
    ("sparkle bin bags 100", [("bin-bags", 1, "100-bags")]),
    # other numbers still count packs
    ("2 happy cow eggs", [("happy-cow-eggs", 2, "6-eggs")]),
    ("del sol tuna 160g x 4", [("tuna", 4, "160-g")]),
    ("del sol tuna tins x 8", [("tuna", 8, "160-g")]),
    ("frosty frozen french fries 5kg x2", [("frosty-fries", 2, "5-kg")]),
]


@pytest.mark.parametrize(("text", "expected"), PACKS, ids=[case[0] for case in PACKS])
def test_pack_sizes_name_the_variant(grocer: OrderParser, text: str,
                                     expected: list[Line]) -> None:
    result = grocer.parse(text)
    assert lines(result) == expected, result.to_json()
    assert result.unresolved == ()


BRANDS: list[tuple[str, list[Line]]] = [
    # the brand after the product, a size and a count around them
    ("2 trays of 30 eggs alpine fresh", [("alpine-eggs", 2, "30-eggs")]),
    # part of a name plus a word of it that was left out in between
    ("frosty frozen fries 5kg", [("frosty-fries", 1, "5-kg")]),
    # another spelling of a word of the name ("yoghurt"), and the product whose whole alias
    # the words spell ("Alpine Fresh yogurt") rather than the Greek one
    ("alpine fresh yoghurt 1kg", [("alpine-yogurt", 1, "1-kg")]),
]


@pytest.mark.parametrize(("text", "expected"), BRANDS, ids=[case[0] for case in BRANDS])
def test_brand_words_narrow_a_product_down(grocer: OrderParser, text: str,
                                           expected: list[Line]) -> None:
    result = grocer.parse(text)
    assert lines(result) == expected, result.to_json()
    assert result.unresolved == ()


def test_a_brand_that_still_fits_several_products_is_one_question(grocer: OrderParser) -> None:
    result = grocer.parse("happy cow cheese")
    assert result.lines == ()
    assert [(u.reason, set(u.candidates)) for u in result.unresolved] == [
        ("ambiguous", {"cheddar", "feta"})]


def test_a_product_type_alone_stays_ambiguous(grocer: OrderParser) -> None:
    result = grocer.parse("frozen fries")
    assert result.lines == ()
    assert reasons(result) == ["ambiguous"]
    assert {"frosty-fries", "arctic-fries"} <= set(result.unresolved[0].candidates)


QUANTITIES: list[tuple[str, list[Line]]] = [
    ("CHICKEN SHAWARMA X2", [("chicken-shawarma", 2, "regular")]),
    ("chicken shawarma 2x", [("chicken-shawarma", 2, "regular")]),
    ("chicken shawarma (2)", [("chicken-shawarma", 2, "regular")]),
    ("pepsi (3), chicken shawarma X2", [("pepsi", 3, "small"), ("chicken-shawarma", 2, "regular")]),
    ("X3 pepsi", [("pepsi", 3, "small")]),
]


@pytest.mark.parametrize(("text", "expected"), QUANTITIES, ids=[case[0] for case in QUANTITIES])
def test_upper_case_and_bracketed_quantities(grill: OrderParser, text: str,
                                             expected: list[Line]) -> None:
    result = grill.parse(text)
    assert lines(result) == expected, result.to_json()
    assert result.unresolved == ()


def test_a_name_followed_by_an_unknown_word_is_not_that_product(grill: OrderParser) -> None:
    result = grill.parse("coke zero")
    assert result.lines == ()
    assert [(u.reason, u.text, u.candidates) for u in result.unresolved] == [
        ("unknown", "coke zero", ("coca-cola",))]
    result = grill.parse("a coke zero and a pepsi")
    assert lines(result) == [("pepsi", 1, "small")]
    assert reasons(result) == ["unknown"]


def test_words_that_belong_to_the_item_still_attach_to_it(grill: OrderParser) -> None:
    assert lines(grill.parse("coke please")) == [("coca-cola", 1, "small")]
    spicy = grill.parse("chicken shawarma spicy")
    assert lines(spicy) == [("chicken-shawarma", 1, "regular")]
    assert spicy.lines[0].note == "spicy"
    # a catalog word after the name (here a category) is not a new name
    assert lines(grill.parse("chicken shawarma wraps x2")) == [("chicken-shawarma", 2, "regular")]


def test_a_product_named_by_the_longer_name_is_that_product() -> None:
    data = restaurant_data()
    data["products"].append({"id": "coke-zero", "name": "Coke Zero", "category": "Drinks",
                             "price": "1.50"})
    parser = OrderParser(Catalog(CatalogFile.model_validate(data)))
    result = parser.parse("2 coke zero and a coke")
    assert lines(result) == [("coke-zero", 2, None), ("coca-cola", 1, "small")]
    assert result.unresolved == ()


@pytest.mark.parametrize("text", [
    "what time do you close",
    "hello do you deliver on sunday?",
    "is this test grill?",
    "are you open tomorrow at 9",
    "same address as usual",
])
def test_questions_about_the_shop_are_chat(grill: OrderParser, text: str) -> None:
    assert grill.parse(text).empty, grill.parse(text).to_json()


def test_chat_around_an_order_leaves_only_the_order(grill: OrderParser) -> None:
    result = grill.parse("hi, same address as usual. 2 pepsi pls thx")
    assert lines(result) == [("pepsi", 2, "small")]
    assert result.unresolved == ()


def test_an_item_asked_about_is_still_reported(grill: OrderParser) -> None:
    result = grill.parse("do you have lasagna?")
    assert reasons(result) == ["unknown"]
    assert result.unresolved[0].text == "lasagna"
