"""The catalog name index: parts of names worked out on demand give the answers that listing
every part of every name up front gave, and the fast word split matches the regex one."""

from __future__ import annotations

import random
import re

import pytest

from catalog.catalog import Catalog
from catalog.loader import load_catalog
from catalog.models import CatalogFile
from parsers.catalog_index import CatalogIndex
from parsers.index import CONNECTORS, SUBNAME_LIMIT, Key, name_forms, name_words
from tests.paths import FIXTURES
from tests.unit.parser_catalog import pizza_catalog, restaurant_catalog

GROCERY_CATALOG = FIXTURES / "catalog" / "grocery.yaml"


def listed_parts(index: CatalogIndex) -> dict[Key, list[int]]:
    """Every proper run of every name -> the products having it, as the index once listed."""
    partial: dict[Key, list[int]] = {}
    for number, product in enumerate(index.products):
        for form in name_forms(product):
            key = tuple(index.lexicon.forms[w] for w in form)
            for length in range(1, len(key)):
                for start in range(len(key) - length + 1):
                    found = partial.setdefault(key[start:start + length], [])
                    if not found or found[-1] != number:
                        found.append(number)
    return partial


@pytest.fixture(scope="module", params=["restaurant", "pizza", "grocery"])
def catalog(request: pytest.FixtureRequest) -> Catalog:
    if request.param == "grocery":
        return load_catalog(GROCERY_CATALOG)
    return restaurant_catalog() if request.param == "restaurant" else pizza_catalog()


def test_every_part_of_every_name_finds_its_products(catalog: Catalog) -> None:
    index = CatalogIndex(catalog)
    listed = listed_parts(index)
    assert any(len(products) > SUBNAME_LIMIT for products in listed.values()) \
        or len(catalog) < SUBNAME_LIMIT  # the grocery sample has parts shared by many
    for _ in range(2):  # worked out, then from the cache
        for key, products in listed.items():
            assert index.names.partial.get(key) == products[:SUBNAME_LIMIT], key
            assert key in index.names.partial
            assert index.names.prefix(key)


def test_runs_that_are_no_part_of_a_name_find_nothing(catalog: Catalog) -> None:
    index = CatalogIndex(catalog)
    listed = listed_parts(index)
    full = index.names.full
    lemmas = sorted(set(index.lexicon.forms.values()))
    rng = random.Random(3)
    for _ in range(3000):
        key = tuple(rng.choice(lemmas) for _ in range(rng.randint(1, 4)))
        expected = listed.get(key)
        assert index.names.partial.get(key) == (expected[:SUBNAME_LIMIT] if expected else None)
        assert index.names.partial.get(key, []) == (expected or [])[:SUBNAME_LIMIT]
        assert (key in index.names.partial) == bool(expected)
        assert index.names.prefix(key) == (bool(expected) or key in full)
    assert index.names.partial.get(()) is None


def test_a_whole_name_is_a_part_only_of_longer_names() -> None:
    # "Pizza" is a product of its own and a part of "Pizza Margherita"
    catalog = Catalog(CatalogFile.model_validate({"shop": {"name": "S"}, "products": [
        {"id": "pizza", "name": "Pizza", "price": "9"},
        {"id": "pizza-margherita", "name": "Pizza Margherita", "price": "9"},
        {"id": "margherita-pizza-slice", "name": "Margherita Pizza Slice", "price": "3"},
        {"id": "pizza-bread", "name": "Pizza Bread", "aliases": ["pizza"], "price": "3"},
    ]}))
    index = CatalogIndex(catalog)
    pizza = (index.lexicon.forms["pizza"],)
    margherita_pizza = (index.lexicon.forms["margherita"], index.lexicon.forms["pizza"])
    assert index.names.full[pizza] == [0, 3]
    assert index.names.partial.get(pizza) == [1, 2, 3]
    assert index.names.partial.get(margherita_pizza) == [2]
    assert index.names.partial.get(margherita_pizza + pizza) is None


def regex_name_words(text: str) -> list[str]:
    """name_words as it was before its split() shortcut (ASCII names without apostrophes)."""
    found = re.findall(r"[a-z]+|[0-9]+", text.lower())
    kept = [w for w in found if w not in CONNECTORS]
    return kept or found


@pytest.mark.parametrize("text", [
    "Golden Harvest Basmati Rice", "7up", "7 Up", "Fish & Chips", "Mac and Cheese", "And",
    "with", "n", "Fish n Chips", "Rice & Grains", "1 l x 6", "  Spaced   out  ", "a\tb",
    "", "-", "ABC123def", "Coca-Cola", "Dr. Pepper", "AND WITH", "x", "500ml",
])
def test_name_words_split_shortcut_matches_the_regex(text: str) -> None:
    assert name_words(text) == regex_name_words(text)


def test_name_words_split_shortcut_matches_the_regex_on_random_names() -> None:
    rng = random.Random(11)
    alphabet = "ab Z9-&.\t\nn" + "and with "
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert name_words(text) == regex_name_words(text), repr(text)
