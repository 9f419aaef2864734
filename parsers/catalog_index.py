"""Everything built once per catalog: the lexicon, the product name index, modifier indexes
(lazily, per product) and the product look-ups that need the whole catalog (suggestions, which
products a set of options fits)."""

from __future__ import annotations

import gc

from rapidfuzz import fuzz, process

from catalog.catalog import Catalog
from catalog.models import Product
from parsers.index import SUBNAME_LIMIT, Lexicon, ProductIndex, name_forms, vocabulary
from parsers.mentions import MAX_CANDIDATES, Mention
from parsers.message import Message
from parsers.modifier_index import PACK_WORDS, SIZE_ALIASES, ModifierIndex
from parsers.normalize import words

_BREAKS = frozenset({",", ";", "\n", ".", "!", "?", "/", "|", ":"})  # end a phrase
# Two spellings of one word ("yoghurt", "yogurt"), when narrowing candidates down
_SPELLING = 85
SCAN_ALL_BELOW = 2_000  # catalogs this small may be scanned whole for a single message
_SUGGEST_CUTOFF = 75  # rapidfuzz WRatio for "did you mean" candidates of unknown text
# Big catalogs: products considered per word of an unknown text (the index lists no more).
_POOL_PER_WORD = SUBNAME_LIMIT


class CatalogIndex:
    """The read-only index of one catalog. Safe to share between threads."""

    def __init__(self, catalog: Catalog) -> None:
        self.products: tuple[Product, ...] = catalog.products
        # The shop's own name ("is this sahara grill?") is chat, never an item.
        self.shop_name = tuple(words(catalog.shop.name))
        size_words = {w for aliases in SIZE_ALIASES.values() for a in aliases for w in a.split()}
        size_words.update(PACK_WORDS)
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
        self._by_id: dict[str, Product] | None = None  # built on first use (rarely needed)

    def modifiers(self, number: int) -> ModifierIndex:
        """The modifier index of product `number`, built on first use (most never are)."""
        index = self._modifiers.get(number)
        if index is None:
            # Two threads may both build it; they build equal objects and one wins. No lock.
            index = ModifierIndex(self.products[number], self.lexicon, self.names.heads)
            self._modifiers[number] = index
        return index

    def narrow(self, message: Message, mentions: list[Mention]) -> list[Mention]:
        """Parts of names in one phrase narrow each other: "frosty frozen" + "fries", "eggs" +
        "alpine fresh" (a brand after the product), "happy cow" + "cheese" (one question, not
        two). Two neighbours become one mention of the products that have both parts."""
        merged: list[Mention] = []
        for mention in mentions:
            previous = merged[-1] if merged else None
            if previous is None or not previous.pool or not mention.pool \
                    or not _one_phrase(message, previous.last, mention.first):
                merged.append(mention)
                continue
            having = self._having(message, previous, mention) or self._having(
                message, mention, previous)
            # Of several, the one whose whole name (or alias) the words spell, in any order:
            # "eggs alpine fresh" is "Alpine Fresh eggs", not "Alpine Fresh Organic Eggs".
            whole = [n for n, spelled in having if spelled]
            both = tuple(whole) if len(whole) == 1 else tuple(n for n, _ in having)
            if not both:
                merged.append(mention)
                continue
            merged[-1] = Mention(previous.first, mention.last, both[:MAX_CANDIDATES],
                                 max(previous.confidence, mention.confidence),
                                 previous.words + mention.words,
                                 previous.skipped + mention.skipped, both)
        return merged

    def _having(self, message: Message, pool: Mention,
                words: Mention) -> list[tuple[int, bool]]:
        """The products of `pool` whose names also have every word of `words` (spelled alike:
        "yoghurt" finds "yogurt"), each with whether the words of both spell one of its names
        whole; only when the pool is complete, not cut at the limit."""
        if len(pool.pool) >= SUBNAME_LIMIT:
            return []
        given = {lemma for i in range(pool.first, pool.last) for lemma in message.lemmas(i)}
        wanted = [i for i in range(words.first, words.last) if message.is_content(i)]
        found: list[tuple[int, bool]] = []
        for number in pool.pool:
            lemmas = self.names.lemmas(number)
            spelled = set(given)
            for i in wanted:
                same = [lemma for lemma in lemmas if lemma in message.lemmas(i)] or [
                    lemma for lemma in lemmas if fuzz.ratio(
                        message.units[i].norm, self.lexicon.words[lemma]) >= _SPELLING]
                if not same:
                    break
                spelled.update(same)
            else:
                found.append((number, any(spelled.issuperset(key)
                                          for key in self.names.partial.keys_of(number))))
        return found

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

    def by_id(self, product_id: str) -> Product | None:
        if self._by_id is None:
            self._by_id = {product.id: product for product in self.products}
        return self._by_id.get(product_id)

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


def _one_phrase(message: Message, lo: int, hi: int) -> bool:
    """Nothing but filler between units lo and hi: no separator, quantity or content word."""
    return all(not message.is_content(i) and message.units[i].marker is None
               and message.units[i].norm not in _BREAKS for i in range(lo, hi))
