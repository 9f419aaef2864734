"""Everything built once per catalog: the lexicon, the product name index, modifier indexes
(lazily, per product) and the product look-ups that need the whole catalog (suggestions, which
products a set of options fits)."""

from __future__ import annotations

import gc

from rapidfuzz import fuzz, process

from catalog.catalog import Catalog
from catalog.models import Product
from parsers.index import SUBNAME_LIMIT, Lexicon, ProductIndex, name_forms, vocabulary
from parsers.message import Message
from parsers.modifier_index import SIZE_ALIASES, ModifierIndex

SCAN_ALL_BELOW = 2_000  # catalogs this small may be scanned whole for a single message
_SUGGEST_CUTOFF = 75  # rapidfuzz WRatio for "did you mean" candidates of unknown text
# Big catalogs: products considered per word of an unknown text (the index lists no more).
_POOL_PER_WORD = SUBNAME_LIMIT


class CatalogIndex:
    """The read-only index of one catalog. Safe to share between threads."""

    def __init__(self, catalog: Catalog) -> None:
        self.products: tuple[Product, ...] = catalog.products
        size_words = {w for aliases in SIZE_ALIASES.values() for a in aliases for w in a.split()}
        # The build allocates millions of small tuples that all stay alive; the cyclic garbage
        # collector would rescan them again and again for nothing.
        collecting = gc.isenabled()
        gc.disable()
        try:
            forms = [name_forms(p) for p in self.products]
            vocab = vocabulary(self.products, forms, size_words)
            self.lexicon = Lexicon(vocab.words)
            self.names = ProductIndex(forms, self.lexicon)
        finally:
            if collecting:
                gc.enable()
        # Words that name options ("cheese", "large", "chicken" as a topping) cannot anchor a
        # partial product name on their own: "extra cheese" is not an order for cheese fries.
        # A word that ends a product name ("shawarma", "fries") still may.
        self.blocked = frozenset(
            self.lexicon.forms[w] for w in vocab.modifier_words) - self.names.heads
        self._modifiers: dict[int, ModifierIndex] = {}
        self._display = [p.name for p in self.products]

    def modifiers(self, number: int) -> ModifierIndex:
        """The modifier index of product `number`, built on first use (most never are)."""
        index = self._modifiers.get(number)
        if index is None:
            # Two threads may both build it; they build equal objects and one wins. No lock.
            index = ModifierIndex(self.products[number], self.lexicon, self.names.heads)
            self._modifiers[number] = index
        return index

    def fitting(self, message: Message, content: list[int], hi: int) -> list[tuple[int, int]]:
        """Available products whose modifiers explain every content word, with how many
        modifiers were named. Only for catalogs small enough to check every product."""
        if len(self.products) > SCAN_ALL_BELOW:
            return []
        found: list[tuple[int, int]] = []
        for number, product in enumerate(self.products):
            if product.available:
                named = self.explained(message, number, content, hi)
                if named:
                    found.append((number, named))
        return found

    def explained(self, message: Message, number: int, content: list[int], hi: int) -> int:
        """How many modifiers of product `number` the content words name (0: not all are)."""
        index = self.modifiers(number)
        named = 0
        covered: set[int] = set()
        for i in content:
            if i in covered:
                continue
            found = index.match_word(message, i, hi)
            if found is None or found.partial:
                return 0
            named += 1
            covered.update(range(i, found.last))
        return named

    def suggest(self, message: Message, content: list[int]) -> tuple[str, ...]:
        """Products an unknown text may have meant (for 'did you mean ...?')."""
        query = " ".join(message.units[i].norm for i in content)
        if len(self.products) <= SCAN_ALL_BELOW:
            pool: list[int] = list(range(len(self.products)))
        else:
            pool = self._pool(message, content)
        names = {n: self._display[n] for n in pool}
        found = process.extract(query, names, scorer=fuzz.WRatio, limit=3,
                                score_cutoff=_SUGGEST_CUTOFF, processor=str.casefold)
        return tuple(self.products[n].id for _name, _score, n in found)

    def _pool(self, message: Message, content: list[int]) -> list[int]:
        """Products sharing a word (or a near-typo of one) with the unknown text."""
        pool: dict[int, None] = {}
        for i in content:
            lemmas = list(message.lemmas(i))
            lemmas += [lemma for lemma, _ in self.lexicon.near(message.units[i].norm)]
            for lemma in lemmas:
                for number in self.names.partial.get((lemma,), [])[:_POOL_PER_WORD]:
                    pool[number] = None
                for number in self.names.full.get((lemma,), [])[:_POOL_PER_WORD]:
                    pool[number] = None
        return list(pool)
