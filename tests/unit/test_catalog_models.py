"""The catalog schema and the Catalog wrapper: validation rules, prices and money formatting."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from catalog.catalog import Catalog
from catalog.models import CatalogFile, OptionGroup, Product, Shop
from tests.paths import RESTAURANT_CATALOG

SAMPLE = RESTAURANT_CATALOG


def make_catalog(currency: str = "USD") -> Catalog:
    data = {
        "shop": {"name": "Test Grill", "currency": currency},
        "products": [
            {"id": "fries", "name": "Fries", "category": "Sides", "price": "3.99"},
            {"id": "pepsi", "name": "Pepsi", "category": "Drinks", "price": "1.99"},
            {"id": "hummus", "name": "Hummus", "category": "Sides", "price": "5.99"},
        ],
    }
    return Catalog(CatalogFile.model_validate(data))


def shawarma() -> Product:
    return Product.model_validate({
        "id": "chicken-shawarma", "name": "Chicken Shawarma", "price": "8.99",
        "variants": [{"id": "regular", "name": "Regular", "default": True},
                     {"id": "large", "name": "Large", "price": "11.99"}],
        "options": [{"group": "Extras", "max": 3, "choices": [
            {"id": "cheese", "name": "Cheese", "price": "1.00"},
            {"id": "extra-meat", "name": "Extra meat", "price": "3.00"},
            {"id": "fries-inside", "name": "Fries inside", "price": "1.50"}]}],
    })


def test_format_money_uses_symbol_two_decimals_and_thousands() -> None:
    catalog = make_catalog("USD")
    assert catalog.format_money(Decimal("1234.5")) == "$1,234.50"
    assert catalog.format_money(Decimal("7")) == "$7.00"


def test_format_money_rounds_half_up_not_to_even() -> None:
    catalog = make_catalog("USD")
    assert catalog.format_money(Decimal("0.125")) == "$0.13"
    assert catalog.format_money(Decimal("2.675")) == "$2.68"


def test_format_money_follows_the_currency_minor_units() -> None:
    assert make_catalog("JPY").format_money(Decimal("1234.5")) == "¥1,235"
    assert make_catalog("KWD").format_money(Decimal("12.5")) == "12.500 KWD"
    assert make_catalog("EUR").format_money(Decimal("7.5")) == "€7.50"


def test_format_money_without_a_known_symbol_puts_the_code_after() -> None:
    assert make_catalog("CHF").format_money(Decimal("7.5")) == "7.50 CHF"


def test_unit_price_adds_the_variant_price_and_choice_deltas() -> None:
    product = shawarma()
    assert product.unit_price() == Decimal("8.99")
    assert product.unit_price("large") == Decimal("11.99")
    assert product.unit_price("large", ("cheese", "extra-meat")) == Decimal("15.99")


def test_unit_price_of_a_variant_without_price_is_the_product_price() -> None:
    product = shawarma()
    assert product.unit_price("regular", ("fries-inside",)) == Decimal("10.49")


def test_unit_price_ignores_unknown_choice_ids() -> None:
    assert shawarma().unit_price("large", ("ketchup",)) == Decimal("11.99")


def test_default_variant_is_the_one_marked_default() -> None:
    product = shawarma()
    default = product.default_variant
    assert default is not None
    assert default.id == "regular"
    assert Product(id="water", name="Water", price=Decimal("1")).default_variant is None


def test_two_default_variants_are_rejected() -> None:
    with pytest.raises(ValidationError, match="only one variant can be the default"):
        Product.model_validate({
            "id": "pepsi", "name": "Pepsi", "price": "1.99",
            "variants": [{"id": "small", "name": "Small", "default": True},
                         {"id": "large", "name": "Large", "default": True}],
        })


def test_option_group_min_above_max_is_rejected() -> None:
    with pytest.raises(ValidationError, match=r"min \(2\) is larger than max \(1\)"):
        OptionGroup.model_validate(
            {"group": "Doneness", "min": 2, "max": 1,
             "choices": [{"id": "medium", "name": "Medium"}, {"id": "well", "name": "Well"}]}
        )


def test_option_group_max_above_number_of_choices_is_rejected() -> None:
    with pytest.raises(ValidationError, match="only has 1 choices"):
        OptionGroup.model_validate(
            {"group": "Extras", "max": 2, "choices": [{"id": "cheese", "name": "Cheese"}]}
        )


def test_unknown_keys_are_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        Product.model_validate({"id": "a", "name": "A", "price": "1", "pirce": "1"})
    assert info.value.errors()[0]["type"] == "extra_forbidden"


def test_a_single_alias_string_becomes_a_tuple() -> None:
    product = Product.model_validate({"id": "coca-cola", "name": "Coca-Cola", "price": "1.99",
                                      "aliases": "coke"})
    assert product.aliases == ("coke",)
    assert product.names() == ("Coca-Cola", "coke")


def test_a_single_fulfillment_mode_string_becomes_a_tuple() -> None:
    assert Shop.model_validate({"name": "X", "fulfillment": "delivery"}).fulfillment == (
        "delivery",
    )


def test_closed_days_and_single_ranges_are_normalised() -> None:
    shop = Shop.model_validate({"name": "X", "hours": {"sun": "closed", "mon": "11:00-23:00",
                                                       "fri": ["11:00-15:00", "18:00-02:00"]}})
    assert shop.hours == {"sun": (), "mon": ("11:00-23:00",),
                          "fri": ("11:00-15:00", "18:00-02:00")}


def test_bad_timezone_and_currency_are_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        Shop.model_validate({"name": "X", "timezone": "Mars/Olympus", "currency": "usd"})
    assert {tuple(e["loc"]) for e in info.value.errors()} == {("timezone",), ("currency",)}


def test_ids_must_be_slugs() -> None:
    with pytest.raises(ValidationError, match="lower-case letters"):
        Product(id="Chicken Shawarma", name="Chicken Shawarma", price=Decimal("1"))


def test_catalog_lookup_categories_and_length() -> None:
    catalog = make_catalog()
    assert len(catalog) == 3
    assert [p.id for p in catalog] == ["fries", "pepsi", "hummus"]
    product = catalog.product("pepsi")
    assert product is not None
    assert product.name == "Pepsi"
    assert catalog.product("coke") is None
    assert catalog.categories() == ["Sides", "Drinks"]


def test_catalog_from_file_loads_the_sample() -> None:
    catalog = Catalog.from_file(SAMPLE)
    assert catalog.shop.name == "Sahara Grill"
    assert catalog.source == str(SAMPLE)
    assert catalog.product("chicken-shawarma") is not None
