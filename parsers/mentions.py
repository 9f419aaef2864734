"""Finding product names in a message: whole names first, then partial ones in leftovers.

A whole-name mention ("chicken shawarma", "chiken shawrma", "cokes") anchors an order line. A
partial mention ("shawarma" when the menu has chicken and beef shawarma) is only looked for in
text no whole name explained, and becomes a line only when it points at one product.
"""

from __future__ import annotations

from dataclasses import dataclass

from parsers.index import Key, ProductIndex
from parsers.message import Message, walk

# A partial name is worth at most this much, scaled up by how much of the name was given.
PARTIAL_BASE, PARTIAL_SPAN = 0.7, 0.2
MAX_CANDIDATES = 5


@dataclass(frozen=True, slots=True)
class Mention:
    """Units [first, last) name `products` (more than one: ambiguous)."""

    first: int
    last: int
    products: tuple[int, ...]
    confidence: float
    partial: bool = False
    total: int = 0  # how many products the words fit (partial mentions are capped lists)


def full_mentions(message: Message, index: ProductIndex, lo: int, hi: int) -> list[Mention]:
    """Whole product names in units [lo, hi), longest first, without overlaps."""
    found: list[Mention] = []
    for i in range(lo, hi):
        if not message.readings[i]:
            continue
        for step in walk(message, i, index.max_len, hi, index.prefix):
            named = index.full.get(step.key)
            if named:
                products = tuple(named)
                found.append(Mention(i, step.last, products, step.confidence,
                                     total=len(products)))
    return _select(message, found)


def partial_mentions(message: Message, index: ProductIndex, lo: int, hi: int,
                     blocked: frozenset[int]) -> list[Mention]:
    """Parts of product names in [lo, hi); words in `blocked` (modifier words) cannot anchor."""
    found: list[Mention] = []
    for i in range(lo, hi):
        if not message.readings[i] or not message.is_content(i):
            continue
        for step in walk(message, i, index.max_len, hi, index.prefix):
            products = index.partial.get(step.key)
            if not products or not _distinctive(step.key, blocked):
                continue
            size = index.sizes[products[0]]
            scale = PARTIAL_BASE + PARTIAL_SPAN * min(1.0, len(step.key) / max(size, 1))
            found.append(Mention(i, step.last, tuple(products[:MAX_CANDIDATES]),
                                 step.confidence * scale, partial=True, total=len(products)))
    return _select(message, found)


def _distinctive(key: Key, blocked: frozenset[int]) -> bool:
    return any(lemma not in blocked for lemma in key)


def _select(message: Message, found: list[Mention]) -> list[Mention]:
    """Greedy: longer text first, then higher confidence; same span and score -> ambiguous."""
    units = message.units

    def length(m: Mention) -> int:
        return units[m.last - 1].end - units[m.first].start

    found.sort(key=lambda m: (-length(m), -m.confidence, m.first))
    chosen: list[Mention] = []
    taken: set[int] = set()
    for mention in found:
        span = range(mention.first, mention.last)
        if any(i in taken for i in span):
            same = next((c for c in chosen if (c.first, c.last) == (mention.first, mention.last)
                         and abs(c.confidence - mention.confidence) < 1e-9), None)
            if same is not None:
                merged = tuple(dict.fromkeys(same.products + mention.products))
                chosen[chosen.index(same)] = Mention(
                    same.first, same.last, merged[:MAX_CANDIDATES], same.confidence,
                    same.partial, max(same.total, len(merged)))
            continue
        taken.update(span)
        chosen.append(mention)
    return sorted(chosen, key=lambda m: m.first)
