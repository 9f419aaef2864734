"""A message as the matchers see it: labelled units plus every catalog reading of each word.

`walk` is the one place that reads a run of units as a lemma key; product names and modifier
names are both found through it, so they tolerate the same typos, plurals and punctuation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from parsers.index import CONNECTORS, Key, Lexicon, Reading
from parsers.pipeline import QTY, Unit

# Punctuation that ends a name: a name never runs across a comma or a line break.
_HARD_BREAKS = frozenset({",", "\n", ";", "+", "|", ".", "!", "?", "/", ":"})


@dataclass(frozen=True, slots=True)
class Message:
    """The original text, its units and, per unit, its readings as catalog words."""

    text: str
    units: list[Unit]
    readings: list[tuple[Reading, ...]]

    def span_text(self, first: int, last: int) -> str:
        """The original text covered by units [first, last)."""
        if first >= last:
            return ""
        return self.text[self.units[first].start:self.units[last - 1].end]

    def lemmas(self, i: int) -> Iterator[int]:
        """Every catalog lemma unit i may stand for."""
        for lemmas, _similarity, _span in self.readings[i]:
            yield from lemmas

    def is_content(self, i: int) -> bool:
        """A word that is neither filler nor part of a rule (quantity, 'with', 'no', ...)."""
        unit = self.units[i]
        if not unit.is_word or unit.filler or unit.marker is not None:
            return False
        return not unit.norm.isdigit() or bool(self.readings[i])  # "7pm", "$4.50"


def read_message(text: str, units: list[Unit], lexicon: Lexicon) -> Message:
    readings: list[tuple[Reading, ...]] = []
    for i, unit in enumerate(units):
        if not unit.is_word:
            readings.append(())
            continue
        found: list[Reading] = [(lemmas, sim, 1) for lemmas, sim in lexicon.readings(unit.norm)]
        following = units[i + 1] if i + 1 < len(units) else None
        if following is not None and following.is_word and following.start - unit.end <= 1:
            joined = lexicon.lemma(unit.norm + following.norm)  # "cheese burger", "coca cola"
            if joined is not None:
                found.append(((joined,), 1.0, 2))
        readings.append(tuple(found))
    return Message(text, units, readings)


@dataclass(frozen=True, slots=True)
class Walk:
    """One way to read units [first, last) as a key."""

    key: Key
    first: int
    last: int
    confidence: float
    skipped: int  # connector words read through ("fish and chips", "burger with cheese")


def _skippable(unit: Unit) -> bool:
    """Units that may sit inside a name: hyphens, apostrophes, '&', 'and' (not commas)."""
    if unit.is_word:
        return unit.norm in CONNECTORS
    return unit.norm not in _HARD_BREAKS


def walk(message: Message, first: int, limit: int, hi: int,
         can_grow: Callable[[Key], bool]) -> Iterator[Walk]:
    """Every key readable from unit `first` (within [first, hi)) that `can_grow` accepts."""
    units, readings = message.units, message.readings
    # (next unit, key so far, weighted similarity sum, weight sum, connectors skipped)
    stack: list[tuple[int, Key, float, float, int]] = [(first, (), 0.0, 0.0, 0)]
    while stack:
        i, key, score, weight, skipped = stack.pop()
        for lemmas, similarity, span in readings[i]:
            grown = key + lemmas
            end = i + span
            if end > hi or not can_grow(grown):
                continue
            size = float(units[end - 1].end - units[i].start)
            total, mass = score + similarity * size, weight + size
            yield Walk(grown, first, end, total / mass, skipped)
            if len(grown) >= limit:
                continue
            j, words = end, skipped
            while j < hi and _skippable(units[j]) and not _is_quantity(units[j]):
                words += units[j].is_word
                j += 1
            if j < hi:
                stack.append((j, grown, total, mass, words))


def _is_quantity(unit: Unit) -> bool:
    return unit.label == QTY
