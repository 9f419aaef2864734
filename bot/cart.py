"""Cart lines, merging and pricing against the catalog. Pure; money is Decimal throughout."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from catalog.catalog import Catalog
from catalog.models import Product
from parsers.models import ParsedLine


@dataclass(frozen=True)
class CartLine:
    """One line of a customer's cart, by catalog ids."""

    product: str
    quantity: int
    variant: str | None = None
    options: tuple[tuple[str, str | None], ...] = ()  # (choice id, qualifier)
    removed: tuple[str, ...] = ()
    note: str = ""

    @classmethod
    def from_parsed(cls, line: ParsedLine) -> CartLine:
        return cls(
            product=line.product,
            quantity=line.quantity,
            variant=line.variant,
            options=tuple((o.id, o.qualifier) for o in line.options),
            removed=line.removed,
            note=line.note,
        )

    def same_item(self, other: CartLine) -> bool:
        """Same product made the same way: such lines merge by adding quantities."""
        return replace(self, quantity=0) == replace(other, quantity=0)

    def to_json(self) -> dict[str, Any]:
        return {
            "product": self.product,
            "quantity": self.quantity,
            "variant": self.variant,
            "options": [list(o) for o in self.options],
            "removed": list(self.removed),
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CartLine:
        return cls(
            product=str(data["product"]),
            quantity=int(data["quantity"]),
            variant=data.get("variant"),
            options=tuple((str(o[0]), o[1]) for o in data.get("options", [])),
            removed=tuple(str(r) for r in data.get("removed", [])),
            note=str(data.get("note", "")),
        )


def add_lines(cart: tuple[CartLine, ...], new: list[CartLine]) -> tuple[CartLine, ...]:
    """Append lines, merging each into an identical existing line so the summary stays short."""
    lines = list(cart)
    for line in new:
        for index, existing in enumerate(lines):
            if existing.same_item(line):
                lines[index] = replace(existing, quantity=existing.quantity + line.quantity)
                break
        else:
            lines.append(line)
    return tuple(lines)


@dataclass(frozen=True)
class PricedLine:
    """A cart line with names and money resolved, ready for a summary or a ticket."""

    line: CartLine
    product_name: str
    variant_name: str | None
    option_names: tuple[str, ...]
    option_groups: tuple[str, ...]  # the group of each option when it is a single choice
    removed_names: tuple[str, ...]
    unit_price: Decimal
    total: Decimal

    def title(self) -> str:
        """'2 × Chicken Shawarma (Large)'."""
        variant = f" ({self.variant_name})" if self.variant_name else ""
        return f"{self.line.quantity} × {self.product_name}{variant}"

    def details(self) -> list[str]:
        """'with extra Cheese', 'no Garlic sauce', the customer's note."""
        parts = [
            f"{group}: {name}" if group and not qualifier
            else f"with {qualifier} {name}" if qualifier else f"with {name}"
            for (_, qualifier), name, group in zip(
                self.line.options, self.option_names, self.option_groups, strict=True)
        ]
        parts += [f"no {name}" for name in self.removed_names]
        if self.line.note:
            parts.append(f"“{self.line.note}”")
        return parts


@dataclass(frozen=True)
class PricedCart:
    lines: tuple[PricedLine, ...]
    total: Decimal


class UnknownCartItem(LookupError):
    """A cart line names a product that is no longer in the catalog (it was edited)."""


def price_cart(cart: tuple[CartLine, ...], catalog: Catalog) -> PricedCart:
    priced = tuple(price_line(line, catalog) for line in cart)
    return PricedCart(priced, sum((p.total for p in priced), Decimal(0)))


def price_line(line: CartLine, catalog: Catalog) -> PricedLine:
    product = catalog.product(line.product)
    if product is None:
        raise UnknownCartItem(line.product)
    variant = product.variant(line.variant)
    choice_ids = tuple(choice_id for choice_id, _ in line.options)
    unit = product.unit_price(line.variant, choice_ids)
    return PricedLine(
        line=line,
        product_name=product.name,
        variant_name=variant.name if variant else None,
        option_names=tuple(_option_name(product, cid) for cid, _ in line.options),
        option_groups=tuple(_single_choice_group(product, cid) for cid, _ in line.options),
        removed_names=tuple(_removed_name(product, rid) for rid in line.removed),
        unit_price=unit,
        total=unit * line.quantity,
    )


def _option_name(product: Product, choice_id: str) -> str:
    choice = product.choice(choice_id)
    return choice.name if choice else choice_id


def _single_choice_group(product: Product, choice_id: str) -> str:
    """'Doneness' for a pick-one group, so the summary says 'Doneness: Well done'."""
    for group in product.options:
        if group.max == 1 and any(c.id == choice_id for c in group.choices):
            return group.group
    return ""


def _removed_name(product: Product, item_id: str) -> str:
    for ingredient in product.ingredients:
        if ingredient.id == item_id:
            return ingredient.name
    choice = product.choice(item_id)
    return choice.name if choice else item_id
