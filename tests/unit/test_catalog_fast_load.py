"""Loading big catalogs quickly: the quick reader and checks agree with the exact ones, and a
mistake anywhere in a big file is still reported exactly as before, with its line."""

from __future__ import annotations

import contextlib
import copy
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from catalog.csv_format import parse_csv
from catalog.errors import CatalogError, CatalogProblem, RawCatalog
from catalog.loader import load_catalog, load_catalog_bytes, validate, validated_quickly
from catalog.yaml_fast import load_plain_yaml, load_plain_yaml_lines
from catalog.yaml_lines import parse_yaml
from tests.paths import FIXTURES, RESTAURANT_CATALOG
from tests.unit.catalog_helpers import generator, problems_of
from tests.unit.parser_catalog import pizza_data, restaurant_data

GROCERY_CATALOG = FIXTURES / "catalog" / "grocery.yaml"

# What owners write by hand: comments, quotes, flow and block lists, lists lined up with their
# key, a discount, empty values, '---' on top.
HAND_WRITTEN = """\
---
# Sahara Grill, edited by hand
shop:
  name: "Sahara Grill"   # as on the sign
  currency: USD
  timezone: America/New_York
  hours:
    mon: 11:00-23:00
    tue: [11:00-15:00, 17:00-23:00]
    sun: closed
  fulfillment: [pickup, delivery]
  owner_whatsapp: '15550001111'

products:
- id: chicken-shawarma
  name: Chicken Shawarma
  category: Wraps
  price: 8.99
  aliases: [shawerma, "djej", 'it''s good']
  variants:
    - {id: regular, name: Regular, default: true}
    - id: large
      name: Large
      price: 11.99
      aliases: big
  ingredients:
  - {id: garlic, name: Garlic sauce, aliases: [garlic, toum]}
  - id: pickles
    name: Pickles
  options:
    - group: Extras
      min: 0
      max: 2
      choices:
        - {id: cheese, name: Cheese, price: 1.00}
        - {id: fries-inside, name: Fries inside, price: -0.50}
-   id: pepsi
    name: Pepsi
    price: 1.99
    available: yes
    stock: ~
    low_stock_at:
    aliases: []
"""




def exact_problems(content: bytes, name: str) -> list[CatalogProblem]:
    """What the exact (line-tracking) reading reports, bypassing every quick path."""
    raw = parse_yaml(content, name) if name.endswith(".yaml") else parse_csv(content, name)
    with pytest.raises(CatalogError) as info:
        validate(raw)
    return info.value.problems


# ------------------------------------------------------------------- the quick YAML reader


@pytest.mark.parametrize("text", [
    RESTAURANT_CATALOG.read_text(encoding="utf-8"),
    GROCERY_CATALOG.read_text(encoding="utf-8"),
    HAND_WRITTEN,
    HAND_WRITTEN.replace("\n", "\r\n"),  # saved on Windows
    "\ufeff" + HAND_WRITTEN,  # with a byte order mark
], ids=["restaurant", "grocery", "hand-written", "crlf", "bom"])
def test_quick_reader_builds_what_the_event_walk_builds(text: str) -> None:
    content = text.encode("utf-8")
    exact = parse_yaml(content, "menu.yaml")
    assert exact.problems == []
    assert load_plain_yaml(content) == exact.data
    noted = load_plain_yaml_lines(content, "menu.yaml")
    assert noted is not None
    assert (noted.data, noted.lines, noted.problems) == (exact.data, exact.lines, [])


@pytest.mark.parametrize("snippet", [
    "price: &p 7.50\nother: *p\n",  # anchors and aliases
    "a:\n  <<: {b: c}\n",  # merge keys
    "name: !!str 7up\n",  # tags
    "name: |\n  two\n  lines\n",  # block scalars
    "name: Chicken\n  Shawarma\n",  # a plain scalar over two lines
    'name: "tab\\there"\n',  # escapes
    "name: Pepsi\nname: Coke\n",  # a key written twice
    "name:\tPepsi\n",  # a tab
    "a: 1\n---\nb: 2\n",  # a second document
    "aliases: [coke,\n  cola]\n",  # a flow list over two lines
    "? name\n: Pepsi\n",  # a complex key
    "name: Pepsi: Max\n",  # ': ' inside a plain value
    "- a\n- b\n",  # not a mapping at the top
    "",  # empty
    "products:\n  - id: a\n   name: b\n",  # odd indentation
    "aliases: [a, , b]\n",  # an empty list item
])
def test_quick_reader_leaves_what_it_does_not_handle_to_the_exact_reader(snippet: str) -> None:
    assert load_plain_yaml(snippet.encode("utf-8")) is None


def test_quick_reader_agrees_with_the_event_walk_on_mutated_files() -> None:
    # Whatever the quick reader accepts, the exact one reads the same, without a problem.
    rng = random.Random(20240501)
    bases = [HAND_WRITTEN, RESTAURANT_CATALOG.read_text(encoding="utf-8")]
    pieces = [":", ": ", "- ", "#", " #", "'", '"', "[", "]", "{", "}", ",", "&a", "*a", "!",
              "|", ">", "\t", "~", "null", "---", " ", "  ", "?", "%", "@", "\\", "\r", "x",
              "é", "\u00a0", "<<: ", "a: b", "[a, b]", "{a: b}", "-1", "`", "\ufeff"]
    accepted = 0
    for _ in range(800):
        lines = rng.choice(bases).split("\n")
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(lines))
            line, cut = lines[i], rng.randint(0, len(lines[i]))
            roll = rng.random()
            if roll < 0.55:
                lines[i] = line[:cut] + rng.choice(pieces) + line[cut:]
            elif roll < 0.7:
                lines[i] = line[:cut] + line[cut + rng.randint(1, 4):]
            elif roll < 0.85:
                lines[i] = " " * rng.randint(0, 4) + line.lstrip(" ")
            else:
                lines.insert(i, rng.choice(lines))
        content = "\n".join(lines).encode("utf-8")
        quick = load_plain_yaml(content)
        if quick is None:
            continue
        accepted += 1
        exact = parse_yaml(content, "menu.yaml")
        assert exact.problems == [], content.decode("utf-8")
        assert exact.data == quick, content.decode("utf-8")
        # ... and when it notes lines (to explain problems), they are the event walk's lines
        noted = load_plain_yaml_lines(content, "menu.yaml")
        if noted is not None:
            assert noted.data == quick
            assert noted.lines == exact.lines, content.decode("utf-8")
    assert accepted > 50  # the comparison did happen


def test_repeated_lines_are_read_once_and_still_reported_each(tmp_path: Path) -> None:
    # The quick reader reads a repeated line once; a mistake in it is found on every line.
    bad = '      - {id: large, name: Large, price: "2,50"}\n'
    path = tmp_path / "menu.yaml"
    path.write_text("shop:\n  name: Shop\nproducts:\n" + "".join(
        f"  - id: drink-{n}\n    name: Drink {n}\n    price: 1.50\n    variants:\n"
        f"      - {{id: small, name: Small, default: true}}\n{bad}" for n in range(3)),
        encoding="utf-8")
    problems = problems_of(path)
    assert [p.line for p in problems] == [9, 15, 21]
    assert all("with a point, not a comma" in p.suggestion for p in problems)


# --------------------------------------------------- the quick checks against the exact ones


def _edits() -> list[Callable[[dict[str, Any]], None]]:
    """Ways to break (or not) a catalog's data, each one a thing `validate` may report."""

    def product(data: dict[str, Any], number: int) -> dict[str, Any]:
        found: dict[str, Any] = data["products"][number % len(data["products"])]
        return found

    def with_variants(data: dict[str, Any]) -> dict[str, Any]:
        return next(p for p in data["products"] if p.get("variants"))

    return [
        # fine
        lambda d: product(d, 6).update(aliases="unique alias"),
        lambda d: product(d, 1).update(price="12.00"),
        lambda d: product(d, 2).update(name=product(d, 2)["name"] + "  "),
        lambda d: product(d, 3).update(aliases=[product(d, 3)["name"].lower()]),
        lambda d: d["products"].append({"id": "extra", "name": "Extra One", "price": "1"}),
        lambda d: d["products"].reverse(),
        lambda d: product(d, 0).update(variants=with_variants(d)["variants"]),  # shared list
        lambda d: product(d, 4).update(variants=[*with_variants(d)["variants"]]),
        # mistakes, or not
        lambda d: product(d, 3).update(id=product(d, 1)["id"]),  # an id used twice
        lambda d: product(d, 2).update(aliases=[product(d, 5)["name"].upper()]),  # shared name
        lambda d: product(d, 4).update(name="  " + product(d, 7)["name"].lower() + " "),
        lambda d: product(d, 8).update(price="7,50"),
        lambda d: product(d, 9).update(id=""),
        lambda d: product(d, 9).pop("id"),
        lambda d: product(d, 10).update(name=None),
        lambda d: with_variants(d).update(variants=[*with_variants(d)["variants"],
                                                    {"id": "xl", "name": "Regular"}]),
        lambda d: with_variants(d).update(variants=[{**v, "default": "yes"}
                                                    for v in with_variants(d)["variants"]]),
        lambda d: with_variants(d).update(variants=[*with_variants(d)["variants"],
                                                    with_variants(d)["variants"][0]]),
        lambda d: with_variants(d).update(variants="Large"),
        lambda d: with_variants(d).update(variants=[*with_variants(d)["variants"], "Large"]),
        lambda d: with_variants(d)["variants"].append({"id": "xl", "name": "XL", "price": "-1"}),
        lambda d: d["products"].append("not a product"),
        lambda d: d["products"].append({"id": "new", "name": "New", "price": "1",
                                         "ingredients": [{"id": "a", "name": "Salt"},
                                                         {"id": "b", "name": "salt"}]}),
        lambda d: d["products"].append({"id": "new", "name": "New", "price": "1", "options": [
            {"group": "A", "choices": [{"id": "a", "name": "Cheese"}]},
            {"group": "B", "choices": [{"id": "b", "name": "cheese"}]}]}),
        lambda d: d["products"].append({"id": "new", "name": "New", "price": "1", "options": [
            {"group": "A", "max": 3, "choices": [{"id": "a", "name": "Cheese"}]}]}),
        lambda d: d.update(shop={"name": "X", "currency": "usd"}),
        lambda d: d.pop("shop"),
        lambda d: d.update(products=[]),
        lambda d: d.update(products="none"),
        lambda d: d.update(extra="field"),
        # a value of the wrong kind where text, a price or a list of names is expected
        lambda d: product(d, 5).update(id=["a", "b"]),
        lambda d: product(d, 6).update(name={"x": "y"}),
        lambda d: product(d, 7).update(price=["1", "2"]),
        lambda d: product(d, 8).update(aliases="5"),
        lambda d: product(d, 9).update(aliases=["1664", "kronenbourg"]),  # fine: a list
        lambda d: d["products"].append({"id": "new", "name": "New", "price": "1",
                                         "ingredients": [{"id": "a", "name": "Salt",
                                                          "aliases": "4"}]}),
    ]


@pytest.mark.parametrize("make", [restaurant_data, pizza_data], ids=["restaurant", "pizza"])
def test_quick_checks_accept_exactly_what_validate_accepts(make: Callable[[], Any]) -> None:
    rng = random.Random(7)
    edits = _edits()
    outcomes = {"accepted": 0, "rejected": 0}
    for trial in range(400):
        data = copy.deepcopy(make())  # its lists are shared with other tests; keep them intact
        fine, risky = edits[:8], edits[8:]
        chosen = rng.sample(fine, rng.randint(0, 3)) + rng.sample(risky, rng.randint(0, 1))
        for edit in chosen if trial else []:
            with contextlib.suppress(AttributeError, TypeError, StopIteration, ZeroDivisionError):
                edit(data)  # an edit may not apply after another one (no products left)
        untouched = copy.deepcopy(data)
        quick = validated_quickly(data)
        assert data == untouched  # the data is read, never changed
        try:
            exact = validate(RawCatalog(file="menu.yaml", data=data))
        except CatalogError:
            assert quick is None, data
            outcomes["rejected"] += 1
        else:
            assert quick == exact, data
            outcomes["accepted"] += 1
    assert min(outcomes.values()) > 50, outcomes


# ------------------------------------------------------------- mistakes deep in a big file


@pytest.fixture(scope="module")
def big_catalog_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    module = generator()
    products = module.generate(2000)
    return {"yaml": module.to_yaml(products).encode("utf-8"),
            "csv": module.to_csv(products).encode("utf-8")}


def _line_of(content: bytes, needle: str, nth: int = 1) -> int:
    text = content.decode("utf-8")
    at = -1
    for _ in range(nth):
        at = text.index(needle, at + 1)
    return text.count("\n", 0, at) + 1


def test_a_mistake_deep_in_a_big_yaml_file_has_its_line(
        big_catalog_files: dict[str, bytes]) -> None:
    content = big_catalog_files["yaml"]
    # Near the end, once: a currency sign on the price of a pack size many products share.
    target = "      - {id: 5-kg, name: 5 kg, aliases: [5kg], price: "
    where = content.rindex(target.encode()) + len(target)
    broken = content[:where] + b"$9.99}" + content[content.index(b"}", where) + 1:]
    with pytest.raises(CatalogError) as info:
        load_catalog_bytes(broken, "big.yaml")
    problems = info.value.problems
    assert problems == exact_problems(broken, "big.yaml")
    assert len(problems) == 1
    assert problems[0].line == _line_of(broken, "price: $9.99}")
    assert problems[0].line > 10_000
    assert "it has a currency sign" in problems[0].message


def test_a_copied_product_in_a_big_yaml_file_is_reported_where_it_is(
        big_catalog_files: dict[str, bytes]) -> None:
    content = big_catalog_files["yaml"]
    first = content.index(b"  - id: ")
    second = content.index(b"  - id: ", first + 1)
    copied = content[first:second]
    broken = content + copied  # the first product again, at the very end
    with pytest.raises(CatalogError) as info:
        load_catalog_bytes(broken, "big.yaml")
    problems = info.value.problems
    assert problems == exact_problems(broken, "big.yaml")
    assert problems[0].line == content.count(b"\n") + 1
    assert "is already used by the product on line 18" in problems[0].message


def test_a_mistake_deep_in_a_big_csv_file_has_its_line(
        big_catalog_files: dict[str, bytes]) -> None:
    content = big_catalog_files["csv"]
    rows = content.decode("utf-8").split("\n")
    header = next(i for i, row in enumerate(rows) if row.startswith("id,"))
    other = rows[header + 1].split(",")[1]  # the first product's name
    cells = rows[-2].split(",")
    cells[4] = f"{cells[4]}|{other}"  # the last product gets an alias that names the first
    rows[-2] = ",".join(cells)
    broken = "\n".join(rows).encode("utf-8")
    with pytest.raises(CatalogError) as info:
        load_catalog_bytes(broken, "big.csv")
    problems = info.value.problems
    assert problems == exact_problems(broken, "big.csv")
    assert [p.line for p in problems] == [len(rows) - 1]
    assert f'"{other}" is a name of two products' in problems[0].message


def test_yaml_and_csv_of_one_generated_catalog_load_the_same(
        big_catalog_files: dict[str, bytes]) -> None:
    from_yaml = load_catalog_bytes(big_catalog_files["yaml"], "big.yaml")
    from_csv = load_catalog_bytes(big_catalog_files["csv"], "big.csv")
    assert len(from_yaml) == 2000
    assert from_yaml.data == from_csv.data
    # ... and both what the exact reading makes of them
    exact = validate(parse_yaml(big_catalog_files["yaml"], "big.yaml"))
    assert from_yaml.data == exact


def test_generator_writes_csv_when_asked(tmp_path: Path) -> None:
    module = generator()
    by_suffix, by_flag = tmp_path / "g.csv", tmp_path / "g.txt"
    assert module.main(["--count", "200", "--out", str(by_suffix)]) == 0
    assert module.main(["--count", "200", "--out", str(by_flag), "--format", "csv"]) == 0
    assert by_suffix.read_bytes() == by_flag.read_bytes()
    assert by_suffix.read_text(encoding="utf-8").splitlines()[1] == \
        "shop,name,Green Basket Wholesale"
    yaml_file = tmp_path / "g.yaml"
    assert module.main(["--count", "200", "--out", str(yaml_file)]) == 0
    assert load_catalog(by_suffix).data == load_catalog(yaml_file).data
