"""A small in-code catalog and a scripted parser for fast conversation tests."""

from __future__ import annotations

from catalog.catalog import Catalog
from catalog.models import CatalogFile
from parsers.models import ParseResult


def small_catalog() -> Catalog:
    return Catalog(CatalogFile.model_validate({
        "shop": {"name": "Test Grill", "currency": "USD", "timezone": "America/New_York"},
        "products": [
            {"id": "chicken-shawarma", "name": "Chicken Shawarma", "category": "Wraps",
             "price": "7.50",
             "variants": [{"id": "regular", "name": "Regular", "default": True},
                          {"id": "large", "name": "Large", "price": "9.50"}],
             "ingredients": [{"id": "garlic", "name": "Garlic sauce"}],
             "options": [{"group": "Extras", "max": 2, "choices": [
                 {"id": "cheese", "name": "Cheese", "price": "1.00"},
                 {"id": "extra-meat", "name": "Extra meat", "price": "2.25"}]}]},
            {"id": "pepsi", "name": "Pepsi", "category": "Drinks", "price": "1.50",
             "variants": [{"id": "small", "name": "Small", "default": True},
                          {"id": "large", "name": "Large", "price": "2.50"}]},
            {"id": "margherita", "name": "Margherita Pizza", "category": "Pizza",
             "price": "9.00",
             "variants": [{"id": "small", "name": "Small"}, {"id": "medium", "name": "Medium",
                                                             "price": "11.00"},
                          {"id": "large", "name": "Large", "price": "13.00"}]},
            {"id": "burger", "name": "Burger", "category": "Burgers", "price": "10.00",
             "options": [{"group": "Doneness", "min": 1, "max": 1, "choices": [
                 {"id": "medium", "name": "Medium"},
                 {"id": "well-done", "name": "Well done", "aliases": ["well"]}]}]},
            {"id": "baklava", "name": "Baklava", "category": "Desserts", "price": "3.00",
             "available": False},
        ],
    }))


class ScriptedParser:
    """Returns prepared results for known texts and an empty result otherwise."""

    def __init__(self, script: dict[str, ParseResult] | None = None) -> None:
        self.script = dict(script or {})

    def parse(self, text: str) -> ParseResult:
        return self.script.get(text, ParseResult())
