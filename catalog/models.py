"""The catalog schema a shop owner edits: shop settings and products with variants and options.

Pure data and validation; no file I/O (see catalog.loader). Field names are the public catalog
format documented in the README, so keep them stable.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FulfillmentMode = Literal["pickup", "delivery"]

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_HOURS_RANGE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$")

Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=4)]
PriceDelta = Annotated[Decimal, Field(max_digits=12, decimal_places=4)]
# The SKU / content id of the item in the shop's WhatsApp (Meta commerce) catalog: a WhatsApp
# cart names its items by it. Any text; Meta's catalog feeds allow up to 100 characters.
RetailerId = Annotated[str, Field(min_length=1, max_length=100)]


class _Strict(BaseModel):
    # Unknown keys are almost always typos ("pirce:"); reject them so the owner hears about it.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _check_slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError(
            "ids use lower-case letters, digits, '-' and '_' only, e.g. 'chicken-shawarma'"
        )
    return value


class Named(_Strict):
    """Anything a customer can name: an id, a display name and other names people use."""

    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=80)
    aliases: tuple[str, ...] = ()

    _slug = field_validator("id")(_check_slug)

    @field_validator("aliases", mode="before")
    @classmethod
    def _aliases_from_string(cls, value: object) -> object:
        # Owners write `aliases: coke` as often as `aliases: [coke]`.
        return [value] if isinstance(value, str) else value

    def names(self) -> tuple[str, ...]:
        """The display name first, then the aliases."""
        return (self.name, *self.aliases)


class Variant(Named):
    """One of a set of mutually exclusive versions of a product, e.g. a size."""

    price: Money | None = None
    default: bool = False
    retailer_id: RetailerId | None = None


class Ingredient(Named):
    """Something that comes in the product and can be left out ("no pickles")."""


class Choice(Named):
    """One choice inside an option group; `price` is added to the unit price."""

    price: PriceDelta = Decimal(0)


class OptionGroup(_Strict):
    """A group of choices with selection bounds: min 1 makes it required, max 1 single-select."""

    group: str = Field(min_length=1, max_length=80)
    min: int = Field(default=0, ge=0)
    max: int = Field(default=1, ge=1)
    choices: tuple[Choice, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _bounds(self) -> OptionGroup:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is larger than max ({self.max})")
        if self.max > len(self.choices):
            raise ValueError(
                f"max is {self.max} but the group only has {len(self.choices)} choices"
            )
        return self


class Product(Named):
    """A thing the shop sells."""

    category: str = Field(default="Other", min_length=1, max_length=80)
    price: Money
    available: bool = True
    stock: int | None = Field(default=None, ge=0)
    low_stock_at: int | None = Field(default=None, ge=0)
    variants: tuple[Variant, ...] = ()
    ingredients: tuple[Ingredient, ...] = ()
    options: tuple[OptionGroup, ...] = ()
    retailer_id: RetailerId | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Product:
        # Runs for every product of a catalog: a list of one item has nothing to clash with.
        if len(self.variants) > 1:
            defaults = [v.id for v in self.variants if v.default]
            if len(defaults) > 1:
                raise ValueError(
                    f"only one variant can be the default, but {', '.join(defaults)} all say "
                    "'default: true'"
                )
            _no_duplicates("variant", [v.id for v in self.variants])
        if len(self.ingredients) > 1:
            _no_duplicates("ingredient", [i.id for i in self.ingredients])
        if self.options:
            _no_duplicates("choice", [c.id for g in self.options for c in g.choices])
        return self

    @property
    def default_variant(self) -> Variant | None:
        return next((v for v in self.variants if v.default), None)

    def variant(self, variant_id: str | None) -> Variant | None:
        return next((v for v in self.variants if v.id == variant_id), None)

    def choice(self, choice_id: str) -> Choice | None:
        return next((c for g in self.options for c in g.choices if c.id == choice_id), None)

    def unit_price(
        self, variant_id: str | None = None, choice_ids: tuple[str, ...] = ()
    ) -> Decimal:
        """Price of one item: the variant's price (or the product's) plus the choices' deltas."""
        variant = self.variant(variant_id)
        base = variant.price if variant is not None and variant.price is not None else self.price
        extras = sum(
            (c.price for cid in choice_ids if (c := self.choice(cid)) is not None), Decimal(0)
        )
        return base + extras


def _no_duplicates(kind: str, ids: list[str]) -> None:
    if len(set(ids)) == len(ids):
        return
    seen: set[str] = set()
    for item_id in ids:
        if item_id in seen:
            raise ValueError(f"the {kind} id '{item_id}' is used twice; give each one its own id")
        seen.add(item_id)


class Shop(_Strict):
    """Shop-wide settings."""

    name: str = Field(min_length=1, max_length=80)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    timezone: str = "UTC"
    hours: dict[Weekday, tuple[str, ...]] = Field(default_factory=dict)
    fulfillment: tuple[FulfillmentMode, ...] = ("pickup",)
    owner_whatsapp: str | None = Field(default=None, pattern=r"^\+?[0-9]{6,15}$")
    # Closed: take orders anyway and prepare them at opening (true), or say when we open.
    preorders: bool = False
    minimum_order: Money | None = None  # an order below this total cannot be confirmed

    @field_validator("fulfillment", mode="before")
    @classmethod
    def _one_mode(cls, value: object) -> object:
        # `fulfillment: pickup` is as natural as `fulfillment: [pickup]`.
        return [value] if isinstance(value, str) else value

    @field_validator("hours", mode="before")
    @classmethod
    def _closed_days(cls, value: object) -> object:
        # `sun: closed` and `mon: "11:00-15:00"` are the natural ways to write it.
        if not isinstance(value, dict):
            return value
        normalised: dict[object, object] = {}
        for day, ranges in value.items():
            if ranges is None or (isinstance(ranges, str) and ranges.strip().lower() == "closed"):
                normalised[day] = ()
            elif isinstance(ranges, str):
                normalised[day] = (ranges,)
            else:
                normalised[day] = ranges
        return normalised

    @field_validator("hours")
    @classmethod
    def _ranges(cls, value: dict[Weekday, tuple[str, ...]]) -> dict[Weekday, tuple[str, ...]]:
        for day, ranges in value.items():
            for hours_range in ranges:
                if not _HOURS_RANGE.match(hours_range.replace(" ", "")):
                    raise ValueError(
                        f"{day}: '{hours_range}' is not an opening range; write it like "
                        "'11:00-23:00' (use '18:00-02:00' for past midnight, or 'closed')"
                    )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"'{value}' is not a known time zone; use a name like 'Europe/London'"
            ) from None
        return value


class CatalogFile(_Strict):
    """The whole file: one shop and its products."""

    shop: Shop
    products: tuple[Product, ...] = Field(min_length=1)
