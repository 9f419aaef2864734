"""The catalog's name index: a word lexicon with plural and typo lookup, and product name keys.

Lookups cost what the message costs, not what the catalog costs: a message word is resolved with
dictionary probes (exact form, plural form, then deletion neighbours for typos, verified with
rapidfuzz), and a run of resolved words is looked up as a tuple key. Only a handful of catalog
words are ever compared with rapidfuzz for one message word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import overload

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from catalog.models import Named, Product
from parsers.normalize import (
    NO_FUZZ,
    SYNONYMS,
    max_typos,
    numerals,
    plural_forms,
    singular_forms,
    words,
)

Key = tuple[int, ...]
# One reading of a message word: (lemmas, similarity 0..1, how many units it spans). Usually one
# lemma over one unit; "cocacola" reads as two lemmas, "cheese burger" as one over two units.
Reading = tuple[Key, float, int]

# Names are matched without their connectors, so "fish & chips" and "fish and chips" agree.
CONNECTORS = frozenset({"and", "n", "with"})
MAX_READINGS = 3  # typo readings kept per word; more would only multiply look-ups
_CACHE_LIMIT = 50_000
# Products a name part points at that callers look at: candidates, and the pool searched for
# suggestions; a part of a name shared by more products lists only the first this many.
SUBNAME_LIMIT = 50
_SHORT = 5  # words up to this long are only corrected when their first letter is right
_ASCII_WORD = re.compile(r"[a-z]+|[0-9]+")


def name_words(text: str) -> list[str]:
    """The words of a catalog name that matter for matching."""
    if text.isascii() and "'" not in text:  # the common case, kept fast for big catalogs
        lowered = text.lower()
        # Letters and spaces only ("Golden Harvest Basmati Rice"): split() cuts the same words
        # as the regular expression, several times faster.
        found = lowered.split() if lowered.replace(" ", "").isalpha() \
            else _ASCII_WORD.findall(lowered)
        if CONNECTORS.isdisjoint(found):
            return found
        kept = [w for w in found if w not in CONNECTORS]
        return kept or found
    if "'" in text or "’" in text:
        text = text.replace("’", "'").replace("'s ", " ")
        text = (text[:-2] if text.endswith("'s") else text).replace("'", "")
    found = words(text)
    kept = [w for w in found if w not in CONNECTORS]
    return kept or found


def _deletes(word: str, depth: int) -> set[str]:
    """All strings reachable from `word` by removing up to `depth` characters."""
    found = {word}
    layer = {word}
    for _ in range(depth):
        layer = {w[:i] + w[i + 1:] for w in layer if len(w) > 2 for i in range(len(w))}
        found |= layer
    return found


class Lexicon:
    """Every word the catalog uses, grouped into lemmas (pepper/peppers), with typo lookup."""

    def __init__(self, vocabulary: Iterable[str]) -> None:
        vocab = sorted(set(vocabulary))
        parent = list(range(len(vocab)))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        owner: dict[str, int] = {w: i for i, w in enumerate(vocab)}
        for i, word in enumerate(vocab):
            for form in plural_forms(word) | singular_forms(word) | numerals(word):
                other = owner.setdefault(form, i)
                if other != i:
                    parent[find(other)] = find(i)
        self.words: tuple[str, ...] = tuple(vocab)
        self.forms: dict[str, int] = {form: find(i) for form, i in owner.items()}
        for word, meaning in SYNONYMS:
            if word not in self.forms and meaning in self.forms:
                for form in {word} | plural_forms(word):
                    self.forms.setdefault(form, self.forms[meaning])
        self._deleted: dict[str, list[int]] = {}
        for i, word in enumerate(vocab):
            if len(word) >= 3 and word.isalpha():
                for variant in _deletes(word, 2 if len(word) >= 4 else 1):
                    self._deleted.setdefault(variant, []).append(i)
        self._cache: dict[str, tuple[tuple[Key, float], ...]] = {}

    def lemma(self, word: str) -> int | None:
        """The lemma of a word spelled exactly (up to plural) as in the catalog."""
        found = self.forms.get(word)
        if found is not None:
            return found
        for form in singular_forms(word):
            found = self.forms.get(form)
            if found is not None:
                return found
        return None

    def readings(self, word: str) -> tuple[tuple[Key, float], ...]:
        """(lemmas, similarity) pairs for a message word: exact, else two joined catalog words
        ("cocacola"), else close typos."""
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        exact = self.lemma(word)
        if exact is not None:
            found: tuple[tuple[Key, float], ...] = (((exact,), 1.0),)
        elif word in NO_FUZZ or not word.isalpha():
            found = ()  # never "correct" grammar words into catalog words ("like" -> "lime")
        else:
            joined = self._split(word)
            typos = self._typos(word, max_typos(len(word)))
            found = ((joined, 1.0),) if joined else tuple(((lemma,), sim) for lemma, sim in typos)
        if len(self._cache) > _CACHE_LIMIT:
            self._cache.clear()
        self._cache[word] = found
        return found

    def _split(self, word: str) -> Key:
        """'cheeseburger' -> (cheese, burger) when both halves are catalog words."""
        for cut in range(3, len(word) - 2):
            first, second = self.lemma(word[:cut]), self.lemma(word[cut:])
            if first is not None and second is not None:
                return (first, second)
        return ()

    def near(self, word: str) -> tuple[tuple[int, float], ...]:
        """Looser than `readings`: one more edit allowed; for suggestions, never for matches."""
        if not word.isalpha() or len(word) < 3 or word in NO_FUZZ:
            return ()
        return self._typos(word, min(max_typos(len(word)) + 1, 2))

    def _typos(self, word: str, limit: int) -> tuple[tuple[int, float], ...]:
        if limit <= 0:
            return ()
        candidates: set[int] = set()
        for variant in _deletes(word, limit):
            candidates.update(self._deleted.get(variant, ()))
        scored: list[tuple[int, float, int]] = []
        for i in candidates:
            target = self.words[i]
            if len(word) <= _SHORT and target[0] != word[0]:
                continue  # short words keep their first letter: "wings" is not "rings"
            distance = OSA.distance(word, target, score_cutoff=limit)
            if distance <= limit:
                scored.append((distance, -fuzz.ratio(word, target), i))
        scored.sort()
        best = [s for s in scored if s[0] == scored[0][0]] if scored else []
        found: dict[int, float] = {}
        for _distance, negative_ratio, i in best[:MAX_READINGS]:
            lemma = self.forms[self.words[i]]
            found.setdefault(lemma, -negative_ratio / 100)
        return tuple(found.items())


def name_forms(product: Product) -> list[tuple[str, ...]]:
    """The word sequences a customer may use for a product: its name, its aliases, and its id
    when that reads as words."""
    forms = [tuple(name_words(name)) for name in product.names()]
    id_words = tuple(product.id.replace("_", "-").split("-"))
    # Usually the id spells the name ("chicken-shawarma"); then it adds nothing.
    if id_words not in forms and all(w.isalpha() and len(w) >= 3 for w in id_words):
        forms.append(id_words)
    return [form for form in dict.fromkeys(forms) if form]


class ProductIndex:
    """Lemma-tuple keys of every product name (`full`), and the products that a proper
    sub-sequence of a name points at (`partial`, for 'shawarma')."""

    def __init__(self, forms: list[list[tuple[str, ...]]], lexicon: Lexicon) -> None:
        lemma = lexicon.forms.__getitem__
        keys = [[tuple(map(lemma, form)) for form in product_forms] for product_forms in forms]
        self.full: dict[Key, list[int]] = {}  # whole names -> products (several: ambiguous)
        full = self.full
        for number, product_keys in enumerate(keys):
            for key in product_keys:
                named = full.get(key)
                if named is None:
                    full[key] = [number]
                elif named[-1] != number:
                    named.append(number)
        if len(lexicon.words) >= _END_CODE:  # lemma numbers are spelled as characters
            raise ValueError("a catalog with over a million distinct words is not supported")
        self.partial = SubNames(keys)
        # Last words of names: "shawarma", "pizza", "fries".
        self.heads: set[int] = {key[-1] for key in full}
        self.max_len = max((len(key) for key in full), default=1)
        self.sizes: tuple[int, ...] = tuple(len(f[0]) if f else 0 for f in forms)

    def lemmas(self, number: int) -> frozenset[int]:
        """Every lemma in the names of product `number`."""
        return frozenset(lemma for key in self.partial.keys_of(number) for lemma in key)

    def prefix(self, key: Key) -> bool:
        """Can `key` still grow into a name? (Every prefix of a name is one of its sub-keys.)"""
        return key in self.full or key in self.partial


class SubNames:
    """Proper sub-sequences of product names -> the products having a name that contains one.

    Reads like the dict it stands for (`get`, `in`), but each answer is worked out on first use
    and kept: listing every sub-sequence of every name up front took seconds on a
    100,000-product catalog, and a message only ever asks about a handful. An answer lists the
    first SUBNAME_LIMIT such products in catalog order; no caller looks further.
    """

    def __init__(self, keys: list[list[Key]]) -> None:
        self._keys = keys  # per product, the lemma keys of its names
        # lemma -> products using it in a name of two or more words, in catalog order
        words: dict[int, list[int]] = {}
        for number, product_keys in enumerate(keys):
            lemmas: set[int] = set()
            for key in product_keys:
                if len(key) > 1:
                    lemmas.update(key)
            for lemma in lemmas:
                listed = words.get(lemma)
                if listed is None:
                    words[lemma] = [number]
                else:
                    listed.append(number)
        self._words = words
        # per product (made when first needed), its names of two or more words spelled one
        # character per lemma, each between two _END marks: a run of lemmas is then found
        # with one substring test
        self._texts: list[str | None] = [None] * len(keys)
        self._cache: dict[Key, list[int]] = {}

    def keys_of(self, number: int) -> list[Key]:
        """The lemma keys of product `number`'s names."""
        return self._keys[number]

    @overload
    def get(self, key: Key) -> list[int] | None: ...

    @overload
    def get(self, key: Key, default: list[int]) -> list[int]: ...

    def get(self, key: Key, default: list[int] | None = None) -> list[int] | None:
        """The products having `key` as a proper part of a name, or `default` when none."""
        return self._lookup(key) or default

    def __contains__(self, key: Key) -> bool:
        if len(key) == 1:  # walks ask this for every word: answer without copying a list
            return key[0] in self._words
        return bool(self._lookup(key))

    def _lookup(self, key: Key) -> list[int]:
        if len(key) <= 1:  # every word of a longer name is a proper part of it
            return self._words.get(key[0], _NONE)[:SUBNAME_LIMIT] if key else _NONE
        found = self._cache.get(key)
        if found is None:
            found = self._search(key)
            if len(self._cache) > _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = found  # two threads may both store it; the lists are equal
        return found

    def _search(self, key: Key) -> list[int]:
        # A name holding `key` holds both its shorter ends too, so when the answer for an end
        # is complete (under the limit) it lists every candidate. A walk asks about a key's
        # prefix before the key, so that answer is usually known already.
        candidates: list[int] | None = None
        for end in (key[:-1], key[1:]):
            known = self._lookup(end)
            if len(known) < SUBNAME_LIMIT and (candidates is None or len(known) < len(candidates)):
                candidates = known
        if candidates is None:  # both ends are common: every product with all the words
            lists = sorted((self._words.get(lemma, _NONE) for lemma in set(key)), key=len)
            candidates = sorted(set(lists[0]).intersection(*lists[1:]))
        run = "".join(map(chr, key))
        whole = _END + run + _END  # the run is a whole name there, not a part of one
        texts = self._texts
        found: list[int] = []
        for number in candidates:  # catalog order: the first SUBNAME_LIMIT are kept
            text = texts[number]
            if text is None:
                text = texts[number] = _END + _END.join(
                    ["".join(map(chr, name)) for name in self._keys[number] if len(name) > 1]
                ) + _END
            if run in text and (whole not in text or _inside(text, run)):
                found.append(number)
                if len(found) == SUBNAME_LIMIT:
                    break
        return found


_NONE: list[int] = []
# Separates the names in SubNames texts; lemma numbers (characters) stay below it.
_END_CODE = 0x10FFFF
_END = chr(_END_CODE)


def _inside(text: str, run: str) -> bool:
    """Is `run` somewhere in `text` other than as one of its whole names?"""
    return any(run in name and run != name for name in text.split(_END))


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The words the index will hold, and those of them that modifier names use."""

    words: set[str]
    modifier_words: set[str]


def vocabulary(products: Iterable[Product], forms: Iterable[list[tuple[str, ...]]],
               extra: Iterable[str] = ()) -> Vocabulary:
    """Every word of every name the index will hold."""
    found: set[str] = set(extra)
    for product_forms in forms:
        for form in product_forms:
            found.update(form)
    modifier_words: set[str] = set()
    seen: set[tuple[str, str, tuple[str, ...]]] = set()
    context_seen: set[str] = set()
    for product in products:
        for text in (product.category, *(g.group for g in product.options)):
            if text not in context_seen:  # "toppings", "drinks": filler around the product
                context_seen.add(text)
                found.update(name_words(text))
        named: list[Named] = [*product.variants, *product.ingredients]
        for group in product.options:
            named += group.choices
        for item in named:
            # Big catalogs repeat the same few sizes and toppings on every product.
            signature = (item.id, item.name, item.aliases)
            if signature not in seen:
                seen.add(signature)
                for text in (item.id.replace("-", " "), item.name, *item.aliases):
                    modifier_words.update(name_words(text))
    found |= modifier_words
    return Vocabulary(found, modifier_words)
