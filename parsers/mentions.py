"""Finding product names in a message: whole names first, then partial ones in leftovers.

A whole-name mention ("chicken shawarma", "chiken shawrma", "cokes") anchors an order line. A
partial mention ("shawarma" when the menu has chicken and beef shawarma) is only looked for in
text no whole name explained, and becomes a line only when it points at one product.
"""

from __future__ import annotations

from dataclasses import dataclass

from parsers.index import Key, ProductIndex
from parsers.message import Message, walk
from parsers.pipeline import FILLER, NEG, QUAL, WITH

# A partial name is worth at most this much, scaled up by how much of the name was given.
PARTIAL_BASE, PARTIAL_SPAN = 0.7, 0.2
# Several words of one product's name, in order ("tawook wrap"): nearly as good as the name.
SUBNAME_BASE, SUBNAME_SPAN = 0.85, 0.1
MAX_CANDIDATES = 5
PARTIAL_MIN_SIMILARITY = 0.85


@dataclass(frozen=True, slots=True)
class Mention:
    """Units [first, last) name `products` (more than one: ambiguous)."""

    first: int
    last: int
    products: tuple[int, ...]
    confidence: float
    words: int = 1  # catalog words matched: more words is a more specific name
    skipped: int = 0  # connector words read through, which another item may own
    pool: tuple[int, ...] = ()  # a partial name: every product it may be (up to SUBNAME_LIMIT)


def full_mentions(message: Message, index: ProductIndex, lo: int, hi: int) -> list[Mention]:
    """Whole product names in units [lo, hi), longest first, without overlaps."""
    found: list[Mention] = []
    for i in range(lo, hi):
        if not message.readings[i]:
            continue
        for step in walk(message, i, index.max_len, hi, index.prefix):
            named = index.full.get(step.key)
            if named:
                found.append(Mention(i, step.last, tuple(named), step.confidence,
                                     len(step.key), step.skipped))
                continue
            # "tawook wrap" for "Shish Tawook Wrap": several words of one product's name only.
            partial = index.partial.get(step.key) if len(step.key) > 1 else None
            if partial is not None and len(partial) == 1:
                share = len(step.key) / max(index.sizes[partial[0]], len(step.key) + 1)
                found.append(Mention(i, step.last, (partial[0],),
                                     step.confidence * (SUBNAME_BASE + SUBNAME_SPAN * share),
                                     len(step.key), step.skipped))
    return _select(message, found)


def partial_mentions(message: Message, index: ProductIndex, lo: int, hi: int,
                     blocked: frozenset[int]) -> list[Mention]:
    """Parts of product names in [lo, hi); words in `blocked` (modifier words) cannot anchor."""
    found: list[Mention] = []
    for i in range(lo, hi):
        if not message.readings[i] or not message.is_content(i) or _after_rule(message, lo, i):
            continue
        for step in walk(message, i, index.max_len, hi, index.prefix):
            products = index.partial.get(step.key)
            if not products or not _distinctive(step.key, blocked) \
                    or step.confidence < PARTIAL_MIN_SIMILARITY:
                continue  # a typo of part of a name is too weak a signal
            size = index.sizes[products[0]]
            scale = PARTIAL_BASE + PARTIAL_SPAN * min(1.0, len(step.key) / max(size, 1))
            found.append(Mention(i, step.last, tuple(products[:MAX_CANDIDATES]),
                                 step.confidence * scale, len(step.key), step.skipped,
                                 tuple(products)))
    return _select(message, found)


def _after_rule(message: Message, lo: int, i: int) -> bool:
    """'no peppers', 'with chicken': after these, part of a name is an option, not an item."""
    for j in range(i - 1, lo - 1, -1):
        unit = message.units[j]
        if unit.marker is not None and unit.label != FILLER:
            return unit.label in (NEG, WITH, QUAL)
        if unit.is_word and not unit.filler:
            return False
    return False


def _distinctive(key: Key, blocked: frozenset[int]) -> bool:
    return any(lemma not in blocked for lemma in key)


def _select(message: Message, found: list[Mention]) -> list[Mention]:
    """Greedy: more catalog words first ("diet coke" over "coke"), then fewer connectors read
    through ("chicken burger | with cheese" over "chicken | burger with cheese"), then higher
    confidence, then longer text. Same span and score: one ambiguous mention."""
    units = message.units

    def length(m: Mention) -> int:
        return units[m.last - 1].end - units[m.first].start

    found.sort(key=lambda m: (-m.words, m.skipped, -m.confidence, -length(m), m.first))
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
                    same.words, same.skipped, tuple(dict.fromkeys(same.pool + mention.pool)))
            continue
        taken.update(span)
        chosen.append(mention)
    return sorted(chosen, key=lambda m: m.first)
