"""Stock rules, free of I/O (the table and its queries are adapters.inventory).

Stock is counted per key (product id, variant id), where variant "" counts the product as a
whole, whatever the size. The catalog's `stock:` fills the product rows; variant rows exist only
when someone sets them (`orderbot stock set pepsi:large 10`). A product with no row is unlimited.

**Which side wins when the catalog file changes.** The number in the file is the count the
owner last wrote. When it differs from the number applied last time (kept as `seeded`), the
owner has counted again: the live count is reset to it. When it is unchanged, the live count
(sales, `orderbot stock add`) is left alone — otherwise every unrelated edit to the menu, such as
a new price, would undo the day's sales. Removing `stock:` from a product makes it unlimited
again (its row goes); rows set by hand only are never touched by the file.

**Low stock.** A sale that brings a count to `low_stock_at` or below tells the owner once; the
owner is not told again until a restock lifts the count above it. Without `low_stock_at`, the
threshold is 0: the owner hears when something sells out. Counts the owner sets (file or
command) never alert: they know. At 0 the bot treats the item as sold out.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from bot import texts
from catalog.catalog import Catalog

StockKey = tuple[str, str]  # (product id, variant id or "" for the whole product)
WHOLE = ""


class StockKeyError(ValueError):
    """A PRODUCT[:VARIANT] the catalog does not have; the message suggests the nearest."""


def key_text(key: StockKey) -> str:
    product, variant = key
    return f"{product}:{variant}" if variant else product


def parse_key(text: str, catalog: Catalog) -> StockKey:
    """'pepsi' or 'pepsi:large', checked against the catalog, with a did-you-mean."""
    product_id, _, variant_id = text.strip().partition(":")
    product = catalog.product(product_id)
    if product is None:
        ids = [p.id for p in catalog.products]
        raise StockKeyError(f"there is no product '{product_id}' in the catalog"
                            + _did_you_mean(product_id, ids))
    if not variant_id:
        return product.id, WHOLE
    if product.variant(variant_id) is None:
        ids = [v.id for v in product.variants]
        if not ids:
            raise StockKeyError(f"'{product.id}' has no variants; write just '{product.id}'")
        raise StockKeyError(f"'{product.id}' has no variant '{variant_id}' (it has "
                            f"{', '.join(ids)})" + _did_you_mean(variant_id, ids))
    return product.id, variant_id


def _did_you_mean(word: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=3, cutoff=0.6)
    return f". Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


# --- the catalog file against the table ---

@dataclass(frozen=True)
class Counted:
    """A stock row as the sync sees it."""

    units: int
    seeded: int | None


@dataclass(frozen=True)
class SyncStep:
    """insert: a newly counted product; reset: the owner wrote a new count; delete: the product
    is no longer counted (or no longer exists)."""

    kind: Literal["insert", "reset", "delete"]
    key: StockKey
    units: int = 0


def sync_plan(catalog_stock: Mapping[str, int | None],
              rows: Mapping[StockKey, Counted]) -> list[SyncStep]:
    """What to change so the table follows the catalog (product rows only; see the module doc)."""
    steps: list[SyncStep] = []
    for product, wanted in catalog_stock.items():
        if wanted is None:
            continue
        row = rows.get((product, WHOLE))
        if row is None:
            steps.append(SyncStep("insert", (product, WHOLE), wanted))
        elif row.seeded != wanted:
            steps.append(SyncStep("reset", (product, WHOLE), wanted))
    for key, row in rows.items():
        product, variant = key
        if variant == WHOLE and row.seeded is not None and catalog_stock.get(product) is None:
            steps.append(SyncStep("delete", key))
    return steps


# --- what the conversation is told ---

def live_counts(rows: Iterable[tuple[str, str, int]], catalog: Catalog) -> dict[str, int]:
    """product id -> units left, for Context.stock (which counts per product).

    Sizes add up when every size of the product is counted: it is sold out when all of them
    are. With a product row too, the smaller number holds. A single size running short is
    caught at confirmation (the conversation cannot tell sizes apart).
    """
    whole: dict[str, int] = {}
    sizes: dict[str, dict[str, int]] = {}
    for product_id, variant, units in rows:
        if variant == WHOLE:
            whole[product_id] = units
        else:
            sizes.setdefault(product_id, {})[variant] = max(0, units)
    counts = dict(whole)
    for product_id, counted in sizes.items():
        product = catalog.product(product_id)
        if (product is None or not product.variants
                or any(v.id not in counted for v in product.variants)):
            continue  # an uncounted size is unlimited, so the product is too
        total = sum(counted.values())
        counts[product_id] = min(total, whole[product_id]) if product_id in whole else total
    return counts


def demand(lines: Iterable[tuple[str, str | None, int]]) -> dict[StockKey, int]:
    """Units an order takes per key: each line counts for its product and for its variant.

    Only keys that have a row are then reserved; the others are unlimited.
    """
    wanted: dict[StockKey, int] = {}
    for product, variant, quantity in lines:
        keys = [(product, WHOLE)] + ([(product, variant)] if variant else [])
        for key in keys:
            wanted[key] = wanted.get(key, 0) + quantity
    return wanted


# --- low stock ---

def threshold(low_stock_at: int | None) -> int:
    return 0 if low_stock_at is None else low_stock_at


@dataclass(frozen=True)
class LowStock:
    alert: bool  # tell the owner now
    flagged: bool  # the count is at or below the threshold (stored as low_alerted)


def after_sale(units: int, low_stock_at: int | None, flagged: bool) -> LowStock:
    """A sale left `units`: alert when it crossed the threshold and the owner was not told."""
    if units <= threshold(low_stock_at):
        return LowStock(alert=not flagged, flagged=True)
    return LowStock(alert=False, flagged=False)


def after_restock(units: int, low_stock_at: int | None) -> bool:
    """The flag after a count someone set or gave back: no alert, and above the threshold the
    next crossing alerts again."""
    return units <= threshold(low_stock_at)


def item_name(catalog: Catalog, key: StockKey) -> str:
    product_id, variant_id = key
    product = catalog.product(product_id)
    if product is None:
        return key_text(key)
    variant = product.variant(variant_id) if variant_id else None
    return f"{product.name} ({variant.name})" if variant is not None else product.name


def low_stock_alert(catalog: Catalog, key: StockKey, units: int) -> str:
    product = catalog.product(key[0])
    low = product.low_stock_at if product is not None else None
    name = item_name(catalog, key)
    if units <= 0:
        return texts.text("stock_sold_out_alert", item=name, stock_id=key_text(key))
    return texts.text("stock_low_alert", item=name, left=units, threshold=threshold(low),
                      stock_id=key_text(key))


def short_apology(catalog: Catalog, key: StockKey, left: int) -> str:
    """When a size's own count is short at confirmation (the conversation counts per product)."""
    return texts.text("stock_short_at_confirm", item=item_name(catalog, key), left=left)
