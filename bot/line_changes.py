"""A change to one cart line, and applying it: a new count, size, choice or product for that line
while every other line stays exactly as it was. Pure.

bot.edits decides which change a message means; a "which one?" question (bot.clarify) carries the
change until the customer picks the line.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from bot.cart import CartLine
from catalog.catalog import Catalog
from catalog.models import Product

MAX_QUANTITY = 999

ChangeKind = Literal["remove", "quantity", "more", "variant", "modify", "replace"]


@dataclass(frozen=True)
class LineChange:
    """A change to one cart line, decided before knowing which line (for "which one?")."""

    kind: ChangeKind
    quantity: int = 0  # quantity: the new count; more: how many to add; replace: 0 keeps it
    variant: str = ""
    options: tuple[tuple[str, str | None], ...] = ()  # choices to add (or requalify)
    removed: tuple[str, ...] = ()  # ingredients or choices to take off
    restored: tuple[str, ...] = ()  # ingredients to put back ("with garlic" after "no garlic")
    note: str = ""
    line: CartLine | None = None  # replace: the new item
    keep_variant: bool = False  # replace: the new item's size was not said, keep the old one

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "quantity": self.quantity, "variant": self.variant,
                "options": [list(o) for o in self.options], "removed": list(self.removed),
                "restored": list(self.restored), "note": self.note,
                "line": self.line.to_json() if self.line else None,
                "keep_variant": self.keep_variant}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LineChange:
        line = data.get("line")
        return cls(data["kind"], int(data.get("quantity", 0)), str(data.get("variant", "")),
                   tuple((str(o[0]), o[1]) for o in data.get("options", [])),
                   tuple(data.get("removed", [])), tuple(data.get("restored", [])),
                   str(data.get("note", "")), CartLine.from_json(line) if line else None,
                   bool(data.get("keep_variant", False)))


def apply_change(line: CartLine, change: LineChange, catalog: Catalog) -> CartLine | None:
    """The line after the change; None when the change removes it."""
    if change.kind == "remove" or (change.kind == "quantity" and change.quantity == 0):
        return None
    if change.kind == "quantity":
        return replace(line, quantity=change.quantity)
    if change.kind == "more":
        return replace(line, quantity=min(line.quantity + change.quantity, MAX_QUANTITY))
    if change.kind == "variant":
        return replace(line, variant=change.variant)
    product = catalog.product(line.product)
    if change.kind == "replace" and change.line is not None:
        return _replaced(line, change, catalog)
    options = list(line.options)
    for choice, qualifier in change.options:
        options = _choose(options, choice, qualifier, product)
    removed = [r for r in line.removed if r not in change.restored]
    for item in change.removed:
        if any(cid == item for cid, _ in options):
            options = [o for o in options if o[0] != item]  # "no cheese" undoes "with cheese"
        elif item not in removed:
            removed.append(item)
    note = " ".join(n for n in (line.note, change.note) if n)
    return replace(line, options=tuple(options), removed=tuple(removed), note=note)


def _choose(options: list[tuple[str, str | None]], choice: str, qualifier: str | None,
            product: Product | None) -> list[tuple[str, str | None]]:
    """Add a choice; in a pick-one group ("Doneness") it replaces the one picked before."""
    group = next((g for g in product.options if any(c.id == choice for c in g.choices)), None) \
        if product else None
    if group is not None and group.max == 1:
        siblings = {c.id for c in group.choices} - {choice}
        options = [o for o in options if o[0] not in siblings]
    if any(cid == choice for cid, _ in options):
        return [(cid, qualifier) if cid == choice else (cid, q) for cid, q in options]
    return [*options, (choice, qualifier)]


def _replaced(old: CartLine, change: LineChange, catalog: Catalog) -> CartLine:
    new = change.line
    assert new is not None
    product = catalog.product(new.product)
    variant = new.variant
    if change.keep_variant and product is not None and product.variant(old.variant) is not None:
        variant = old.variant  # "swap the large pepsi for a coke": a large coke
    kept_options = tuple(o for o in old.options if product is not None
                         and product.choice(o[0]) is not None
                         and all(o[0] != cid for cid, _ in new.options))
    kept_removed = tuple(r for r in old.removed if product is not None
                         and _takes_off(product, r) and r not in new.removed)
    return replace(new, quantity=change.quantity or old.quantity, variant=variant,
                   options=new.options + kept_options, removed=new.removed + kept_removed)


def _takes_off(product: Product, item: str) -> bool:
    return any(i.id == item for i in product.ingredients) or product.choice(item) is not None


def apply_to_lines(cart: tuple[CartLine, ...], indexes: tuple[int, ...], change: LineChange,
                   catalog: Catalog) -> tuple[CartLine, ...]:
    """Apply a change to some lines; the other lines are returned as they were."""
    lines: list[CartLine] = []
    for index, line in enumerate(cart):
        changed = apply_change(line, change, catalog) if index in indexes else line
        if changed is not None:
            lines.append(changed)
    return tuple(lines)
