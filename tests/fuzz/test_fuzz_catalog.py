"""Fuzzing the catalog loader: a broken menu file gives the owner a list of problems, never a
traceback. Every mutated file must load as a valid catalog or raise CatalogError with problems."""

from __future__ import annotations

import copy
import math
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.catalog import Catalog
from catalog.errors import CatalogError
from catalog.loader import load_catalog_bytes
from tests.fuzz.budget import examples
from tests.fuzz.strategies import CATALOG_FIXTURES, ODD_PIECES, json_scalar

YAML_SAMPLES = ("corner_cafe.yaml", "restaurant.yaml")
DATA = {name: yaml.safe_load((CATALOG_FIXTURES / name).read_bytes()) for name in YAML_SAMPLES}
TEXTS = {name: (CATALOG_FIXTURES / name).read_text(encoding="utf-8")
         for name in (*YAML_SAMPLES, "restaurant.csv")}

odd_yaml_value = st.one_of(
    json_scalar.filter(lambda v: not isinstance(v, float) or math.isfinite(v)),
    st.lists(json_scalar, max_size=3),
    st.dictionaries(st.sampled_from(("id", "name", "price", "x", "variants", "")), json_scalar,
                    max_size=3),
    st.sampled_from(("7.50", "$7.50", "7,50", "-1", "1e9", "yes", "~", "null", "closed",
                     "25:00-26:00", "11:00-", "Mars/Olympus", "XYZ", "", " ")),
)


def _places(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    items = (node.items() if isinstance(node, dict)
             else enumerate(node) if isinstance(node, list) else ())
    for key, value in items:
        found.append((*path, key))
        found.extend(_places(value, (*path, key)))
    return found


@st.composite
def mutated_catalog(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(DATA[draw(st.sampled_from(YAML_SAMPLES))])
    for _ in range(draw(st.integers(1, 3))):
        products = data.get("products") if isinstance(data, dict) else None
        mutation = draw(st.sampled_from(("retype", "retype", "delete", "duplicate_product",
                                         "reuse_id", "wrap")))
        if mutation in ("duplicate_product", "reuse_id") and isinstance(products, list) \
                and len(products) > 1:
            first, second = draw(st.permutations(range(len(products))))[:2]
            if mutation == "duplicate_product":
                products.append(copy.deepcopy(products[first]))
            elif isinstance(products[first], dict) and isinstance(products[second], dict):
                products[first]["id"] = products[second].get("id")
            continue
        places = _places(data)
        if not places:
            break
        path = draw(st.sampled_from(places))
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        if mutation == "delete":
            del parent[path[-1]]
        elif mutation == "wrap":
            parent[path[-1]] = [parent[path[-1]]]
        else:
            parent[path[-1]] = draw(odd_yaml_value)
    return data


@st.composite
def mutated_text(draw: st.DrawFn) -> tuple[str, bytes]:
    """Edits an owner might make by hand: lines lost, doubled, re-indented, odd characters."""
    name = draw(st.sampled_from(sorted(TEXTS)))
    lines = TEXTS[name].splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(("delete", "duplicate", "indent", "dedent", "tab", "odd",
                                     "cut")))
        if edit == "delete" and len(lines) > 1:
            del lines[at]
        elif edit == "duplicate":
            lines.insert(at, lines[at])
        elif edit == "indent":
            lines[at] = "  " + lines[at]
        elif edit == "dedent":
            lines[at] = lines[at].lstrip(" ")
        elif edit == "tab":
            lines[at] = "\t" + lines[at]
        elif edit == "odd":
            column = draw(st.integers(0, len(lines[at])))
            piece = draw(st.sampled_from((*ODD_PIECES, ":", "- ", "[", "{", "'", '"', "&a", "*a",
                                          "!!python/object", "#", ",", "|")))
            lines[at] = lines[at][:column] + piece + lines[at][column:]
        elif edit == "cut":
            lines[at] = lines[at][: draw(st.integers(0, len(lines[at])))]
    return name, "".join(lines).encode("utf-8", "surrogatepass")


def loads_or_explains(content: bytes, name: str) -> None:
    try:
        catalog = load_catalog_bytes(content, name)
    except CatalogError as error:
        assert error.problems, "a CatalogError must say what is wrong"
        assert all(problem.message for problem in error.problems)
    else:
        assert isinstance(catalog, Catalog) and len(catalog) >= 1


@settings(max_examples=examples(60))
@given(data=mutated_catalog())
def test_a_mutated_catalog_is_valid_or_its_problems_are_listed(data: dict[str, Any]) -> None:
    loads_or_explains(yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode(),
                      "menu.yaml")


@settings(max_examples=examples(60))
@given(file=mutated_text())
def test_a_hand_broken_catalog_file_is_valid_or_its_problems_are_listed(
    file: tuple[str, bytes],
) -> None:
    name, content = file
    loads_or_explains(content, name)
