"""Turning the product names found in one message into order lines and unresolved entries.

Every unit of the message ends up in exactly one place: the head or tail of an item (its
quantity, size, options, note), an orphan stretch (a partial name, an implied item, an unknown
item), or nowhere because it is chat.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from catalog.models import Product
from parsers.catalog_index import CatalogIndex
from parsers.mentions import MAX_CANDIDATES, Mention, partial_mentions
from parsers.message import Message
from parsers.models import ParsedLine, ParseResult, Unresolved
from parsers.modifiers import ModifierReader, Reading
from parsers.pipeline import NEG, QTY, QUAL, WITH
from parsers.segment import negated, split_region, tail_stop

MIN_CONFIDENCE = 0.6  # below this a fuzzy guess is reported as unknown, never as a line
IMPLIED_CONFIDENCE = 0.65  # a line whose product was never named, only its options


@dataclass
class Assembly:
    """The lines and unresolved entries of one message, built up region by region."""

    catalog: CatalogIndex
    message: Message
    lines: list[ParsedLine] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)

    def result(self) -> ParseResult:
        return ParseResult(tuple(sorted(self.lines, key=lambda line: line.span)),
                           tuple(sorted(self.unresolved, key=lambda u: u.span)))

    def keep_products(self, mentions: list[Mention]) -> list[Mention]:
        """Drop names that are really an option of the item before ('burger with fries')."""
        kept: list[Mention] = []
        for mention in mentions:
            if kept and self._is_option_of(kept[-1], mention):
                continue
            kept.append(mention)
        return kept

    def _is_option_of(self, before: Mention, mention: Mention) -> bool:
        units = self.message.units
        between = range(before.last, mention.first)
        if any(units[i].label == QTY for i in between):
            return False
        rules = [units[i].marker for i in between if units[i].label in (WITH, NEG, QUAL)]
        if not rules or rules[-1] is None:
            return False
        index = self.catalog.modifiers(before.products[0])
        i = rules[-1].last
        while i < mention.first:
            if not self.message.is_content(i):
                i += 1
                continue
            found = index.match(self.message, i, mention.first)
            if found is None:
                return False
            i = found.last
        found = index.match(self.message, mention.first, mention.last)
        return found is not None and found.last == mention.last

    def assemble(self, lo: int, hi: int, mentions: list[Mention], *, nested: bool) -> None:
        """Give every unit in [lo, hi) to a mention's head or tail, or to an orphan."""
        orphans: list[tuple[int, int]] = []
        heads: list[int] = []
        previous_end, previous = lo, None
        for mention in mentions:
            index = self.catalog.modifiers(mention.products[0])
            cut = split_region(self.message, previous_end, mention.first, previous, index)
            if previous is None:
                orphans.append((previous_end, cut))
            heads.append(cut)
            previous_end, previous = mention.last, index
        for n, mention in enumerate(mentions):
            end = heads[n + 1] if n + 1 < len(mentions) else hi
            stop = tail_stop(self.message, mention.last, end,
                             self.catalog.modifiers(mention.products[0]))
            orphans.append((stop, end))
            self._item(mention, heads[n], stop)
        if not mentions:
            orphans.append((lo, hi))
        for first, last in orphans:
            self._orphan(first, last, nested=nested)

    def _item(self, mention: Mention, head: int, stop: int) -> None:
        number = mention.products[0]
        product = self.catalog.products[number]
        reading = Reading()
        reader = ModifierReader(self.message, self.catalog.modifiers(number), product)
        reader.read(head, mention.first, reading, head=True)
        reader.read(mention.last, stop, reading, head=False)
        if negated(self.message, head, mention.first):
            return  # "no pepsi": nothing to order
        span = self._span([*reading.used, *range(mention.first, mention.last)])
        text = self.message.text[span[0]:span[1]]
        ids = tuple(self.catalog.products[n].id for n in mention.products)
        confidence = min(mention.confidence, reading.confidence)
        if len(ids) > 1:
            self.unresolved.append(Unresolved(text, "ambiguous", ids, span))
        elif not product.available:
            self.unresolved.append(Unresolved(text, "unavailable", ids, span))
        elif confidence < MIN_CONFIDENCE:
            self.unresolved.append(Unresolved(text, "unknown", ids, span))
        else:
            self._line(product, reading, confidence, span)

    def _span(self, used: list[int]) -> tuple[int, int]:
        units = self.message.units
        return min(units[i].start for i in used), max(units[i].end for i in used)

    def _line(self, product: Product, reading: Reading, confidence: float,
              span: tuple[int, int]) -> None:
        default = product.default_variant
        variant = reading.variant or (default.id if default is not None else None)
        self.lines.append(ParsedLine(
            product=product.id, quantity=reading.quantity or reading.postfix_quantity or 1,
            variant=variant, options=tuple(reading.options), removed=tuple(reading.removed),
            note="; ".join(reading.notes), confidence=confidence, span=span))
        if product.variants and variant is None:
            text = self.message.text[span[0]:span[1]]
            self.unresolved.append(Unresolved(
                text, "missing_variant", tuple(v.id for v in product.variants), span))
        self.unresolved.extend(reading.problems)

    def _orphan(self, lo: int, hi: int, *, nested: bool) -> None:
        """Text no product claimed: a partial name, an implied item, an unknown one, or chat."""
        message = self.message
        content = [i for i in range(lo, hi) if message.is_content(i)]
        if not content:
            return
        if not nested:
            partial = partial_mentions(message, self.catalog.names, lo, hi, self.catalog.blocked)
            if partial:
                self.assemble(lo, hi, partial, nested=True)
                return
        fitting = self.catalog.fitting(message, content, hi)
        if len(fitting) == 1 and fitting[0][1] >= 2:
            self._implied(lo, hi, fitting[0][0])
            return
        units = message.units
        first = content[0]
        while first > lo and (not units[first - 1].is_word
                              or units[first - 1].label in (QTY, QUAL, NEG, WITH)):
            first -= 1  # "2 lasagna", "extra cheese": the rule words belong to the text
        while first < content[0] and units[first].marker is None:
            first += 1
        span = (units[first].start, units[content[-1]].end)
        candidates = tuple(self.catalog.products[n].id for n, _ in fitting[:MAX_CANDIDATES])
        self.unresolved.append(Unresolved(
            message.text[span[0]:span[1]], "unknown",
            candidates or self.catalog.suggest(message, content), span))

    def _implied(self, lo: int, hi: int, number: int) -> None:
        """'a large with pepperoni and olives': no name, but the words fit one product only.

        Needs two named modifiers and every content word explained; the line's confidence is
        capped at IMPLIED_CONFIDENCE so the bot can confirm it.
        """
        product = self.catalog.products[number]
        reading = Reading()
        reader = ModifierReader(self.message, self.catalog.modifiers(number), product)
        reader.read(lo, hi, reading, head=True)
        confidence = min(IMPLIED_CONFIDENCE, reading.confidence)
        self._line(product, reading, confidence, self._span(reading.used))
