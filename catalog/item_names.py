"""The names and aliases of raw catalog items, read one way for both validations so they agree."""

from __future__ import annotations

import re
from collections.abc import Mapping

from catalog.errors import Loc

# An alias that is only a number (with a sign, a currency sign or decimals, as a misplaced
# price or stock would be written).
_NUMBER_ALIAS = re.compile(r"\s*[-+]?\s*[$€£]?\s*\d+(?:[.,]\d+)?\s*")
# CSV cells that hold one text, and what makes such a cell a list or a group ("Wrap|Roll",
# "[a, b]", "{a: b}"): the characters the CSV format reserves for lists.
TEXT_COLUMNS = ("name", "category")
LIST_MARKS = "|[]{}"
LISTED_CELL = re.compile(r"[|\[\]{}]")


def normalise_name(text: str) -> str:
    """How names are compared for clashes: case-insensitive, runs of spaces counted as one."""
    return " ".join(text.split()).casefold()


def names_shared(items: list[object]) -> bool:
    """Do two items with different ids share a name (as _CrossChecker._items sees it)?"""
    owner: dict[str, str] = {}
    for item in items:
        if isinstance(item, Mapping):
            item_id = str(item.get("id"))
            for text in _name_texts(item):
                if owner.setdefault(normalise_name(text), item_id) != item_id:
                    return True
    return False


def _name_texts(item: Mapping[str, object]) -> list[str]:
    """The texts names_with_places finds in an item, without their places."""
    name = item.get("name")
    return [name, *_alias_texts(item)] if isinstance(name, str) and name.strip() \
        else _alias_texts(item)


def _alias_texts(item: Mapping[str, object]) -> list[str]:
    aliases = item.get("aliases")
    if isinstance(aliases, str):
        return [aliases] if aliases.strip() else []
    if isinstance(aliases, list):
        return [a for a in aliases if isinstance(a, str) and a.strip()]
    return []


def is_number_alias(text: str) -> bool:
    """'5', '7.50', '-2', '$3': a number, which can never be another name for an item."""
    if text[:1].isalpha():  # nearly every alias: no need for the pattern
        return False
    return _NUMBER_ALIAS.fullmatch(text) is not None


def lone_number_alias(item: object, *, csv: bool = False) -> str | None:
    """The number when an item's aliases are one bare number: 'aliases: 5' in YAML, a cell
    holding only '5' in CSV (which the CSV reader hands over as the list ['5'])."""
    aliases = item.get("aliases") if isinstance(item, Mapping) else None
    if csv and isinstance(aliases, list) and len(aliases) == 1:
        aliases = aliases[0]
    return aliases.strip() if isinstance(aliases, str) and is_number_alias(aliases) else None


def as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def names_with_places(item: Mapping[str, object], loc: Loc) -> list[tuple[str, Loc]]:
    found: list[tuple[str, Loc]] = []
    name = item.get("name")
    if isinstance(name, str) and name.strip():
        found.append((name, (*loc, "name")))
    aliases = item.get("aliases")
    if isinstance(aliases, str) and aliases.strip():
        found.append((aliases, (*loc, "aliases")))
    elif isinstance(aliases, list):
        found += [(a, (*loc, "aliases", k)) for k, a in enumerate(aliases)
                  if isinstance(a, str) and a.strip()]
    return found
