"""Turning the product names found in one message into order lines and unresolved entries.

Every unit of the message ends up in exactly one place: the head or tail of an item (its
quantity, size, options, note), an orphan stretch (a partial name, an implied item, an unknown
item), or nowhere because it is chat.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from catalog.models import Product
from parsers.catalog_index import CatalogIndex
from parsers.mentions import MAX_CANDIDATES, Mention, partial_mentions
from parsers.message import Message
from parsers.models import ParsedLine, ParseResult, Unresolved
from parsers.modifiers import ModifierReader, Reading
from parsers.pipeline import MULT, NEG, QTY, QUAL, SEP, WITH
from parsers.segment import negation_before, split_clauses, split_region, tail_stop

MIN_CONFIDENCE = 0.6  # below this a fuzzy guess is reported as unknown, never as a line
IMPLIED_CONFIDENCE = 0.65  # a line whose product was never named, only its options
ELLIPSIS_CONFIDENCE = 0.9  # "a large margherita and a medium one": named just before
_WITH_WORDS = frozenset({"with", "w", "add", "adding", "include", "including", "plus"})


@dataclass
class Assembly:
    """The lines and unresolved entries of one message, built up region by region."""

    catalog: CatalogIndex
    message: Message
    lines: list[ParsedLine] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)
    _placed: list[tuple[int, int]] = field(default_factory=list)  # (end unit, product) of lines

    def result(self) -> ParseResult:
        return ParseResult(tuple(sorted(self.lines, key=lambda line: line.span)),
                           tuple(sorted(self.unresolved, key=lambda u: u.span)))

    def keep_products(self, mentions: list[Mention]) -> list[Mention]:
        """Drop names that are really an option of the item before ('burger with fries')."""
        kept: list[Mention] = []
        for mention in mentions:
            if kept and self._is_option_of(kept[-1], mention):
                continue
            if kept and self._same_name_twice(kept[-1], mention):
                kept[-1] = replace(kept[-1], last=mention.last)  # "pizza pie": one item
                continue
            kept.append(mention)
        return kept

    def _same_name_twice(self, before: Mention, mention: Mention) -> bool:
        units = self.message.units
        return before.products == mention.products and all(
            not units[i].is_word and units[i].label != SEP
            for i in range(before.last, mention.first))

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
            orphans.append((self._item(mention, heads[n], end), end))
        if not mentions:
            orphans.append((lo, hi))
        for first, last in orphans:
            self._orphan(first, last, nested=nested)

    def _item(self, mention: Mention, head: int, end: int) -> int:
        """Read the item named by `mention`; returns where its tail stops before `end`."""
        message, number = self.message, mention.products[0]
        index = self.catalog.modifiers(number)
        negation = negation_before(message, 0, mention.first)
        if negation is not None:  # "no pepsi": nothing to order; what came before is free
            self._orphan(head, max(head, negation), nested=True)
            return tail_stop(message, mention.last, end, index, 1)
        product = self.catalog.products[number]
        reader = ModifierReader(message, index)
        base = Reading()
        reader.read(head, mention.first, base, head=True)
        named = [*base.used, *range(mention.first, mention.last)]
        stop = tail_stop(message, mention.last, end, index, base.quantity or 1)
        clauses = split_clauses(message, mention.last, stop, index, base.quantity or 1)
        reader.read(mention.last, clauses[0] if clauses else stop, base, head=False)
        shares = self._shares(reader, base, named, clauses, stop)
        span = self._span([*named, *base.used, *(i for r in shares for i in r.used)])
        text = message.text[span[0]:span[1]]
        ids = tuple(self.catalog.products[n].id for n in mention.products)
        confidence = min([mention.confidence, base.confidence, *(r.confidence for r in shares)])
        if base.renamed is not None:  # "coke zero": not Coca-Cola, and not on the menu
            span = self._span([*range(mention.first, mention.last), *range(*base.renamed)])
            self.unresolved.append(Unresolved(message.text[span[0]:span[1]], "unknown", ids,
                                              span))
        elif len(ids) > 1:
            self.unresolved.append(Unresolved(text, "ambiguous", ids, span))
        elif not product.available:
            self.unresolved.append(Unresolved(text, "unavailable", ids, span))
        elif confidence < MIN_CONFIDENCE:
            self.unresolved.append(Unresolved(text, "unknown", ids, span))
        else:
            self._placed.append((mention.last, number))
            base.quantity = (base.quantity or base.postfix_quantity or 1) - sum(
                r.quantity or 1 for r in shares)
            for reading in ([base] if base.quantity > 0 else []) + shares:
                used = [*named, *reading.used] if reading is base else reading.used
                self._line(product, reading, min(mention.confidence, reading.confidence),
                           self._span(used))
        return stop

    def _shares(self, reader: ModifierReader, base: Reading, named: list[int],
                clauses: list[int], stop: int) -> list[Reading]:
        """'2 shawarmas, one large, one without garlic': one reading per clause, each starting
        from what the whole line said."""
        shares: list[Reading] = []
        for first, last in zip(clauses, [*clauses[1:], stop][:len(clauses)], strict=True):
            share = Reading(options=list(base.options), removed=list(base.removed),
                            notes=list(base.notes), confidence=base.confidence,
                            used=list(named))
            reader.read(first, last, share, head=True)
            share.variant = share.variant or base.variant
            shares.append(share)
        return shares

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
            partial = self.catalog.narrow(message, partial)
            if partial:
                self.assemble(lo, hi, partial, nested=True)
                return
        previous = max((p for p in self._placed if p[0] <= lo), default=None)
        if previous is not None and any(message.units[i].label == QTY for i in range(lo, hi)) \
                and self.catalog.explained(message, previous[1], content, hi):
            self._implied(lo, hi, previous[1], ELLIPSIS_CONFIDENCE)  # "... and a medium one"
            return
        fitting = self.catalog.fitting(message, content, hi)
        if len(fitting) == 1 and fitting[0][1] >= 2:
            self._implied(lo, hi, fitting[0][0], IMPLIED_CONFIDENCE)
            return
        span = self._orphan_span(lo, hi, content)
        fits = [self.catalog.products[n].id for n, _ in fitting]
        suggested = self.catalog.suggest(message, content)
        # "falafel" where the menu has Falafel Wrap and Falafel Plate (and falafel as a salad
        # topping): the word is part of several product names, so ask which one, not "unknown".
        words = {message.units[i].text.lower() for i in content}
        named_by = [pid for pid in suggested if words <= self._name_words(pid)]
        if len(named_by) >= 2:
            self.unresolved.append(Unresolved(message.text[span[0]:span[1]], "ambiguous",
                                              tuple(named_by[:MAX_CANDIDATES]), span))
            return
        candidates = tuple(dict.fromkeys([*suggested, *fits]))
        self.unresolved.append(Unresolved(message.text[span[0]:span[1]], "unknown",
                                          candidates[:MAX_CANDIDATES], span))

    def _name_words(self, product_id: str) -> set[str]:
        product = self.catalog.by_id(product_id)
        if product is None:
            return set()
        return {word for name in product.names() for word in name.lower().split()}

    def _orphan_span(self, lo: int, hi: int, content: list[int]) -> tuple[int, int]:
        """The content words plus the rule words that belong to them: '2 lasagna', 'sushi x3',
        'extra cheese', 'with lasagna' (but not 'i want')."""
        units = self.message.units
        first, last = content[0], content[-1] + 1
        while first > lo and (not units[first - 1].is_word
                              or units[first - 1].label in (QTY, QUAL, NEG)
                              or units[first - 1].norm in _WITH_WORDS):
            first -= 1
        while first < content[0] and units[first].marker is None:
            first += 1
        while last < hi and units[last].label == MULT:
            last += 1
        return units[first].start, units[last - 1].end

    def _implied(self, lo: int, hi: int, number: int, cap: float) -> None:
        """A line whose product is not named but implied: by the item just before ('and a
        medium one'), or because the options fit one product only ('a large with pepperoni
        and olives'). Its confidence is capped so the bot can confirm it."""
        product = self.catalog.products[number]
        reading = Reading()
        reader = ModifierReader(self.message, self.catalog.modifiers(number))
        reader.read(lo, hi, reading, head=True)
        self._line(product, reading, min(cap, reading.confidence), self._span(reading.used))
