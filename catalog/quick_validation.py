"""Accepting a good catalog quickly: the same verdict as catalog.validation, nothing worded.

Only a file this rejects is checked again the exact way, to explain it; so it must reject
whatever `validate` would report.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import ValidationError

from catalog.item_names import (
    LIST_MARKS,
    as_list,
    is_number_alias,
    lone_number_alias,
    names_shared,
    normalise_name,
)
from catalog.models import CatalogFile, Ingredient, OptionGroup, Variant

# Whitespace other than the space (what str.split() also splits at).
_OTHER_SPACE = re.compile("[\t\n\x0b-\r\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f"
                          "\u205f\u3000]")


def validated_quickly(data: object, *, csv: bool = False) -> CatalogFile | None:
    """The catalog when `validate` would accept `data` (read from a CSV file when `csv`), else
    None. Quick because it never words a problem: whatever `validate` would report makes this
    return None instead."""
    if not isinstance(data, Mapping):
        return None
    prepared = _QuickCheck(csv=csv).prepare(data)
    if prepared is None:
        return None
    try:
        model = CatalogFile.model_validate(prepared)
    except ValidationError:
        return None
    return model if _retailer_ids_unique(model) else None


def _retailer_ids_unique(model: CatalogFile) -> bool:
    """No retailer id on two items (what _CrossChecker._retailer_ids reports)."""
    seen: set[str] = set()
    count = 0
    for product in model.products:
        if product.retailer_id is not None:
            seen.add(product.retailer_id)
            count += 1
        for variant in product.variants:
            if variant.retailer_id is not None:
                seen.add(variant.retailer_id)
                count += 1
    return len(seen) == count


# The models of the item lists inside a product.
_ITEM_MODELS: tuple[tuple[str, type[Variant | Ingredient | OptionGroup]], ...] = (
    ("variants", Variant), ("ingredients", Ingredient), ("options", OptionGroup))


class _QuickCheck:
    """What _CrossChecker would find, as a yes/no; and the items of every product turned into
    models already, each distinct raw item once (a big catalog repeats the same few pack sizes
    on thousands of products, and pydantic takes a model instance as it is)."""

    def __init__(self, *, csv: bool = False) -> None:
        self.csv = csv  # CSV data: also what _CrossChecker checks for CSV only
        # per item list key: the raw item (by identity) -> its model
        self.models: dict[str, dict[int, Variant | Ingredient | OptionGroup]] = {
            key: {} for key, _ in _ITEM_MODELS}
        # per item list key: a list of raw items (by identity) -> the list of their models
        self.lists: dict[str, dict[tuple[int, ...], list[object]]] = {
            key: {} for key, _ in _ITEM_MODELS}

    def prepare(self, data: Mapping[str, object]) -> dict[str, object] | None:
        """`data` with each product's items as models; None when anything would be reported."""
        products = data.get("products")
        if not isinstance(products, list):
            return dict(data)
        ids: set[str] = set()
        texts: list[str] = []  # every product name and alias ...
        owners: list[object] = []  # ... and the product it names
        prepared: list[object] = []
        categories: set[object] = set()  # CSV: for _CrossChecker._listed_cells
        csv = self.csv
        for number, product in enumerate(products):
            if not isinstance(product, dict):
                prepared.append(product)
                continue
            pid = product.get("id")
            label: object = number
            if isinstance(pid, str):
                if pid in ids:  # an id used twice
                    return None
                ids.add(pid)
                label = pid or number
            name, aliases = product.get("name"), product.get("aliases")
            if isinstance(name, str) and name.strip():
                texts.append(name)
                owners.append(label)
            if csv:
                categories.add(product.get("category"))
                if isinstance(aliases, list) and len(aliases) == 1:
                    alias = aliases[0]  # a cell holding one number (_number_aliases)
                    if (isinstance(alias, str) and not alias[:1].isalpha()
                            and is_number_alias(alias)):
                        return None
            if isinstance(aliases, list):
                for alias in aliases:
                    if isinstance(alias, str) and alias.strip():
                        texts.append(alias)
                        owners.append(label)
            elif isinstance(aliases, str) and aliases.strip():
                if is_number_alias(aliases):  # what _CrossChecker._number_aliases reports
                    return None
                texts.append(aliases)
                owners.append(label)
            changed: dict[str, object] | None = None
            for key, model in _ITEM_MODELS:
                items = product.get(key)
                if isinstance(items, list) and items:
                    validated = self.items(items, key, model)
                    if validated is None:
                        return None
                    changed = changed or dict(product)
                    changed[key] = validated
            prepared.append(changed or product)
        if _shared(_normalised(texts), owners):  # a name of two products
            return None
        if csv:  # one search over all names (aliases too) and categories: far quicker than one
            # per cell; an alias flagged here only sends the file to the exact check
            joined = "\n".join(texts + [c for c in categories if isinstance(c, str)])
            if any(mark in joined for mark in LIST_MARKS):  # (memchr: quicker than a regex)
                return None
        return {**data, "products": prepared}

    def items(self, items: list[object], key: str,
              model: type[Variant | Ingredient | OptionGroup]) -> list[object] | None:
        """The models of one product's `key` items; None when one is wrong or two share a
        name. Repeated item ids and two defaults make the Product model fail later."""
        identity = tuple(map(id, items))
        validated = self.lists[key].get(identity)
        if validated is not None:
            return validated
        if key == "options":
            choices = [item for group in items if isinstance(group, Mapping)
                       for item in as_list(group.get("choices"))]
            if names_shared(choices) or any(lone_number_alias(c, csv=self.csv) for c in choices):
                return None
        elif names_shared(items) or (key == "ingredients" and any(
                lone_number_alias(i, csv=self.csv) for i in items)):
            return None
        models = self.models[key]
        validated = []
        for item in items:
            instance = models.get(id(item))
            if instance is None:
                try:
                    instance = models[id(item)] = model.model_validate(item)
                except ValidationError:
                    return None
            validated.append(instance)
        self.lists[key][identity] = validated
        return validated


def _normalised(texts: list[str]) -> list[str]:
    """normalise_name of every text; on one joined string when no text needs its spaces
    evened out, which is many times faster for the names of a big catalog."""
    if not texts:
        return []
    joined = "\x00".join(texts)
    if joined.count("\x00") == len(texts) - 1 and not (
        "  " in joined or " \x00" in joined or "\x00 " in joined or joined[:1] == " "
        or joined[-1:] == " " or _OTHER_SPACE.search(joined)
    ):  # single spaces only, inside the names: nothing to even out
        return joined.casefold().split("\x00")
    return [normalise_name(text) for text in texts]


def _shared(keys: list[str], owners: list[object]) -> bool:
    """Is a key owned by two different owners?"""
    if len(set(keys)) == len(keys):
        return False
    first: dict[str, object] = {}
    return any(first.setdefault(key, owner) != owner for key, owner in zip(keys, owners,
                                                                        strict=True))
