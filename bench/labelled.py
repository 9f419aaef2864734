"""Labelled order messages and how a parse is scored against them.

A label says what the kitchen should make: order lines and the reasons for anything the bot has to
ask about. The fixture files (fixtures/parsing/*.yaml, format in its README.md) and the pizza-dev
gold trees (bench/pizza_catalog.py) are both read into `Labelled`, so every set is scored alike:

* A line is compared as (product, quantity, variant, {(option, qualifier)}, {removed}); notes,
  confidence and spans are not scored. Lines are a multiset: order does not matter, repeats do.
* Unresolved entries are compared as a multiset of reasons (candidates are not scored).
* A message is an exact match when both multisets are equal.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from parsers import ParseResult

# (product, quantity, variant, frozenset((option id, qualifier)), frozenset(removed ids))
LineKey = tuple[str, int, str | None, frozenset[tuple[str, str | None]], frozenset[str]]

# The C loader when PyYAML has it (reads the fixtures ~10x faster); both are safe loaders.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

REASONS = frozenset({"ambiguous", "unknown", "missing_variant", "unavailable"})
QUALIFIERS = frozenset({"extra", "light", "double"})


@dataclass(frozen=True)
class Labelled:
    """One message with its correct reading."""

    text: str
    lines: tuple[LineKey, ...]
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Comparison:
    """A parse held against its label."""

    labelled: Labelled
    got_lines: tuple[LineKey, ...]
    got_reasons: tuple[str, ...]

    @property
    def matched_lines(self) -> int:
        """Lines found that are also expected (multiset intersection)."""
        return sum((Counter(self.labelled.lines) & Counter(self.got_lines)).values())

    @property
    def lines_exact(self) -> bool:
        return Counter(self.labelled.lines) == Counter(self.got_lines)

    @property
    def reasons_exact(self) -> bool:
        return Counter(self.labelled.reasons) == Counter(self.got_reasons)

    @property
    def exact(self) -> bool:
        return self.lines_exact and self.reasons_exact


def line_key(product: str, quantity: int, variant: str | None,
             options: list[tuple[str, str | None]] | tuple[tuple[str, str | None], ...] = (),
             removed: list[str] | tuple[str, ...] = ()) -> LineKey:
    return (product, quantity, variant, frozenset(options), frozenset(removed))


def _line_from_mapping(item: dict[str, Any]) -> LineKey:
    options = [(str(o["id"]), None if o.get("qualifier") is None else str(o["qualifier"]))
               for o in item.get("options") or []]
    variant = item.get("variant")
    return line_key(str(item["product"]), int(item.get("quantity", 1)),
                    None if variant is None else str(variant), options,
                    [str(r) for r in item.get("removed") or []])


def labelled_from_mapping(item: dict[str, Any]) -> Labelled:
    """A fixture item ({text, lines, unresolved}) as a label."""
    lines = tuple(_line_from_mapping(line) for line in item.get("lines") or [])
    reasons = tuple(str(u["reason"]) for u in item.get("unresolved") or [])
    return Labelled(str(item["text"]), lines, reasons)


def read_fixture(path: Path) -> list[dict[str, Any]]:
    """The raw items of one fixture file (a YAML list)."""
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # a safe loader (above)
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a list of messages")
    return [item for item in data if isinstance(item, dict)]


def load_fixture(path: Path) -> list[Labelled]:
    return [labelled_from_mapping(item) for item in read_fixture(path)]


def compare(labelled: Labelled, result: ParseResult) -> Comparison:
    got = tuple(line_key(x.product, x.quantity, x.variant,
                         [(o.id, o.qualifier) for o in x.options], x.removed)
                for x in result.lines)
    return Comparison(labelled, got, tuple(u.reason for u in result.unresolved))


def describe_line(line: LineKey) -> str:
    """'2 chicken-shawarma/large +cheese:extra -pickles'."""
    product, quantity, variant, options, removed = line
    text = f"{quantity} {product}" + (f"/{variant}" if variant is not None else "/-")
    text += "".join(f" +{o}" + (f":{q}" if q else "") for o, q in sorted(options,
                                                                          key=lambda x: x[0]))
    text += "".join(f" -{r}" for r in sorted(removed))
    return text


def describe(lines: tuple[LineKey, ...], reasons: tuple[str, ...]) -> str:
    parts = [describe_line(line) for line in lines] or ["(no lines)"]
    if reasons:
        parts.append("unresolved: " + ", ".join(sorted(reasons)))
    return " | ".join(parts)
