"""Which ticket adapter gets which order lines, by menu category. Pure.

A shop owner writes the routes as one line (environment variable or orderbot.toml):

    ORDERBOT_ROUTES = "Drinks, Desserts = printer; * = http"

Rules are separated by `;`, each `categories = adapters` (both comma lists; categories are
matched ignoring case and extra spaces). `*` stands for every category no rule names.
An adapter that no rule mentions gets every line (a kitchen display showing whole orders).
Without a `*` rule, lines of an unnamed category go to the unmentioned adapters, or, when
every adapter is mentioned, to all of them: a line is never dropped.

Each adapter receives one ticket per order holding only its lines, in the order's line order,
with `part` saying how much of the order it carries; an adapter with no lines gets no ticket.
Named printers (bot.named_printers) are adapters like any other: "Drinks = printer:bar".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.named_printers import PRINTER_PREFIX, undefined_printers

ANY_CATEGORY = "*"
# A word, or "<kind>:<name>" for one of several adapters of a kind ("printer:bar").
ADAPTER_NAME = re.compile(r"^[a-z][a-z0-9_-]*(:[a-z][a-z0-9_-]*)?$")
MAX_ADAPTER_NAME = 32  # the outbox's kind column


class RoutesError(ValueError):
    """The adapter list or the routes cannot be used; the message says what to write."""


def parse_adapter_names(text: str) -> tuple[str, ...]:
    """'http, printer' -> ('http', 'printer'): lower-cased, in order, each once."""
    names: list[str] = []
    for raw in text.split(","):
        name = re.sub(r"\s*:\s*", ":", raw.strip().lower())  # "printer : bar" is printer:bar
        if not name:
            continue
        if not ADAPTER_NAME.match(name) or len(name) > MAX_ADAPTER_NAME:
            raise RoutesError(f"{raw.strip()!r} is not an adapter name: use letters, digits, "
                              "'-' or '_', starting with a letter (e.g. http, printer, spool, "
                              "or printer:bar for a printer in ORDERBOT_PRINTERS)")
        if name not in names:
            names.append(name)
    return tuple(names)


@dataclass(frozen=True)
class Routing:
    """The configured adapters, in order, and the category rules between them."""

    adapters: tuple[str, ...] = ()
    # (casefolded category or "*", adapters), in the order written
    rules: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @classmethod
    def parse(cls, adapters: Sequence[str], routes: str | None) -> Routing:
        """Check `routes` against the adapters; raises RoutesError naming the mistake."""
        rules: dict[str, tuple[str, ...]] = {}
        for rule in (routes or "").replace("\n", ";").split(";"):
            if not rule.strip():
                continue
            categories, equals, targets = rule.partition("=")
            if not equals:
                raise RoutesError(f"route {rule.strip()!r} has no '=': write it as "
                                  "'Category = adapter', e.g. 'Drinks = printer'")
            names = parse_adapter_names(targets)
            if not names:
                raise RoutesError(f"route {rule.strip()!r} names no adapter after '='")
            unknown = [name for name in names if name not in adapters]
            printers = [name for name in unknown if name.startswith(PRINTER_PREFIX)]
            if printers:
                defined = [name for name in adapters if name.startswith(PRINTER_PREFIX)]
                raise RoutesError(f"route {rule.strip()!r} sends to "
                                  f"{undefined_printers(printers, defined)}")
            if unknown:
                raise RoutesError(
                    f"route {rule.strip()!r} sends to {', '.join(unknown)}, which is not in "
                    f"ORDERBOT_ADAPTERS ({', '.join(adapters) or 'none configured'})")
            for category in categories.split(","):
                key = _category_key(category)
                if not key:
                    raise RoutesError(f"route {rule.strip()!r} has an empty category")
                if key in rules:
                    raise RoutesError(f"category {category.strip()!r} is routed twice; "
                                      "list all its adapters in one rule: 'Drinks = a, b'")
                rules[key] = names
        return cls(tuple(adapters), tuple(rules.items()))

    def mentioned(self) -> frozenset[str]:
        return frozenset(name for _, names in self.rules for name in names)

    def targets(self, category: str) -> tuple[str, ...]:
        """The adapters a line of this category goes to, in configured order."""
        rules = dict(self.rules)
        unmentioned = [name for name in self.adapters if name not in self.mentioned()]
        key = _category_key(category)
        if key in rules:
            chosen = set(rules[key])
        elif ANY_CATEGORY in rules:
            chosen = set(rules[ANY_CATEGORY])
        else:
            chosen = set(unmentioned) or set(self.adapters)  # never drop a line
        chosen.update(unmentioned)
        return tuple(name for name in self.adapters if name in chosen)

    def unknown_categories(self, categories: Sequence[str]) -> list[str]:
        """Categories in the routes that the menu does not have (most likely typos)."""
        known = {_category_key(category) for category in categories}
        return [key for key, _ in self.rules if key != ANY_CATEGORY and key not in known]


def split_ticket(ticket: dict[str, Any], routing: Routing) -> list[tuple[str, dict[str, Any]]]:
    """One ticket per adapter with its lines (adapters without lines are left out).

    Every ticket gets `part`: null when it holds the whole order, else {"lines": k, "of": n},
    so a station knows other lines went elsewhere.
    """
    lines: list[dict[str, Any]] = ticket["lines"]
    per_adapter: dict[str, list[dict[str, Any]]] = {name: [] for name in routing.adapters}
    for line in lines:
        for name in routing.targets(str(line.get("category", ""))):
            per_adapter[name].append(line)
    tickets = []
    for name, mine in per_adapter.items():
        if not mine:
            continue
        part = None if len(mine) == len(lines) else {"lines": len(mine), "of": len(lines)}
        tickets.append((name, {**ticket, "lines": mine, "part": part}))
    return tickets


def _category_key(category: str) -> str:
    return " ".join(category.split()).casefold()
