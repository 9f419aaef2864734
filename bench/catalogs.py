"""Catalogs generated in code for the parser benchmark: a 60-item menu and a 100k-item one."""

from __future__ import annotations

import gc
import random
from typing import Any

from catalog.catalog import Catalog
from catalog.models import CatalogFile


def _words(text: str) -> list[str]:
    return text.split()


ADJECTIVES = _words("""
spicy crispy grilled smoked classic royal golden honey garlic lemon zesty fiery tangy
smoky sweet crunchy loaded double triple mini giant supreme deluxe rustic homestyle
country signature ultimate cheesy creamy herbed peppered glazed roasted fried baked
toasted charred tandoori teriyaki buffalo cajun jerk chipotle pesto truffle
""")
ORIGINS = _words("""
lebanese greek turkish mexican italian american texas cuban persian moroccan syrian
korean thai indian japanese hawaiian cajun bavarian spanish egyptian yemeni jordanian
iraqi armenian cypriot sicilian neapolitan californian
""")
PROTEINS = _words("""
chicken beef lamb pork tuna salmon shrimp falafel halloumi tofu turkey veal duck
mushroom paneer chickpea kofta sausage bacon ham prawn octopus calamari eggplant spinach
""")
DISHES = _words("""
shawarma burger wrap pizza salad bowl sandwich taco burrito pasta soup platter skewer
kebab panini quesadilla flatbread calzone sub melt slider roll noodles risotto curry
""")
SIDES = ["fries", "rice", "salad", "hummus", "coleslaw", "pita", "chips", "wedges"]
TOPPINGS = ["cheese", "extra meat", "jalapenos", "olives", "mushrooms", "bacon", "avocado",
            "egg", "pickled turnips", "caramelized onions"]
INGREDIENTS = ["garlic sauce", "pickles", "onions", "tomatoes", "lettuce", "tahini", "mayo",
               "ketchup", "mustard", "parsley"]
SIZES = [{"id": "regular", "name": "Regular", "default": True},
         {"id": "large", "name": "Large"}]

MENU_60 = """Chicken Shawarma|Beef Shawarma|Falafel Wrap|Halloumi Wrap|Mixed Shawarma Plate|
Chicken Shawarma Plate|Beef Shawarma Plate|Shish Tawook|Lamb Kofta|Mixed Grill|Chicken Wings|
Grilled Chicken Half|Lamb Chops|Beef Kebab|Chicken Kebab|Margherita Pizza|Pepperoni Pizza|
Veggie Pizza|BBQ Chicken Pizza|Four Cheese Pizza|Hawaiian Pizza|Meat Lovers Pizza|
Cheeseburger|Double Cheeseburger|Chicken Burger|Mushroom Swiss Burger|Bacon Burger|
Veggie Burger|Fish Burger|Crispy Chicken Sandwich|Fries|Cheese Fries|Garlic Bread|Onion Rings|
Hummus|Baba Ghanoush|Tabbouleh|Fattoush|Greek Salad|Caesar Salad|Lentil Soup|Rice|
Coleslaw|Pita Bread|Pepsi|Diet Pepsi|Coca-Cola|Coke Zero|Sprite|Fanta|Water|Sparkling Water|
Ayran|Fresh Orange Juice|Lemon Mint|Iced Tea|Baklava|Kunafa|Chocolate Cake|Ice Cream"""


def _slug(name: str) -> str:
    return "-".join("".join(c for c in w if c.isalnum()) for w in name.lower().split())


def _product(name: str, rng: random.Random, aliases: tuple[str, ...] = ()) -> dict[str, Any]:
    product: dict[str, Any] = {"id": _slug(name)[:64], "name": name, "price": "9.50",
                               "aliases": list(aliases)}
    if rng.random() < 0.6:
        product["variants"] = SIZES
    if rng.random() < 0.7:
        product["ingredients"] = [{"id": _slug(i), "name": i.capitalize()}
                                  for i in rng.sample(INGREDIENTS, 4)]
    if rng.random() < 0.6:
        choices = [{"id": _slug(t), "name": t.capitalize(), "price": "1.00"}
                   for t in rng.sample(TOPPINGS, 4)]
        product["options"] = [{"group": "Extras", "max": 4, "choices": choices}]
    return product


def menu_60(seed: int = 7) -> Catalog:
    rng = random.Random(seed)
    names = [n.strip() for n in MENU_60.split("|")]
    products = [_product(n, rng) for n in names]
    return _catalog(products)


def generated_names(count: int, seed: int = 11) -> list[str]:
    """Distinct realistic dish names made from the word lists above."""
    rng = random.Random(seed)
    seen: set[str] = set()
    names: list[str] = []
    while len(names) < count:
        parts = []
        if rng.random() < 0.7:
            parts.append(rng.choice(ADJECTIVES))
        if rng.random() < 0.5:
            parts.append(rng.choice(ORIGINS))
        parts += [rng.choice(PROTEINS), rng.choice(DISHES)]
        if rng.random() < 0.25:
            parts += ["with", rng.choice(SIDES)]
        name = " ".join(parts).title()
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def big_catalog(count: int = 100_000, seed: int = 11) -> Catalog:
    rng = random.Random(seed)
    products: list[dict[str, Any]] = []
    for name in generated_names(count, seed):
        product = _product(name, rng)
        product["id"] = f"{_slug(name)[:56]}-{len(products)}"
        products.append(product)
    return _catalog(products)


def _catalog(products: list[dict[str, Any]]) -> Catalog:
    # As catalog.loader does: the cycle collector would rescan the new models over and over.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return Catalog(CatalogFile.model_validate({"shop": {"name": "Bench"},
                                                   "products": products}))
    finally:
        if collecting:
            gc.enable()
