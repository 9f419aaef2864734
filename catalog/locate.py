"""Naming places in catalog data: readable field paths, allowed fields, and "did you mean"."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence

from pydantic import BaseModel

from catalog.errors import Loc
from catalog.models import CatalogFile, Choice, Ingredient, OptionGroup, Product, Shop, Variant

# Which model a list or section holds, to know the allowed fields at any position.
_MODEL_OF: dict[str, type[BaseModel]] = {
    "shop": Shop,
    "products": Product,
    "variants": Variant,
    "ingredients": Ingredient,
    "options": OptionGroup,
    "choices": Choice,
}
# How an item of each list is called in a problem, and which of its fields identifies it.
_ITEM: dict[str, tuple[str, str]] = {
    "products": ("product", "id"),
    "variants": ("variant", "id"),
    "ingredients": ("ingredient", "id"),
    "options": ("option group", "group"),
    "choices": ("choice", "id"),
}
# Words owners reach for that difflib cannot guess from spelling alone.
_SYNONYMS = {
    "cost": "price", "prices": "price", "title": "name", "label": "name", "alias": "aliases",
    "aka": "aliases", "nicknames": "aliases", "sizes": "variants", "size": "variants",
    "variant": "variants", "extras": "options", "toppings": "options", "addons": "options",
    "add_ons": "options", "option": "options", "ingredient": "ingredients", "qty": "stock",
    "quantity": "stock", "in_stock": "available", "enabled": "available", "active": "available",
    "choice": "choices", "minimum": "min", "maximum": "max", "tz": "timezone",
    "time_zone": "timezone", "opening_hours": "hours", "open": "hours", "whatsapp":
    "owner_whatsapp", "phone": "owner_whatsapp", "delivery": "fulfillment", "product":
    "products", "items": "products", "menu": "products", "group_name": "group",
}

def did_you_mean(word: str, options: Sequence[str]) -> str | None:
    """The option the owner most likely meant by `word`, or None when nothing is close."""
    lowered = word.strip().lower().replace(" ", "_").replace("-", "_")
    if lowered in options:
        return lowered
    synonym = _SYNONYMS.get(lowered)
    if synonym in options:
        return synonym
    close = difflib.get_close_matches(lowered, list(options), n=1, cutoff=0.6)
    return close[0] if close else None


def describe(loc: Loc, data: object, columns: bool = False) -> str:
    """A readable position: "product 'chicken-shawarma' > variant 'large' > price".

    With `columns` (CSV), the product's field is called a column, as the owner sees it.
    """
    parts: list[str] = []
    node: object = data
    i = 0
    while i < len(loc):
        key = loc[i]
        value = child(node, key)
        nxt = loc[i + 1] if i + 1 < len(loc) else None
        # In a CSV file the product's own fields are the spreadsheet's columns.
        is_column = columns and len(parts) == 1 and loc[0] == "products"
        if isinstance(key, str) and key in _ITEM and isinstance(nxt, int):
            kind, ident = _ITEM[key]
            item = child(value, nxt)
            label = item.get(ident) if isinstance(item, Mapping) else None
            shown = f"'{label}'" if isinstance(label, str) and label else f"#{nxt + 1}"
            if is_column:
                parts.append(f"column '{key}'")
            parts.append(f"{kind} {shown}")
            node, i = item, i + 2
            continue
        if isinstance(key, str) and key != "[key]":
            parts.append(f"column '{key}'" if is_column else key)
        node, i = value, i + 1
    return " > ".join(parts)


def child(node: object, key: str | int) -> object:
    """`node[key]` for plain parsed data, or None when that place does not exist."""
    if isinstance(node, Mapping) and isinstance(key, str):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    return None


def model_at(loc: Loc) -> type[BaseModel]:
    """The model whose fields are allowed at `loc` (the position of a section or list item)."""
    model: type[BaseModel] = CatalogFile
    for key in loc:
        if isinstance(key, str) and key in _MODEL_OF:
            model = _MODEL_OF[key]
    return model
