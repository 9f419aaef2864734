"""Retailer ids: how a WhatsApp cart item finds a product or variant, and one id per item."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from catalog.catalog import Catalog
from catalog.csv_format import CellError, parse_variants
from catalog.errors import CatalogError
from catalog.loader import load_catalog, load_catalog_bytes, validated_quickly
from catalog.models import CatalogFile
from catalog.yaml_fast import load_plain_yaml
from tests.paths import RESTAURANT_CATALOG
from tests.unit.catalog_helpers import only_problem, problems_of

SHOP = """\
shop:
  name: Test Grill
  currency: USD
products:
"""
CSV_SHOP = "shop,name,Test Grill\nshop,currency,USD\n"


def write(tmp_path: Path, text: str, name: str = "menu.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def catalog_of(products: list[dict[str, object]]) -> Catalog:
    return Catalog(CatalogFile.model_validate(
        {"shop": {"name": "Test Grill"}, "products": products}))


def found(catalog: Catalog, retailer_id: str) -> tuple[str, str | None] | None:
    hit = catalog.by_retailer_id(retailer_id)
    return None if hit is None else (hit[0].id, hit[1].id if hit[1] else None)


SIZES = [{"id": "small", "name": "Small", "default": True},
         {"id": "large", "name": "Large", "price": "2.50", "retailer_id": "SKU-COLA-1L"}]


# ----------------------------------------------------------------------------- the mapping


def test_a_variants_retailer_id_names_that_variant() -> None:
    catalog = catalog_of([{"id": "cola", "name": "Cola", "price": "1.50", "variants": SIZES,
                           "retailer_id": "SKU-COLA"}])
    assert found(catalog, "SKU-COLA-1L") == ("cola", "large")


def test_a_products_retailer_id_means_its_default_variant() -> None:
    catalog = catalog_of([{"id": "cola", "name": "Cola", "price": "1.50", "variants": SIZES,
                           "retailer_id": "SKU-COLA"}])
    assert found(catalog, "SKU-COLA") == ("cola", "small")


def test_a_products_retailer_id_without_a_default_variant_leaves_the_size_open() -> None:
    catalog = catalog_of([{"id": "pizza", "name": "Pizza", "price": "9", "retailer_id": "P-1",
                           "variants": [{"id": "small", "name": "Small"},
                                        {"id": "large", "name": "Large"}]}])
    assert found(catalog, "P-1") == ("pizza", None)


def test_without_retailer_ids_the_catalog_ids_name_items() -> None:
    catalog = catalog_of([
        {"id": "cola", "name": "Cola", "price": "1.50", "variants": SIZES},
        {"id": "water", "name": "Water", "price": "1"},
    ])
    assert found(catalog, "water") == ("water", None)
    assert found(catalog, "cola") == ("cola", "small")
    assert found(catalog, "cola:large") == ("cola", "large")
    assert found(catalog, "cola-large") == ("cola", "large")
    assert found(catalog, "  Cola-Large ") == ("cola", "large")  # ids are lower case anyway
    assert found(catalog, "cola-medium") is None
    assert found(catalog, "lemonade") is None
    assert found(catalog, "") is None


def test_a_dash_is_read_as_part_of_a_product_id_before_it_is_read_as_a_variant() -> None:
    catalog = catalog_of([
        {"id": "chicken", "name": "Chicken", "price": "5",
         "variants": [{"id": "plate", "name": "Plate"}, {"id": "wrap", "name": "Wrap"}]},
        {"id": "chicken-plate", "name": "Chicken Plate", "price": "9"},
        {"id": "chicken-plate-deluxe", "name": "Deluxe Chicken Plate", "price": "12",
         "variants": [{"id": "big", "name": "Big"}]},
    ])
    assert found(catalog, "chicken-plate") == ("chicken-plate", None)
    assert found(catalog, "chicken-wrap") == ("chicken", "wrap")
    assert found(catalog, "chicken-plate-deluxe-big") == ("chicken-plate-deluxe", "big")


def test_the_shops_retailer_ids_win_over_catalog_ids() -> None:
    catalog = catalog_of([
        {"id": "cola", "name": "Cola", "price": "1.50"},
        {"id": "pepsi", "name": "Pepsi", "price": "1.50", "retailer_id": "cola"},
    ])
    assert found(catalog, "cola") == ("pepsi", None)


def test_retailer_ids_are_matched_exactly_apart_from_spaces_around() -> None:
    catalog = catalog_of([{"id": "cola", "name": "Cola", "price": "1.50",
                           "retailer_id": "SKU-Cola"}])
    assert found(catalog, " SKU-Cola ") == ("cola", None)
    assert found(catalog, "sku-cola") is None


def test_the_sample_menu_answers_the_sample_whatsapp_cart() -> None:
    catalog = load_catalog(RESTAURANT_CATALOG)
    assert found(catalog, "SKU-PIZZA-MARG-L") == ("margherita-pizza", "large")
    assert found(catalog, "SKU-COLA-330") == ("coca-cola", "small")


# ----------------------------------------------------------------------------- validation


def test_a_retailer_id_on_two_products_names_both_and_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + """\
      - id: pepsi
        name: Pepsi
        price: 1.99
        retailer_id: SKU-1
      - id: cola
        name: Cola
        price: 1.99
        retailer_id: SKU-1
    """)
    problem = only_problem(path)
    assert problem.line == 12
    assert problem.field == "product 'cola' > retailer_id"
    assert "The retailer id 'SKU-1' is already used by product 'pepsi' (line 8)." in str(problem)
    assert "its own retailer id" in problem.suggestion


def test_a_retailer_id_on_a_variant_and_another_product_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + """\
      - id: pepsi
        name: Pepsi
        price: 1.99
        variants:
          - {id: small, name: Small, default: true}
          - {id: large, name: Large, retailer_id: SKU-1}
      - id: cola
        name: Cola
        price: 1.99
        retailer_id: SKU-1
    """)
    problem = only_problem(path)
    assert problem.line == 14
    assert "already used by product 'pepsi' > variant 'large' (line 10)" in problem.message


def test_two_variants_of_one_product_with_one_retailer_id(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + """\
      - id: pepsi
        name: Pepsi
        price: 1.99
        variants:
          - {id: small, name: Small, retailer_id: P}
          - {id: large, name: Large, retailer_id: P}
    """)
    problem = only_problem(path)
    assert problem.field == "product 'pepsi' > variant 'large' > retailer_id"
    assert "already used by product 'pepsi' > variant 'small' (line 9)" in problem.message


def test_the_quick_check_refuses_what_the_exact_check_reports() -> None:
    text = (SHOP + "  - {id: a, name: A, price: 1, retailer_id: X}\n"
                   "  - {id: b, name: B, price: 1, retailer_id: X}\n").encode()
    data = load_plain_yaml(text)
    assert data is not None
    assert validated_quickly(data) is None
    with pytest.raises(CatalogError):
        load_catalog_bytes(text, "menu.yaml")
    fine = text.replace(b"retailer_id: X}\n", b"retailer_id: Y}\n", 1)
    assert load_catalog_bytes(fine, "menu.yaml").by_retailer_id("Y") is not None


def test_an_empty_retailer_id_is_a_problem_not_a_silent_blank(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + """\
      - id: pepsi
        name: Pepsi
        price: 1.99
        retailer_id: ""
    """)
    [problem] = problems_of(path)
    assert problem.line == 8 and "retailer_id" in problem.field


def test_numeric_retailer_ids_stay_text(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + """\
      - id: pepsi
        name: Pepsi
        price: 1.99
        retailer_id: 000123
    """)
    assert found(load_catalog(path), "000123") == ("pepsi", None)


# ----------------------------------------------------------------------------- CSV


def test_csv_retailer_id_column_and_variant_ids_after_at(tmp_path: Path) -> None:
    path = write(tmp_path, CSV_SHOP + (
        "id,name,price,variants,retailer_id\n"
        "pepsi,Pepsi,1.99,Small(can)*@SKU-P-S|Large(big|bottle)=2.99@SKU-P-L,SKU-PEPSI\n"
        "water,Water,1.00,,SKU-WATER\n"), "menu.csv")
    catalog = load_catalog(path)
    assert found(catalog, "SKU-P-L") == ("pepsi", "large")
    assert found(catalog, "SKU-P-S") == ("pepsi", "small")
    assert found(catalog, "SKU-PEPSI") == ("pepsi", "small")
    assert found(catalog, "SKU-WATER") == ("water", None)
    pepsi = catalog.product("pepsi")
    assert pepsi is not None and pepsi.default_variant is not None
    assert pepsi.default_variant.id == "small"  # the '*' before the '@' still counts


def test_variant_cell_syntax_with_retailer_ids() -> None:
    assert parse_variants("Regular@R-1*|Large(big|x@l)=11.99@R-2") == [
        {"id": "regular", "name": "Regular", "default": "true", "retailer_id": "R-1"},
        {"id": "large", "name": "Large", "aliases": ["big", "x@l"], "price": "11.99",
         "retailer_id": "R-2"},
    ]
    with pytest.raises(CellError, match="no retailer id after it"):
        parse_variants("Large=11.99@")


def test_csv_duplicate_retailer_id_names_the_column_and_both_rows(tmp_path: Path) -> None:
    path = write(tmp_path, CSV_SHOP + (
        "id,name,price,retailer_id\n"
        "pepsi,Pepsi,1.99,SKU-1\n"
        "cola,Cola,1.99,SKU-1\n"), "menu.csv")
    problem = only_problem(path)
    assert problem.line == 5
    assert problem.field == "product 'cola' > column 'retailer_id'"
    assert "already used by product 'pepsi' (line 4)" in problem.message
