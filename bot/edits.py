"""Cart edits typed in free text: "remove the pepsi", "make it 3", "make the fries 2", "undo". Pure.

Only the cart lines an edit names change; every other line stays exactly as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bot.cart import CartLine
from parsers.models import ParseResult
from parsers.normalize import number_value

_REMOVE = re.compile(
    r"^(?:please\s+|pls\s+|and\s+|oh\s+|actually\s+)*"
    r"(?:remove|delete|drop|take\s+(?:off|out)|cancel|forget|no\s+more|scrap)\s+"
    r"(?:the\s+|my\s+|all\s+(?:the\s+)?|that\s+)?(?P<what>.+?)[\s.!]*$", re.IGNORECASE)
_QUANTITY = re.compile(
    r"^(?:please\s+|pls\s+|actually\s+|no\s*,?\s+)*(?:make|change)\s+"
    r"(?:it|that|them|those|(?:the\s+)?(?P<what>.+?))\s+(?:to\s+)?(?P<n>\d{1,3}|[a-z]+)"
    r"(?:\s+(?:of\s+them|please|pls))?[\s.!]*$", re.IGNORECASE)
_UNDO = re.compile(r"^(?:undo|undo\s+(?:that|it)|go\s+back|revert)[\s.!]*$", re.IGNORECASE)
MAX_QUANTITY = 999


@dataclass(frozen=True)
class RemoveItems:
    what: str


@dataclass(frozen=True)
class SetQuantity:
    quantity: int
    what: str = ""  # empty: the line the customer touched last


@dataclass(frozen=True)
class Undo:
    pass


Edit = RemoveItems | SetQuantity | Undo


def read_edit(text: str) -> Edit | None:
    """The edit a message asks for, or None when it is not an edit of the cart."""
    stripped = text.strip()
    if _UNDO.match(stripped):
        return Undo()
    quantity = _QUANTITY.match(stripped)
    if quantity:
        count = _count(quantity.group("n"))
        if count is not None:
            return SetQuantity(count, (quantity.group("what") or "").strip())
    removal = _REMOVE.match(stripped)
    if removal:
        return RemoveItems(removal.group("what"))
    return None


def _count(word: str) -> int | None:
    value = int(word) if word.isdigit() else number_value(word.lower())
    return value if value is not None and 0 <= value <= MAX_QUANTITY else None


def products_named(parsed: ParseResult) -> set[str]:
    """Every product a phrase may name: its lines, and the candidates of an ambiguous mention."""
    named = {line.product for line in parsed.lines}
    for unresolved in parsed.unresolved:
        if unresolved.reason in ("ambiguous", "missing_variant", "unavailable"):
            named.update(unresolved.candidates)
            if unresolved.product:
                named.add(unresolved.product)
    return named


def remove_products(cart: tuple[CartLine, ...], products: set[str]) -> tuple[CartLine, ...]:
    return tuple(line for line in cart if line.product not in products)


def set_quantity(
    cart: tuple[CartLine, ...], quantity: int, target: int | None
) -> tuple[CartLine, ...]:
    """Change one line's quantity (0 removes it); target None means the last line."""
    if not cart:
        return cart
    index = len(cart) - 1 if target is None else target
    if quantity == 0:
        return cart[:index] + cart[index + 1:]
    return (*cart[:index], replace(cart[index], quantity=quantity), *cart[index + 1:])


def line_of(cart: tuple[CartLine, ...], products: set[str]) -> int | None:
    """The last cart line of one of these products, if any."""
    for index in range(len(cart) - 1, -1, -1):
        if cart[index].product in products:
            return index
    return None
