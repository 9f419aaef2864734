"""Parse results as plain values: what the customer asked for, and what could not be placed.

The JSON form (`ParseResult.to_json`) is a public contract used by `orderbot parse`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Qualifier = Literal["extra", "light", "double"]
UnresolvedReason = Literal["ambiguous", "unknown", "missing_variant", "unavailable"]


@dataclass(frozen=True)
class ChosenOption:
    """An option choice the customer asked for, with an optional qualifier ("extra cheese")."""

    id: str
    qualifier: Qualifier | None = None


@dataclass(frozen=True)
class ParsedLine:
    """One order line placed against the catalog."""

    product: str
    quantity: int = 1
    variant: str | None = None
    options: tuple[ChosenOption, ...] = ()
    removed: tuple[str, ...] = ()
    note: str = ""
    confidence: float = 1.0
    span: tuple[int, int] = (0, 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "product": self.product,
            "quantity": self.quantity,
            "variant": self.variant,
            "options": [{"id": o.id, "qualifier": o.qualifier} for o in self.options],
            "removed": list(self.removed),
            "note": self.note,
            "confidence": round(self.confidence, 3),
            "span": list(self.span),
        }


@dataclass(frozen=True)
class Unresolved:
    """Text the parser could not turn into a line, with the products it might have meant."""

    text: str
    reason: UnresolvedReason
    candidates: tuple[str, ...] = ()
    span: tuple[int, int] = (0, 0)
    # For missing_variant: the product whose variant is missing (candidates are its variant ids).
    product: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "text": self.text,
            "reason": self.reason,
            "candidates": list(self.candidates),
            "span": list(self.span),
        }
        if self.product is not None:
            data["product"] = self.product
        return data


@dataclass(frozen=True)
class ParseResult:
    """Everything found in one message. Nothing is dropped: what is not a line is unresolved."""

    lines: tuple[ParsedLine, ...] = ()
    unresolved: tuple[Unresolved, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not self.lines and not self.unresolved

    def to_json(self) -> dict[str, Any]:
        return {
            "lines": [line.to_json() for line in self.lines],
            "unresolved": [u.to_json() for u in self.unresolved],
        }
