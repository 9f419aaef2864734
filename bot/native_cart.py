"""A cart sent from the shop's WhatsApp catalog (`type: order`), turned into cart lines. Pure.

The cart is the customer's complete basket, so it replaces whatever they had typed. Items are
found by `Catalog.by_retailer_id`; prices always come from our catalog (the `item_price` Meta
sends is what the WhatsApp catalog showed, which may be out of date). Items we cannot sell are
named and left out, never silently dropped, and the rest of the cart goes ahead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot import texts
from bot.cart import CartLine, add_lines
from bot.checkout import MAX_NOTE
from bot.shop_rules import can_sell
from catalog.catalog import Catalog

if TYPE_CHECKING:  # bot.conversation imports this module
    from bot.conversation import NativeCartItem

_SHOWN = 5  # items named in a note; the rest are counted ("and 3 more")


@dataclass(frozen=True)
class Basket:
    """What a WhatsApp cart holds that we can sell, and what we had to leave out."""

    lines: tuple[CartLine, ...]
    not_on_menu: tuple[str, ...] = ()  # retailer ids that name nothing in our catalog
    unavailable: tuple[str, ...] = ()  # names of products that cannot be ordered now


def read_basket(
    items: tuple[NativeCartItem, ...], catalog: Catalog, stock: Mapping[str, int] | None = None
) -> Basket:
    """Map each cart item to a cart line; the same item twice becomes one line."""
    lines: list[CartLine] = []
    not_on_menu: list[str] = []
    unavailable: list[str] = []
    for item in items:
        found = catalog.by_retailer_id(item.retailer_id)
        if found is None:
            not_on_menu.append(item.retailer_id)
            continue
        product, variant = found
        if not can_sell(product, stock or {}):
            unavailable.append(product.name)
            continue
        # No variant means the product has sizes but no default: the bot asks, as for text.
        lines.append(CartLine(product.id, item.quantity, variant.id if variant else None))
    return Basket(add_lines((), lines), tuple(dict.fromkeys(not_on_menu)),
                  tuple(dict.fromkeys(unavailable)))


def order_note(cart_text: str, current: str) -> str:
    """The cart's message ("no onions please") becomes the order's note, as a typed note does."""
    return cart_text.strip()[:MAX_NOTE] or current


def basket_notes(basket: Basket, *, had_order: bool, example: str) -> str:
    """What to tell the customer before the summary (or instead of it): "" when nothing."""
    notes: list[str] = []
    if not basket.lines and not basket.not_on_menu and not basket.unavailable:
        return texts.text("native_cart_empty", example=example)
    if basket.lines and had_order:
        notes.append(texts.text("native_cart_replaces"))
    if basket.not_on_menu:
        notes.append(_counted(basket.not_on_menu, "native_cart_not_on_menu_one",
                              "native_cart_not_on_menu_many"))
    if basket.unavailable:
        notes.append(_counted(basket.unavailable, "native_cart_unavailable_one",
                              "native_cart_unavailable_many"))
    if not basket.lines:
        notes.append(texts.text("native_cart_nothing_left", example=example))
    return "\n\n".join(notes)


def _counted(names: tuple[str, ...], one: str, many: str) -> str:
    shown = ", ".join(names[:_SHOWN])
    if len(names) > _SHOWN:
        shown += " " + texts.text("native_cart_and_more", count=len(names) - _SHOWN)
    return texts.text(one if len(names) == 1 else many, count=len(names), items=shown)
