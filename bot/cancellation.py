"""Who cancelled a placed order, and how long the reason told to the customer may be. Pure.

The codes stored in customer_order.cancelled_by (adapters.db), and the words the owner reads for
them (bot.report), live here together. No imports from the rest of orderbot, so the database
models can use it without loading the order logic.
"""

from __future__ import annotations

from typing import Literal, TypeGuard

# The kitchen display's Cancel button, a kitchen system's signed status callback, and
# `orderbot order cancel` run by an operator.
CancelledBy = Literal["screen", "system", "operator"]
CANCELLED_BY: tuple[CancelledBy, ...] = ("screen", "system", "operator")
CANCELLED_BY_WORDS: dict[CancelledBy, str] = {
    "screen": "kitchen screen",
    "system": "kitchen system",
    "operator": "operator",
}
# Orders cancelled before orderbot recorded who did it (their cancelled_by is empty).
UNKNOWN = "unknown"
CANCELLED_BY_LENGTH = 16  # characters the column holds; every code fits
REASON_LIMIT = 300  # characters of a cancellation reason the customer is shown


def is_cancelled_by(value: object) -> TypeGuard[CancelledBy]:
    return isinstance(value, str) and value in CANCELLED_BY


def cancelled_by_label(stored: str | None) -> str:
    """The label a stored value is counted under: its code, or UNKNOWN for an empty one (or
    one this version does not know, e.g. written by a newer orderbot)."""
    return stored if is_cancelled_by(stored) else UNKNOWN
