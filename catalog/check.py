"""`orderbot catalog check FILE`: the owner's report on a catalog file, as (exit code, text)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from catalog.catalog import Catalog
from catalog.errors import CatalogError
from catalog.loader import load_catalog

# Long lists of ids help nobody in a terminal; say how many more there are instead.
_MAX_LISTED = 10


def check_catalog_file(path: str | Path) -> tuple[int, str]:
    """Exit 1 and every problem on its own line, or exit 0 and a summary of the catalog."""
    try:
        catalog = load_catalog(path)
    except CatalogError as exc:
        count = len(exc.problems)
        lines = [str(problem) for problem in exc.problems]
        noun = "problem" if count == 1 else "problems"
        lines.append(f"{count} {noun} found in {Path(path).name}; the catalog was not loaded.")
        return 1, "\n".join(lines)
    return 0, summary(catalog)


def summary(catalog: Catalog) -> str:
    """What the bot will sell, in a few lines the owner can compare with their menu."""
    shop = catalog.shop
    products = catalog.products
    per_category = Counter(p.category for p in products)
    variants = sum(len(p.variants) for p in products)
    groups = sum(len(p.options) for p in products)
    choices = sum(len(g.choices) for p in products for g in p.options)
    ingredients = sum(len(p.ingredients) for p in products)
    unavailable = [p.id for p in products if not p.available]
    stocked = [p for p in products if p.stock is not None]
    low = [p.id for p in stocked if p.low_stock_at is not None and p.stock is not None
           and p.stock <= p.low_stock_at]
    name = Path(catalog.source).name
    lines = [
        f"{name} is OK.",
        f"Shop: {shop.name} (currency {shop.currency}, time zone {shop.timezone}, "
        f"{' and '.join(shop.fulfillment)})",
        f"Products: {len(products)} in {len(per_category)} "
        f"{'category' if len(per_category) == 1 else 'categories'}",
    ]
    lines += [f"  {category}: {per_category[category]}" for category in catalog.categories()]
    lines += [
        f"Variants: {variants}",
        f"Option groups: {groups} with {choices} choices",
        f"Ingredients: {ingredients}",
        f"Unavailable: {len(unavailable)}{_listed(unavailable)}",
        f"Products with stock: {len(stocked)}"
        + (f" ({len(low)} low: {', '.join(low[:_MAX_LISTED])}"
           f"{_more(low)})" if low else ""),
    ]
    return "\n".join(lines)


def _listed(ids: list[str]) -> str:
    return f" ({', '.join(ids[:_MAX_LISTED])}{_more(ids)})" if ids else ""


def _more(ids: list[str]) -> str:
    return f", and {len(ids) - _MAX_LISTED} more" if len(ids) > _MAX_LISTED else ""
