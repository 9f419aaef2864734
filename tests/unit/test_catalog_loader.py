"""Loading YAML catalogs: the samples, and every mistake reported where the owner made it."""

from __future__ import annotations

import textwrap
import time
from decimal import Decimal
from pathlib import Path

import pytest

from catalog.check import check_catalog_file
from catalog.errors import CatalogError
from catalog.loader import load_catalog
from tests.paths import FIXTURES, RESTAURANT_CATALOG
from tests.unit.catalog_helpers import generator, only_problem, problems_of

GROCERY_CATALOG = FIXTURES / "catalog" / "grocery.yaml"

SHOP = """\
shop:
  name: Test Grill
  currency: USD
products:
"""


def write(tmp_path: Path, text: str, name: str = "menu.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path





# ----------------------------------------------------------------------------- the samples


def test_restaurant_sample_has_the_products_the_bot_relies_on() -> None:
    catalog = load_catalog(RESTAURANT_CATALOG)
    shawarma = catalog.product("chicken-shawarma")
    assert shawarma is not None
    assert [v.id for v in shawarma.variants] == ["regular", "large"]
    assert shawarma.default_variant is not None
    assert shawarma.default_variant.id == "regular"
    assert [i.id for i in shawarma.ingredients] == ["garlic-sauce", "pickles", "onions",
                                                    "tomatoes"]
    assert set(shawarma.ingredients[0].aliases) == {"garlic", "toum"}
    extras = shawarma.options[0]
    assert (extras.group, extras.min, extras.max) == ("Extras", 0, 3)
    assert [c.id for c in extras.choices] == ["cheese", "extra-meat", "fries-inside"]
    assert {"shawerma", "chawarma", "djej"} <= {w for a in shawarma.aliases for w in a.split()}

    burger = catalog.product("cheeseburger")
    assert burger is not None
    doneness = burger.options[0]
    assert (doneness.group, doneness.min, doneness.max) == ("Doneness", 1, 1)
    assert [c.id for c in doneness.choices] == ["medium", "well-done"]
    assert [i.id for i in burger.ingredients] == ["pickles", "onions", "ketchup"]

    pizza = catalog.product("margherita-pizza")
    assert pizza is not None
    assert [v.id for v in pizza.variants] == ["small", "medium", "large"]
    assert pizza.default_variant is None  # the size has to be asked

    coke = catalog.product("coca-cola")
    assert coke is not None
    assert "coke" in coke.aliases
    pepsi = catalog.product("pepsi")
    assert pepsi is not None
    assert pepsi.variant("large") is not None
    for product_id in ("beef-shawarma", "falafel-wrap", "fries", "garlic-bread", "hummus",
                       "water", "ayran", "baklava"):
        assert catalog.product(product_id) is not None, product_id


def test_restaurant_sample_shop_and_shape() -> None:
    catalog = load_catalog(RESTAURANT_CATALOG)
    shop = catalog.shop
    assert (shop.currency, shop.timezone, shop.owner_whatsapp) == (
        "USD", "America/New_York", "15550001111")
    assert shop.fulfillment == ("pickup", "delivery")
    assert shop.hours["fri"] == ("11:00-02:00",)  # past midnight
    assert 55 <= len(catalog) <= 65
    assert len(catalog.categories()) >= 8
    assert sum(not p.available for p in catalog) >= 2
    assert any(p.stock is not None and p.low_stock_at is not None for p in catalog)
    fries = catalog.product("fries")
    assert fries is not None
    assert fries.unit_price("large") == Decimal("5.49")


def test_grocery_sample_is_big_small_on_disk_and_fast() -> None:
    assert GROCERY_CATALOG.stat().st_size < 1_500_000
    started = time.perf_counter()
    catalog = load_catalog(GROCERY_CATALOG)
    elapsed = time.perf_counter() - started
    assert len(catalog) >= 2000
    assert sum(len(p.variants) for p in catalog) > 2 * len(catalog)
    assert elapsed < 1.0, f"loading {len(catalog)} products took {elapsed:.2f}s"


def test_grocery_sample_is_what_its_generator_writes() -> None:
    # The committed file must not drift from the script that documents how it was made.
    module = generator()
    assert module.to_yaml(module.generate()) == GROCERY_CATALOG.read_text(encoding="utf-8")


def test_grocery_generator_count_and_out_options(tmp_path: Path) -> None:
    out = tmp_path / "big.yaml"
    assert generator().main(["--count", "300", "--out", str(out)]) == 0
    catalog = load_catalog(out)
    assert len(catalog) == 300
    assert len({p.id for p in catalog}) == 300


# ----------------------------------------------------------------------------- mistakes


def test_unknown_field_names_the_line_and_suggests_the_right_name(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + """\
      - id: chicken-shawarma
        name: Chicken Shawarma
        pirce: 8.99
    """)
    problems = problems_of(path)
    typo = next(p for p in problems if "pirce" in p.message)
    assert typo.line == 7
    assert typo.field == "product 'chicken-shawarma' > pirce"
    assert "did you mean 'price'?" in typo.suggestion.lower()
    # The real price is then missing; that is said too, on the product's line.
    assert any("'price' is missing" in p.message and p.line == 5 for p in problems)


def test_problem_reads_as_one_plain_line(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + """\
      - id: chicken-shawarma
        name: Chicken Shawarma
        price: abc
    """)
    assert str(only_problem(path)) == (
        "menu.yaml, line 7: product 'chicken-shawarma' > price: \"abc\" is not a price. "
        "Write a number like 7.50."
    )


def test_price_with_currency_sign_is_rejected_with_the_fix(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + """\
      - id: pepsi
        name: Pepsi
        price: 1.99
        variants:
          - id: large
            name: Large
            price: $2.99
    """)
    problem = only_problem(path)
    assert problem.line == 11
    assert problem.field == "product 'pepsi' > variant 'large' > price"
    assert "currency sign" in problem.message
    assert "Write 2.99 without the currency sign" in problem.suggestion


def test_decimal_comma_is_rejected_with_the_fix(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + """\
      - id: pepsi
        name: Pepsi
        price: 1,99
    """)
    assert "Write 1.99 with a point" in only_problem(path).suggestion


def test_every_problem_is_reported_at_once_in_file_order(tmp_path: Path) -> None:
    path = write(tmp_path, """\
    shop:
      name: Test Grill
      currency: usd
    products:
      - id: chicken-shawarma
        name: Chicken Shawarma
        price: 8.99
        stock: lots
      - id: pepsi
        name: Pepsi
        price: 1.99
        available: maybe
        variants:
          - id: large
            name: Large
            pirce: 2.99
    """)
    problems = problems_of(path)
    assert [(p.line, p.field) for p in problems] == [
        (3, "shop > currency"),
        (8, "product 'chicken-shawarma' > stock"),
        (12, "product 'pepsi' > available"),
        (16, "product 'pepsi' > variant 'large' > pirce"),
    ]
    assert "Write 'USD'" in problems[0].suggestion
    assert problems[1].message == '"lots" is not a whole number.'


def test_messages_never_contain_raw_pydantic_wording(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + """\
      - id: Chicken Shawarma
        name: ""
        price: [1, 2]
        stock: -1
        available: maybe
        extra: 1
        options:
          - group: Extras
            min: x
            choices: []
    """)
    problems = problems_of(path)
    assert len(problems) == 8
    for problem in problems:
        text = str(problem)
        assert "Input should" not in text
        assert "Value error" not in text
        assert "Field required" not in text
        assert problem.suggestion


def test_duplicate_product_id_points_at_the_second_one(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + """\
      - id: pepsi
        name: Pepsi
        price: 1.99
      - id: pepsi
        name: Pepsi Max
        price: 1.99
    """)
    problem = only_problem(path)
    assert problem.line == 8
    assert problem.field == "product 'pepsi' > id"
    assert "already used by the product on line 5" in problem.message


def test_alias_shared_by_two_products_names_both(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + """\
      - id: coca-cola
        name: Coca-Cola
        price: 1.99
        aliases: [Coke]
      - id: diet-coke
        name: Diet Coke
        price: 1.99
        aliases: [light coke, "  COKE "]
    """)
    problem = only_problem(path)
    assert problem.line == 12
    assert "'coca-cola' (line 8) and 'diet-coke'" in problem.message
    assert "keep it on one product only" in problem.suggestion


def test_name_of_one_product_as_alias_of_another_is_a_clash(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + """\
      - id: fries
        name: French  Fries
        price: 3.99
      - id: curly-fries
        name: Curly Fries
        price: 4.49
        aliases: french fries
    """)
    problem = only_problem(path)
    assert problem.line == 11
    assert "'fries' (line 6) and 'curly-fries'" in problem.message


def test_empty_and_comment_only_files(tmp_path: Path) -> None:
    for text in ("", "# nothing here yet\n"):
        problem = only_problem(write(tmp_path, text))
        assert problem.message == "The file is empty."
        assert "shop:" in problem.suggestion


def test_missing_shop_section(tmp_path: Path) -> None:
    path = write(tmp_path, """\
    products:
      - id: pepsi
        name: Pepsi
        price: 1.99
    """)
    problem = only_problem(path)
    assert problem.field == "shop"
    assert problem.message == "The 'shop' section is missing."


def test_two_default_variants_point_at_the_second_default(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + """\
      - id: pepsi
        name: Pepsi
        price: 1.99
        variants:
          - {id: small, name: Small, default: true}
          - id: large
            name: Large
            default: yes
    """)
    problem = only_problem(path)
    assert problem.line == 12
    assert problem.field == "product 'pepsi' > variant 'large' > default"
    assert "'small' and 'large' both say 'default: true'" in problem.message


def test_default_written_on_the_product_says_where_it_goes(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + """\
      - id: pepsi
        name: Pepsi
        price: 1.99
        default: large
        variants:
          - {id: small, name: Small}
          - {id: large, name: Large}
    """)
    problem = only_problem(path)
    assert problem.line == 8
    assert "write 'default: true' under that variant" in problem.suggestion
    assert "'large'" in problem.suggestion


def test_default_given_a_variant_id_instead_of_true(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + """\
      - id: pepsi
        name: Pepsi
        price: 1.99
        variants:
          - {id: small, name: Small, default: small}
    """)
    problem = only_problem(path)
    assert problem.line == 9
    assert "Write 'default: true' on the one variant" in problem.suggestion


def test_low_stock_at_without_stock_is_fine(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + """\
      - id: baklava
        name: Baklava
        price: 5.49
        low_stock_at: 3
    """)
    product = load_catalog(path).product("baklava")
    assert product is not None
    assert (product.stock, product.low_stock_at) == (None, 3)


def test_every_tab_indented_line_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "menu.yaml"
    path.write_text("shop:\n  name: X\nproducts:\n  - id: a\n\tname: A\n    price: 1\n"
                    "  - id: b\n\tname: B\n", encoding="utf-8")
    problems = problems_of(path)
    assert [p.line for p in problems] == [5, 8]
    assert all("tab" in p.message for p in problems)


def test_bad_indentation_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + """\
      - id: pepsi
        name: Pepsi
         price: 1.99
    """)
    problem = only_problem(path)
    assert problem.line == 7
    assert "line up" in problem.message


def test_missing_colon_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + """\
      - id: pepsi
        price 1.99
        name: Pepsi
    """)
    problem = only_problem(path)
    assert problem.line == 6
    assert "missing the ':'" in problem.message


def test_field_written_twice_in_one_product(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + """\
      - id: pepsi
        name: Pepsi
        price: 1.99
        price: 2.49
    """)
    problem = only_problem(path)
    assert (problem.line, problem.field) == (8, "product 'pepsi' > price")
    assert "written twice" in problem.message
    assert "also on line 7" in problem.message


def test_option_group_bounds_point_at_max(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + """\
      - id: cheeseburger
        name: Cheeseburger
        price: 10.99
        options:
          - group: Doneness
            min: 1
            max: 3
            choices:
              - {id: medium, name: Medium}
              - {id: well-done, name: Well done}
    """)
    problem = only_problem(path)
    assert problem.line == 11
    assert problem.field == "product 'cheeseburger' > option group 'Doneness' > max"
    assert "Lower 'max' or add more choices" in problem.suggestion


def test_misspelled_weekday_suggests_the_right_one(tmp_path: Path) -> None:
    path = write(tmp_path, """\
    shop:
      name: Test Grill
      hours:
        monday: 11:00-23:00
    products:
      - {id: pepsi, name: Pepsi, price: 1.99}
    """)
    problem = only_problem(path)
    assert problem.line == 4
    assert "Did you mean 'mon'?" in problem.suggestion


def test_bad_opening_hours_point_at_the_day(tmp_path: Path) -> None:
    path = write(tmp_path, """\
    shop:
      name: Test Grill
      hours:
        mon: 11:00-23:00
        tue: 9am-5pm
    products:
      - {id: pepsi, name: Pepsi, price: 1.99}
    """)
    problem = only_problem(path)
    assert (problem.line, problem.field) == (5, "shop > hours > tue")
    assert problem.message == "'9am-5pm' is not an opening range."


def test_misspelled_time_zone_suggests_the_real_one(tmp_path: Path) -> None:
    path = write(tmp_path, """\
    shop:
      name: Test Grill
      timezone: america/new york
    products:
      - {id: pepsi, name: Pepsi, price: 1.99}
    """)
    problem = only_problem(path)
    assert problem.line == 3
    assert problem.suggestion == "Did you mean 'America/New_York'?"


def test_unknown_file_type_and_missing_file(tmp_path: Path) -> None:
    assert "not a catalog file type" in only_problem(write(tmp_path, "x", "menu.txt")).message
    assert "does not exist" in only_problem(tmp_path / "nope.yaml").message


# ----------------------------------------------------------------------------- values


def test_prices_keep_exactly_what_was_written(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + """\
      - {id: pepsi, name: Pepsi, price: 1.10}
      - {id: water, name: Water, price: 0.1}
    """)
    catalog = load_catalog(path)
    pepsi, water = catalog.product("pepsi"), catalog.product("water")
    assert pepsi is not None
    assert water is not None
    assert str(pepsi.price) == "1.10"
    assert water.price + water.price + water.price == Decimal("0.3")


def test_numbers_and_yes_no_words_in_names_stay_as_written(tmp_path: Path) -> None:
    path = write(tmp_path, """\
    shop:
      name: Test Grill
      owner_whatsapp: 15550001111
    products:
      - id: 7up
        name: 7up
        price: 1.99
        aliases: [1664, no, 0x10]
        available: yes
    """)
    catalog = load_catalog(path)
    assert catalog.shop.owner_whatsapp == "15550001111"
    product = catalog.product("7up")
    assert product is not None
    assert product.aliases == ("1664", "no", "0x10")
    assert product.available is True


def test_anchors_and_merge_keys_work(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + """\
      - id: pepsi
        name: Pepsi
        price: 1.99
        variants: &drink-sizes
          - {id: small, name: Small, default: true}
          - {id: large, name: Large, price: 2.99}
      - &cola
        id: coca-cola
        name: Coca-Cola
        price: 1.99
        variants: *drink-sizes
      - <<: *cola
        id: diet-coke
        name: Diet Coke
    """)
    catalog = load_catalog(path)
    diet = catalog.product("diet-coke")
    assert diet is not None
    assert diet.price == Decimal("1.99")
    assert [v.id for v in diet.variants] == ["small", "large"]


def test_catalog_error_text_counts_and_lists_problems(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + """\
      - {id: pepsi, name: Pepsi, price: x}
      - {id: water, name: Water, price: y}
    """)
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    lines = str(info.value).splitlines()
    assert lines[0] == "2 problems in menu.yaml:"
    assert lines[1].startswith("menu.yaml, line 5: product 'pepsi' > price:")
    assert lines[2].startswith("menu.yaml, line 6: product 'water' > price:")


# ----------------------------------------------------------------------------- check command


def test_check_summarises_a_good_catalog() -> None:
    code, text = check_catalog_file(RESTAURANT_CATALOG)
    assert code == 0
    lines = text.splitlines()
    assert lines[0] == "restaurant.yaml is OK."
    assert "Shop: Sahara Grill (currency USD" in lines[1]
    assert lines[2].startswith("Products: 64 in 8 categories")
    assert "  Wraps: 9" in lines
    assert any(line.startswith("Unavailable: 4 (lamb-shawarma") for line in lines)
    assert "Products with stock: 6" in lines


def test_check_lists_every_problem_with_a_count(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + """\
      - {id: pepsi, name: Pepsi, price: x}
      - {id: water, name: Water, price: y, pirce: 1}
    """)
    code, text = check_catalog_file(path)
    assert code == 1
    lines = text.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("menu.yaml, line 5:")
    assert lines[-1] == "3 problems found in menu.yaml; the catalog was not loaded."


# ------------------------------------------------------- values of the wrong kind, any reader

# Each mistake, the line it is on, the field and words the owner must see. The file is read by
# the quick reader as written, and by the exact reader when a quoted escape forces it there.
WRONG_KINDS: list[tuple[str, str, str, int, str, str]] = [
    ("id: chicken-wrap", "id: [a, b]", "product #1 > id", 5, "The id must be text, not a list",
     "Write the id on one line"),
    ("id: chicken-wrap", "id: {a: b}", "product #1 > id", 5,
     "The id must be text, not a group of fields", "Write the id on one line"),
    ("name: Chicken Wrap", "name: {x: y}", "product 'chicken-wrap' > name", 6,
     "The name must be text, not a group of fields", "Write the name on one line"),
    ("price: 7.50", "price: [1, 2]", "product 'chicken-wrap' > price", 7,
     "A list is not a price", "Write a number like 7.50"),
    ("aliases: [wrap]", "aliases: 5", "product 'chicken-wrap' > aliases", 8,
     'not the number "5"', "move it to its own field"),
    ("aliases: [wrap]", "aliases: {a: b}", "product 'chicken-wrap' > aliases", 8,
     "A group of fields is not a list", "Write it as a list"),
    ("ingredients: [{id: pickles, name: Pickles}]",
     "ingredients: [{id: pickles, name: Pickles, aliases: 4}]",
     "product 'chicken-wrap' > ingredient 'pickles' > aliases", 9, 'not the number "4"',
     "move it to its own field"),
]
WRONG_KINDS_BASE = SHOP + """\
  - id: chicken-wrap
    name: Chicken Wrap
    price: 7.50
    aliases: [wrap]
    ingredients: [{id: pickles, name: Pickles}]
  - id: fries
    name: Fries
    category: Sides
    price: 3.00
"""


@pytest.mark.parametrize("exact_reader", [False, True], ids=["quick", "exact"])
@pytest.mark.parametrize("case", WRONG_KINDS, ids=[case[1] for case in WRONG_KINDS])
def test_a_value_of_the_wrong_kind_is_a_problem_on_its_line(
        tmp_path: Path, exact_reader: bool, case: tuple[str, str, str, int, str, str]) -> None:
    good, bad, field, line, message, suggestion = case
    text = WRONG_KINDS_BASE.replace(good, bad)
    if exact_reader:  # an escape in a quoted value is beyond the quick reader
        text = text.replace("category: Sides", 'category: "Si\\x64es"')
    problem = only_problem(write(tmp_path, text))
    assert (problem.line, problem.field) == (line, field)
    assert message in problem.message
    assert suggestion in problem.suggestion


def test_the_same_wrong_id_on_two_products_is_reported_on_both(tmp_path: Path) -> None:
    # Used to crash: the duplicate-id check put the list in a dict.
    path = write(tmp_path, WRONG_KINDS_BASE.replace("id: chicken-wrap", "id: [a, b]")
                 .replace("id: fries", "id: [a, b]"))
    problems = problems_of(path)
    assert [(p.line, p.field) for p in problems] == [(5, "product #1 > id"),
                                                     (10, "product #2 > id")]


def test_a_list_of_names_may_hold_a_number_and_a_variant_may_be_named_by_one(
        tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + """\
      - id: kronenbourg
        name: Kronenbourg
        price: 4.50
        aliases: [1664]
        variants:
          - {id: 6-pack, name: 6 bottles, aliases: 6, default: true}
    """)
    product = load_catalog(path).product("kronenbourg")
    assert product is not None
    assert product.aliases == ("1664",)
    assert product.variants[0].aliases == ("6",)


CSV_HEAD = """\
shop,name,Test Grill
id,name,category,price,aliases,ingredients,options
"""
CSV_GOOD = "chicken-wrap,Chicken Wrap,Wraps,7.50,wrap,Pickles,Extras[0-1]: Cheese+1.00\n"
WRONG_CSV_CELLS: list[tuple[str, str, str, str]] = [
    ("chicken-wrap,", '"[a, b]",', "column 'id'", "cannot be used as an id"),
    ("Chicken Wrap,", "Chicken Wrap|Wrap,", "column 'name'",
     'The name must be one piece of text, but "Chicken Wrap|Wrap" is written like a list'),
    ("Chicken Wrap,", "{x: y},", "column 'name'", "is written like a list"),
    ("Wraps,", "Wraps|Sides,", "column 'category'", "is written like a list"),
    ("7.50,", "1|2,", "column 'price'", '"1|2" is not a price'),
    (",wrap,", ",5,", "column 'aliases'", 'not the number "5"'),
    (",wrap,", ",7.50,", "column 'aliases'", 'not the number "7.50"'),
    ("Pickles,", "Pickles(4),", "column 'ingredients' > ingredient 'pickles' > aliases",
     'not the number "4"'),
    ("Cheese+1.00", "Cheese(2)+1.00",
     "column 'options' > option group 'Extras' > choice 'cheese' > aliases", 'not the number "2"'),
]


@pytest.mark.parametrize(("good", "bad", "field", "message"), WRONG_CSV_CELLS,
                         ids=[case[1] for case in WRONG_CSV_CELLS])
def test_a_csv_cell_of_the_wrong_kind_is_a_problem_on_its_row(
        tmp_path: Path, good: str, bad: str, field: str, message: str) -> None:
    path = write(tmp_path, CSV_HEAD + CSV_GOOD.replace(good, bad, 1), name="menu.csv")
    problem = only_problem(path)
    assert problem.line == 3
    assert problem.field.endswith(field), problem.field
    assert message in problem.message


def test_a_csv_aliases_cell_with_a_number_among_names_is_fine(tmp_path: Path) -> None:
    path = write(tmp_path, CSV_HEAD + CSV_GOOD.replace(",wrap,", ",1664|wrap,"), name="menu.csv")
    product = load_catalog(path).product("chicken-wrap")
    assert product is not None
    assert product.aliases == ("1664", "wrap")
