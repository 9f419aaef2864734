"""The CSV catalog format: the sample, the cell mini-syntaxes, and problems by row and column."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from catalog.csv_format import CellError, parse_named_list, parse_options, parse_variants
from catalog.loader import load_catalog
from tests.paths import FIXTURES, RESTAURANT_CATALOG
from tests.unit.catalog_helpers import only_problem, problems_of

RESTAURANT_CSV = FIXTURES / "catalog" / "restaurant.csv"
SHOP_ROWS = "shop,name,Test Grill\nshop,currency,USD\n"
HEADER = "id,name,category,price,aliases,variants,ingredients,options\n"


def write(tmp_path: Path, text: str, name: str = "menu.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path




def test_restaurant_csv_loads_and_matches_the_yaml_sample() -> None:
    from_csv = load_catalog(RESTAURANT_CSV)
    from_yaml = load_catalog(RESTAURANT_CATALOG)
    assert len(from_csv) >= 10
    assert from_csv.shop == from_yaml.shop
    for product in from_csv:
        assert product == from_yaml.product(product.id), product.id


def test_restaurant_csv_covers_every_mini_syntax() -> None:
    catalog = load_catalog(RESTAURANT_CSV)
    burger = catalog.product("cheeseburger")
    assert burger is not None
    assert [(g.group, g.min, g.max) for g in burger.options] == [("Doneness", 1, 1),
                                                                  ("Add-ons", 0, 2)]
    pizza = catalog.product("margherita-pizza")
    assert pizza is not None
    assert pizza.default_variant is None
    assert pizza.variants[0].aliases == ('10"',)
    lamb = catalog.product("lamb-shawarma")
    assert lamb is not None
    assert lamb.available is False


def test_variants_syntax() -> None:
    assert parse_variants("Regular*|Large(big|xl)=11.99") == [
        {"id": "regular", "name": "Regular", "default": "true"},
        {"id": "large", "name": "Large", "aliases": ["big", "xl"], "price": "11.99"},
    ]
    # The star may also stand right after the name.
    assert parse_variants("Small*=1.99 | 500 ml x 24 = 5.99") == [
        {"id": "small", "name": "Small", "price": "1.99", "default": "true"},
        {"id": "500-ml-x-24", "name": "500 ml x 24", "price": "5.99"},
    ]


def test_ingredients_syntax() -> None:
    assert parse_named_list("Garlic sauce(garlic|toum)|Pickles | Crème fraîche") == [
        {"id": "garlic-sauce", "name": "Garlic sauce", "aliases": ["garlic", "toum"]},
        {"id": "pickles", "name": "Pickles"},
        {"id": "creme-fraiche", "name": "Crème fraîche"},
    ]


def test_options_syntax() -> None:
    groups = parse_options(
        "Extras[0-3]: Cheese+1.00|Extra meat(double meat)+3.00|Fries inside; "
        "Doneness[1]: Medium|Well-done; Sauce: Mild|No bread-0.50"
    )
    assert groups == [
        {"group": "Extras", "min": "0", "max": "3", "choices": [
            {"id": "cheese", "name": "Cheese", "price": "1.00"},
            {"id": "extra-meat", "name": "Extra meat", "aliases": ["double meat"],
             "price": "3.00"},
            {"id": "fries-inside", "name": "Fries inside"}]},
        {"group": "Doneness", "min": "1", "max": "1", "choices": [
            {"id": "medium", "name": "Medium"}, {"id": "well-done", "name": "Well-done"}]},
        {"group": "Sauce", "choices": [
            {"id": "mild", "name": "Mild"}, {"id": "no-bread", "name": "No bread",
                                             "price": "-0.50"}]},
    ]


@pytest.mark.parametrize(
    ("text", "wording"),
    [
        ("Garlic(toum", "never closed"),
        ("Garlic)toum", "closing bracket without an opening one"),
        ("(toum)", "not a name with aliases"),
    ],
)
def test_broken_named_items_explain_themselves(text: str, wording: str) -> None:
    with pytest.raises(CellError) as info:
        parse_named_list(text)
    assert wording in info.value.message
    assert info.value.suggestion


def test_price_problem_names_row_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP_ROWS + "\n" + HEADER + "pepsi,Pepsi,Drinks,1.99\n"
                 "water,Water,Drinks,$1.49\n")
    problem = only_problem(path)
    assert str(problem) == (
        "menu.csv, line 6: product 'water' > column 'price': \"$1.49\" is not a price: it has "
        "a currency sign. Write 1.49 without the currency sign; the currency is set once, in "
        "the shop settings."
    )


def test_problem_inside_a_variants_cell(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP_ROWS + HEADER + "pepsi,Pepsi,Drinks,1.99,,Small*|Large=abc\n")
    problem = only_problem(path)
    assert problem.line == 4
    assert problem.field == "product 'pepsi' > column 'variants' > variant 'large' > price"


def test_every_row_problem_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP_ROWS + HEADER
                 + "a,Alpha,X,1,,Regular*|Large=,Garlic(toum,Extras[0-3] Cheese\n"
                 + "b,Beta,X,abc,,Small*|Large*,,\n")
    problems = problems_of(path)
    assert [(p.line, p.field.split(" > ")[-1]) for p in problems] == [
        (4, "column 'variants'"),
        (4, "column 'ingredients'"),
        (4, "column 'options'"),
        (5, "default"),
        (5, "column 'price'"),
    ]


def test_unknown_and_missing_columns(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP_ROWS + "id,name,pirce,aliasses\npepsi,Pepsi,1.99,\n")
    problems = problems_of(path)
    by_field = {p.field: p for p in problems}
    assert by_field["column 'pirce'"].suggestion == "Did you mean 'price'?"
    assert by_field["column 'aliasses'"].suggestion == "Did you mean 'aliases'?"
    assert by_field["column 'price'"].message == "The 'price' column is missing."
    # Only the header is blamed: one missing column must not give a problem on every row.
    assert len(problems) == 3
    assert {p.line for p in problems} == {3}


def test_unknown_shop_setting_suggests_the_right_one(tmp_path: Path) -> None:
    path = write(tmp_path, "shop,name,X\nshop,curency,USD\nshop,hours.monday,11:00-23:00\n"
                 + HEADER + "pepsi,Pepsi,Drinks,1.99\n")
    problems = problems_of(path)
    assert [(p.line, p.suggestion) for p in problems] == [
        (2, "Did you mean 'currency'?"),
        (3, "Did you mean 'hours.mon'?"),
    ]


def test_shop_settings_hours_and_fulfillment(tmp_path: Path) -> None:
    path = write(tmp_path, "shop,name,X\nshop,Hours Mon,11:00-15:00|17:00-23:00\n"
                 "shop,hours.sun,Closed\nshop,fulfillment,pickup|delivery\n"
                 "shop,owner_whatsapp,15550001111\nshop,currency,\n" + HEADER
                 + "pepsi,Pepsi,Drinks,1.99\n")
    shop = load_catalog(path).shop
    assert shop.currency == "USD"  # an empty value cell means the default
    assert shop.hours == {"mon": ("11:00-15:00", "17:00-23:00"), "sun": ()}
    assert shop.fulfillment == ("pickup", "delivery")
    assert shop.owner_whatsapp == "15550001111"


def test_missing_shop_rows_and_missing_header(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path, HEADER + "pepsi,Pepsi,Drinks,1.99\n"))
    assert problem.message == "The shop settings are missing."
    assert "shop,name," in problem.suggestion
    problem = only_problem(write(tmp_path, SHOP_ROWS + "pepsi,Pepsi,Drinks,1.99\n"))
    assert problem.line == 3
    assert "should name the columns" in problem.message


def test_extra_cell_beyond_the_header(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP_ROWS + "id,name,price\nhalloumi,Halloumi, grilled,6.99\n")
    problems = problems_of(path)
    # The stray comma also pushed "grilled" into the price column; both are said, on row 4.
    assert [(p.line, p.field) for p in problems] == [
        (4, "product 'halloumi'"), (4, "product 'halloumi' > column 'price'")]
    assert "put the value in quotes" in problems[0].suggestion


def test_spreadsheet_quirks_are_tolerated(tmp_path: Path) -> None:
    # Excel pads rows with empty cells, users add blank and comment rows, and a quoted cell
    # may span two physical lines; the line numbers must still be the spreadsheet's rows.
    text = ("shop,name,Test Grill,,,\n\n# drinks below,,,\n"
            "ID,Name,Price,Low Stock At,Stock,Available\n"
            '"pepsi","Pepsi\nCola",1.99,,,TRUE\n'
            ",Crème Brûlée,4.50,2,,no\n"
            "water,Water,abc,,,\n")
    path = write(tmp_path, text)
    problem = only_problem(path)
    assert (problem.line, problem.field) == (8, "product 'water' > column 'price'")
    path = write(tmp_path, text.replace("abc", "1.49"))
    catalog = load_catalog(path)
    dessert = catalog.product("creme-brulee")
    assert dessert is not None
    assert (dessert.available, dessert.low_stock_at, dessert.stock) == (False, 2, None)


def test_semicolon_separated_file_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "menu.csv"
    path.write_bytes("\ufeffshop;name;Café\nid;name;price\nlatte;Latte;3,50\n".encode())
    problem = only_problem(path)
    assert problem.line == 3
    assert "Write 3.50 with a point" in problem.suggestion


def test_windows_1252_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "menu.csv"
    path.write_bytes("shop,name,Café Olé\nid,name,price\nlatte,Café Latte,3.50\n".encode("cp1252"))
    catalog = load_catalog(path)
    assert catalog.shop.name == "Café Olé"
    latte = catalog.product("latte")
    assert latte is not None
    assert (latte.name, latte.price) == ("Café Latte", Decimal("3.50"))


def test_alias_shared_by_two_rows(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP_ROWS + HEADER + "coca-cola,Coca-Cola,Drinks,1.99,coke\n"
                 "diet-coke,Diet Coke,Drinks,1.99,light|Coke\n")
    problem = only_problem(path)
    assert problem.line == 5
    assert problem.field == "product 'diet-coke' > column 'aliases'"
    assert "'coca-cola' (line 4) and 'diet-coke'" in problem.message


def test_shop_setting_below_the_header_is_pointed_out(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP_ROWS + HEADER + "pepsi,Pepsi,Drinks,1.99\nshop,timezone,UTC\n")
    problem = only_problem(path)
    assert problem.line == 5
    assert "Move the row up" in problem.suggestion
