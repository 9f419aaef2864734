"""The loaded, validated catalog the rest of the product reads: products by id, money formatting."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from catalog.models import CatalogFile, Product, Shop, Variant

# ISO 4217 minor units for the currencies where it is not 2; everything else uses 2.
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "UGX": 0,
                "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3, "IQD": 3, "LYD": 3}
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "NGN": "₦", "BRL": "R$"}


@dataclass(frozen=True)
class Catalog:
    """A validated catalog. Build it with `catalog.loader.load_catalog` or `Catalog.from_file`."""

    data: CatalogFile
    source: str = "<memory>"
    _by_id: dict[str, Product] = field(init=False, repr=False, compare=False)
    # Built on the first WhatsApp cart, not at load: most shops never receive one.
    _by_retailer: dict[str, tuple[Product, Variant | None]] | None = field(
        init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {p.id: p for p in self.data.products})
        object.__setattr__(self, "_by_retailer", None)

    @classmethod
    def from_file(cls, path: str | Path) -> Catalog:
        """Load and validate a .yaml/.yml/.csv catalog; raises catalog.errors.CatalogError."""
        # Imported here because the loader imports this module.
        from catalog.loader import load_catalog  # noqa: PLC0415

        return load_catalog(path)

    @property
    def shop(self) -> Shop:
        return self.data.shop

    @property
    def products(self) -> tuple[Product, ...]:
        return self.data.products

    def __iter__(self) -> Iterator[Product]:
        return iter(self.data.products)

    def __len__(self) -> int:
        return len(self.data.products)

    def product(self, product_id: str) -> Product | None:
        return self._by_id.get(product_id)

    def by_retailer_id(self, retailer_id: str) -> tuple[Product, Variant | None] | None:
        """The product, and variant if one is meant, that a WhatsApp cart item names.

        First the shop's `retailer_id`s: a variant's, else a product's (meaning its default
        variant, or None when it has variants but no default, so the bot asks). Without one,
        the catalog ids: 'pepsi', 'pepsi:large' or 'pepsi-large'.
        """
        key = retailer_id.strip()
        if not key:
            return None
        found = self._retailer_ids().get(key)
        return found if found is not None else self._by_catalog_ids(key.lower())

    def _retailer_ids(self) -> dict[str, tuple[Product, Variant | None]]:
        table = self._by_retailer
        if table is None:
            table = {}
            for product in self.data.products:
                # The loader refuses a retailer id used twice; in-code catalogs keep the first.
                if product.retailer_id is not None:
                    table.setdefault(product.retailer_id, (product, product.default_variant))
                for variant in product.variants:
                    if variant.retailer_id is not None:
                        table.setdefault(variant.retailer_id, (product, variant))
            object.__setattr__(self, "_by_retailer", table)
        return table

    def _by_catalog_ids(self, key: str) -> tuple[Product, Variant | None] | None:
        product = self._by_id.get(key)
        if product is not None:
            return product, product.default_variant
        for separator in (":", "-"):
            # Product ids contain '-' too ("chicken-shawarma-large"): try each place, from the
            # right, so the longest product id that has such a variant wins.
            cut = len(key)
            while (cut := key.rfind(separator, 0, cut)) > 0:
                product = self._by_id.get(key[:cut])
                variant = product.variant(key[cut + 1:]) if product is not None else None
                if product is not None and variant is not None:
                    return product, variant
        return None

    def categories(self) -> list[str]:
        """Categories in the order they first appear in the file."""
        return list(dict.fromkeys(p.category for p in self.data.products))

    def format_money(self, amount: Decimal) -> str:
        """'$12.50', '12.500 KWD': the shop's currency with its usual number of decimals."""
        currency = self.shop.currency
        places = _MINOR_UNITS.get(currency, 2)
        quantum = Decimal(1).scaleb(-places)
        rounded = amount.quantize(quantum, rounding=ROUND_HALF_UP)
        text = f"{rounded:,.{places}f}"
        symbol = _SYMBOLS.get(currency)
        return f"{symbol}{text}" if symbol else f"{text} {currency}"
