"""An in-code restaurant catalog for the parser tests (shawarma, grill, pizza, burgers, drinks)."""

from __future__ import annotations

from typing import Any

from catalog.catalog import Catalog
from catalog.models import CatalogFile

_SIZES_DEFAULT_REGULAR = [
    {"id": "regular", "name": "Regular", "default": True},
    {"id": "large", "name": "Large", "price": "9.50"},
]
_DRINK_SIZES = [
    {"id": "small", "name": "Small", "default": True},
    {"id": "large", "name": "Large", "price": "2.50"},
]
_PIZZA_SIZES = [
    {"id": "small", "name": "Small"},
    {"id": "medium", "name": "Medium", "price": "11.00"},
    {"id": "large", "name": "Large", "price": "13.00"},
]
_WRAP_INGREDIENTS = [
    {"id": "garlic", "name": "Garlic sauce", "aliases": ["garlic", "toum"]},
    {"id": "pickles", "name": "Pickles"},
    {"id": "onions", "name": "Onions"},
    {"id": "tomatoes", "name": "Tomatoes"},
]
_EXTRAS = [{"group": "Extras", "max": 2, "choices": [
    {"id": "cheese", "name": "Cheese", "price": "1.00"},
    {"id": "extra-meat", "name": "Extra meat", "price": "2.25"},
]}]
_TOPPINGS = [{"group": "Toppings", "max": 6, "choices": [
    {"id": "mushrooms", "name": "Mushrooms", "price": "1.00"},
    {"id": "olives", "name": "Black olives", "price": "1.00"},
    {"id": "peppers", "name": "Green peppers", "price": "1.00"},
    {"id": "pepperoni", "name": "Pepperoni", "price": "1.50"},
    {"id": "extra-cheese", "name": "Cheese", "aliases": ["mozzarella"], "price": "1.00"},
    {"id": "jalapenos", "name": "Jalapeños", "price": "1.00"},
]}, {"group": "Crust", "choices": [
    {"id": "thin-crust", "name": "Thin crust"},
    {"id": "stuffed-crust", "name": "Stuffed crust", "price": "2.00"},
]}]


def _product(pid: str, name: str, category: str, price: str, **extra: Any) -> dict[str, Any]:
    return {"id": pid, "name": name, "category": category, "price": price, **extra}


def restaurant_data() -> dict[str, Any]:
    wrap = {"variants": _SIZES_DEFAULT_REGULAR, "ingredients": _WRAP_INGREDIENTS,
            "options": _EXTRAS}
    pizza = {"variants": _PIZZA_SIZES, "options": _TOPPINGS}
    drink = {"variants": _DRINK_SIZES}
    return {
        "shop": {"name": "Test Grill", "currency": "USD"},
        "products": [
            _product("chicken-shawarma", "Chicken Shawarma", "Wraps", "7.50", **wrap),
            _product("beef-shawarma", "Beef Shawarma", "Wraps", "8.50", **wrap),
            _product("falafel-wrap", "Falafel Wrap", "Wraps", "6.00", aliases=["falafel"],
                     ingredients=_WRAP_INGREDIENTS),
            _product("chicken-wings", "Chicken Wings", "Grill", "8.00",
                     aliases=["wings"]),
            _product("mixed-grill", "Mixed Grill", "Grill", "15.00"),
            _product("fries", "Fries", "Sides", "3.00", aliases=["french fries", "chips"],
                     variants=_DRINK_SIZES),
            _product("garlic-bread", "Garlic Bread", "Sides", "3.50"),
            _product("cheeseburger", "Cheeseburger", "Burgers", "9.00",
                     ingredients=[{"id": "pickles", "name": "Pickles"},
                                  {"id": "onions", "name": "Onions"}],
                     options=[{"group": "Doneness", "min": 1, "choices": [
                         {"id": "medium", "name": "Medium"},
                         {"id": "well-done", "name": "Well done"}]},
                         {"group": "Extras", "max": 2, "choices": [
                             {"id": "bacon", "name": "Bacon", "price": "1.50"},
                             {"id": "extra-patty", "name": "Extra patty", "price": "3.00"}]}]),
            _product("margherita-pizza", "Margherita Pizza", "Pizza", "9.00",
                     aliases=["margherita"], **pizza),
            _product("pepsi", "Pepsi", "Drinks", "1.50", **drink),
            _product("diet-pepsi", "Diet Pepsi", "Drinks", "1.50", **drink),
            _product("coca-cola", "Coca-Cola", "Drinks", "1.50", aliases=["coke"], **drink),
            _product("water", "Water", "Drinks", "1.00", aliases=["mineral water"]),
            _product("ayran", "Ayran", "Drinks", "1.20"),
            _product("seven-up", "Seven Up", "Drinks", "1.50"),
            _product("baklava", "Baklava", "Desserts", "3.00", available=False),
            _product("kunafa", "Kunafa", "Desserts", "4.00", aliases=["knafeh"]),
        ],
    }


def restaurant_catalog() -> Catalog:
    return Catalog(CatalogFile.model_validate(restaurant_data()))


def _choices(*names: str) -> list[dict[str, Any]]:
    return [{"id": n.replace(" ", "-"), "name": n} for n in names]


def pizza_data() -> dict[str, Any]:
    """A pizzeria with one build-your-own pizza (sizes without a default) and sized drinks."""
    sizes = [{"id": s, "name": s.capitalize()} for s in ("small", "medium", "large")]
    toppings = _choices("pepperoni", "sausage", "ham", "bacon", "onions", "green peppers",
                        "mushrooms", "black olives", "pineapple", "tuna", "chicken", "cheese")
    drink_sizes = [{"id": "regular", "name": "Regular", "default": True},
                   {"id": "large", "name": "Large"}]
    return {
        "shop": {"name": "Slice", "currency": "USD"},
        "products": [
            {"id": "pizza", "name": "Pizza", "aliases": ["pie"], "category": "Pizza",
             "price": "10", "variants": sizes,
             "options": [{"group": "Toppings", "max": 8, "choices": toppings},
                         {"group": "Crust", "choices": _choices("thin crust", "stuffed crust")}]},
            {"id": "coke", "name": "Coke", "category": "Drinks", "price": "2",
             "variants": drink_sizes},
            {"id": "diet-coke", "name": "Diet Coke", "category": "Drinks", "price": "2",
             "variants": drink_sizes},
            {"id": "sprite", "name": "Sprite", "category": "Drinks", "price": "2",
             "variants": drink_sizes},
            {"id": "dr-pepper", "name": "Dr Pepper", "aliases": ["doctor pepper"],
             "category": "Drinks", "price": "2", "variants": drink_sizes},
        ],
    }


def pizza_catalog() -> Catalog:
    return Catalog(CatalogFile.model_validate(pizza_data()))
